package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.BackwardDifferentialSuite;
import org.junit.jupiter.api.BeforeAll;

/** opencl's backward against reference: every case trains on the device itself. */
class OpenClBackwardDifferentialTest extends BackwardDifferentialSuite {
  @BeforeAll
  void device() {
    Device.require();
  }

  @Override
  protected Options options(int threads) {
    return Options.backend("opencl").threads(threads);
  }
}
