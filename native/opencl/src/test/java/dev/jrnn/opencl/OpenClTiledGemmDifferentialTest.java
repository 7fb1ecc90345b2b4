package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.DifferentialSuite;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The differential suite with {@code -Djrnn.opencl.gemm=tiled}: the local-memory SGEMM (the GPU
 * default) for every GEMM of 16 rows or more, on whatever device the tests have.
 */
class OpenClTiledGemmDifferentialTest extends DifferentialSuite {
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
