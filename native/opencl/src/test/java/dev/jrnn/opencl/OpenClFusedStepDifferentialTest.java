package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.DifferentialSuite;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The differential suite with {@code -Djrnn.opencl.fused=true}: every inference of LSTM without
 * projection, GRU with linearBeforeReset and RNN runs one fused launch per step (lstmStepFused,
 * gruLbrStepFused, rnnStepFused) whatever the batch; the rest on the GEMM + post-GEMM path.
 */
class OpenClFusedStepDifferentialTest extends DifferentialSuite {
  @BeforeAll
  void fused() {
    Device.require();
    System.setProperty("jrnn.opencl.fused", "true");
  }

  @AfterAll
  void byBatch() {
    System.clearProperty("jrnn.opencl.fused");
  }

  @Override
  protected Options options(int threads) {
    return Options.backend("opencl").threads(threads);
  }
}
