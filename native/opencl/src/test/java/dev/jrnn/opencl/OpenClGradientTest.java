package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.testing.GradientSuite;
import org.junit.jupiter.api.BeforeAll;

/** The PyTorch-autograd gradient fixtures trained on opencl. */
class OpenClGradientTest extends GradientSuite {
  @BeforeAll
  void device() {
    Device.require();
  }

  @Override
  protected Options options() {
    return Options.backend("opencl");
  }
}
