package dev.jrnn.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.bench.jmh.WorkloadBench;
import org.junit.jupiter.api.Test;

/** Engines in reduced precision: which precision they read, and the weight traffic per step. */
class PrecisionProbeTest {

  private static final Workload SMALL =
      new Workload("small", Recurrent.gru(16).name("rnn"), 2, 5, 8);

  @Test
  void javaReadsReducedWeightsAndReferenceWidensThem() {
    try (Weights w = Weights.random(SMALL.graph(), 1);
        Tensor x = WorkloadBench.input(SMALL)) {
      for (Precision p : Precision.values()) {
        try (Engine java = Engine.open("java", SMALL, 1, w, x, p);
            Engine ref = Engine.open("reference", SMALL, 1, w, x, p)) {
          assertEquals(p, java.readPrecision(), "java " + p);
          assertEquals(Precision.F32, ref.readPrecision(), "reference " + p); // no such kernels
          java.run();
          ref.run();
          float[] a = java.output();
          float[] b = ref.output();
          for (int i = 0; i < a.length; i++) { // the same weight values either way
            assertEquals(a[i], b[i], 1e-5, p + " at " + i);
          }
        }
      }
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> Engine.open("ort", SMALL, 1, w, x, Precision.BF16));
      assertTrue(e.getMessage().contains("f32 weights only"), e.getMessage());
    }
  }

  @Test
  void recurrentBytesPerStepCountTheMatricesInThePrecision() {
    // W1: LSTM H=256, R [1024, 256].
    assertEquals(1024L * 256 * 4, Workload.W1.recurrentBytesPerStep(Precision.F32));
    assertEquals(1024L * 256 * 2, Workload.W1.recurrentBytesPerStep(Precision.BF16));
    assertEquals(1024L * 256 + 4 * 1024, Workload.W1.recurrentBytesPerStep(Precision.INT8));
    // W3: bi-LSTM H=32, two directions.
    assertEquals(2L * 128 * 32 * 4, Workload.W3.recurrentBytesPerStep(Precision.F32));
    // 1 MiB × 128 steps in 1 ms = 134.2 GB/s.
    assertEquals(134.2, Workload.W1.weightGBps(Precision.F32, 1.0), 0.05);
  }
}
