package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.BackwardDifferentialSuite;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The backward differential suite with {@code -Djrnn.opencl.gemm=tiled}: the local-memory SGEMM
 * (the GPU default) for the weight-gradient, dX and recurrent GEMMs too.
 */
class OpenClTiledGemmBackwardTest extends BackwardDifferentialSuite {
  @BeforeAll
  void tiled() {
    Device.require();
    System.setProperty("jrnn.opencl.gemm", "tiled");
  }

  @AfterAll
  void blocked() {
    System.clearProperty("jrnn.opencl.gemm");
  }

  @Override
  protected Options options(int threads) {
    return Options.backend("opencl").threads(threads);
  }
}
