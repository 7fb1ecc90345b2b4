package dev.jrnn.backend.reference;

import dev.jrnn.Options;
import dev.jrnn.testing.OpGradientSuite;

class ReferenceOpGradientTest extends OpGradientSuite {
  @Override
  protected Options options() {
    return Options.backend("reference");
  }
}
