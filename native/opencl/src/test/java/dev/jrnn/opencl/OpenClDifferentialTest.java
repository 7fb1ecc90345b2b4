package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.DifferentialSuite;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * opencl against reference; every case runs on the device itself, with {@code
 * -Djrnn.opencl.fused=false}: inference per step as the recurrent GEMM and the post-GEMM kernel
 * (OpenClFusedStepDifferentialTest forces the fused step instead).
 */
class OpenClDifferentialTest extends DifferentialSuite {
  @BeforeAll
  void device() {
    Device.require();
    System.setProperty("jrnn.opencl.fused", "false");
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
