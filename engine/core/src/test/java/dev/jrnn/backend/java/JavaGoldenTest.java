package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.testing.GoldenSuite;

class JavaGoldenTest extends GoldenSuite {
  @Override
  protected Options options() {
    return Options.backend("java").threads(2);
  }
}
