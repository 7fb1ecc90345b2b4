package dev.jrnn.backend.reference;

import dev.jrnn.Options;
import dev.jrnn.testing.GradientSuite;

class ReferenceGradientTest extends GradientSuite {
  @Override
  protected Options options() {
    return Options.backend("reference");
  }
}
