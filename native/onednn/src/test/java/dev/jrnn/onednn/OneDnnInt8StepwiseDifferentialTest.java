package dev.jrnn.onednn;

/**
 * {@link OneDnnInt8DifferentialTest} with every batch on java's step loop and oneDNN's products.
 */
class OneDnnInt8StepwiseDifferentialTest extends OneDnnInt8DifferentialTest {

  @Override
  boolean stepwiseAtEveryBatch() {
    return true;
  }
}
