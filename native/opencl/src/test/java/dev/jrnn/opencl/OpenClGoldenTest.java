package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.GoldenSuite;
import org.junit.jupiter.api.BeforeAll;

/** Every golden fixture through a session on opencl. */
class OpenClGoldenTest extends GoldenSuite {
  @BeforeAll
  void device() {
    Device.require();
  }

  @Override
  protected Options options() {
    return Options.backend("opencl").threads(2);
  }
}
