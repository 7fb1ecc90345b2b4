package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.DifferentialSuite;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The differential suite with {@code -Djrnn.opencl.persistent=true}: LSTM layers without projection
 * run as one launch per layer and direction (lstmPersistentForward), the rest per step.
 */
class OpenClPersistentDifferentialTest extends DifferentialSuite {
  @BeforeAll
  void persistent() {
    Device.require();
    System.setProperty("jrnn.opencl.persistent", "true");
  }

  @AfterAll
  void perStep() {
    System.clearProperty("jrnn.opencl.persistent");
  }

  @Override
  protected Options options(int threads) {
    return Options.backend("opencl").threads(threads);
  }
}
