package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.DifferentialSuite;
import org.junit.jupiter.api.BeforeAll;

/** opencl against reference; every case runs on the device itself. */
class OpenClDifferentialTest extends DifferentialSuite {
  @BeforeAll
  void device() {
    Device.require();
  }

  @Override
  protected Options options(int threads) {
    return Options.backend("opencl").threads(threads);
  }
}
