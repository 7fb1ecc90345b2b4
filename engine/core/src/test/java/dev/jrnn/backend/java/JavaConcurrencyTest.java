package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.testing.ConcurrencySuite;

class JavaConcurrencyTest extends ConcurrencySuite {
  @Override
  protected Options options(int threads) {
    return Options.backend("java").threads(threads);
  }
}
