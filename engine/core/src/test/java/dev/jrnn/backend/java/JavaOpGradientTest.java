package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.testing.OpGradientSuite;

class JavaOpGradientTest extends OpGradientSuite {
  @Override
  protected Options options() {
    return Options.backend("java");
  }
}
