package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.LifecycleSuite;
import org.junit.jupiter.api.BeforeEach;

class OpenClLifecycleTest extends LifecycleSuite {
  @BeforeEach
  void device() {
    Device.require();
  }

  @Override
  protected Options options(int threads) {
    return Options.backend("opencl").threads(threads);
  }
}
