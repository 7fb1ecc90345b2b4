package dev.jrnn.backend.reference;

import dev.jrnn.Options;
import dev.jrnn.testing.GoldenSuite;

class ReferenceGoldenTest extends GoldenSuite {
  @Override
  protected Options options() {
    return Options.backend("reference");
  }
}
