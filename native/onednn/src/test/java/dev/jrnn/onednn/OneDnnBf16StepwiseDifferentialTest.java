package dev.jrnn.onednn;

/**
 * {@link OneDnnBf16DifferentialTest} with every batch on java's step loop and oneDNN's products.
 */
class OneDnnBf16StepwiseDifferentialTest extends OneDnnBf16DifferentialTest {

  @Override
  boolean stepwiseAtEveryBatch() {
    return true;
  }
}
