package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.testing.GradientSuite;

/** The 19 PyTorch-autograd gradient fixtures on the java backend, two threads. */
class JavaGradientTest extends GradientSuite {
  @Override
  protected Options options() {
    return Options.backend("java").threads(2);
  }
}
