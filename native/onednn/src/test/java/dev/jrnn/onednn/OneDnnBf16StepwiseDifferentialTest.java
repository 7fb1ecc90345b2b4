package dev.jrnn.onednn;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link OneDnnBf16DifferentialTest} with every batch on java's step loop and oneDNN's products
 * (sessions opened with {@code -Djrnn.onednn.stepwiseBatch} at its maximum), so the batches above
 * the stepwise limit that the RNN primitive would take there run stepwise too, within the same
 * bounds.
 */
class OneDnnBf16StepwiseDifferentialTest extends OneDnnBf16DifferentialTest {

  @BeforeAll
  void stepwiseAtEveryBatch() {
    System.setProperty("jrnn.onednn.stepwiseBatch", String.valueOf(Integer.MAX_VALUE));
  }

  @AfterAll
  void back() {
    System.clearProperty("jrnn.onednn.stepwiseBatch");
  }
}
