package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.testing.DifferentialSuite;

class JavaDifferentialTest extends DifferentialSuite {
  @Override
  protected Options options(int threads) {
    return Options.backend("java").threads(threads);
  }
}
