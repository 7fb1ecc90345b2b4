package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.DifferentialSuite;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The persistent kernels reading R transposed ({@code -Djrnn.opencl.persistentLayout=transposed},
 * the GPUs' default; CPU devices read R as it is, OpenClPersistentDifferentialTest).
 */
class OpenClPersistentTransposedTest extends DifferentialSuite {
  @BeforeAll
  void persistent() {
    Device.require();
    System.setProperty("jrnn.opencl.persistent", "true");
    System.setProperty("jrnn.opencl.persistentLayout", "transposed");
  }

  @AfterAll
  void perStep() {
    System.clearProperty("jrnn.opencl.persistent");
    System.clearProperty("jrnn.opencl.persistentLayout");
  }

  @Override
  protected Options options(int threads) {
    return Options.backend("opencl").threads(threads);
  }
}
