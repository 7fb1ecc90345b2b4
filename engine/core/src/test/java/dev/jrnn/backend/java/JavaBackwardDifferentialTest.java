package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.testing.BackwardDifferentialSuite;

class JavaBackwardDifferentialTest extends BackwardDifferentialSuite {
  @Override
  protected Options options(int threads) {
    return Options.backend("java").threads(threads);
  }
}
