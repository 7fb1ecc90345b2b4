package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.ConcurrencySuite;
import org.junit.jupiter.api.BeforeEach;

class OpenClConcurrencyTest extends ConcurrencySuite {
  @BeforeEach
  void device() {
    Device.require();
  }

  @Override
  protected Options options(int threads) {
    return Options.backend("opencl").threads(threads);
  }
}
