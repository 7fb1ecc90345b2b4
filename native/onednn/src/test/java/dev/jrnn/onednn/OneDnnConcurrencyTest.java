package dev.jrnn.onednn;

import dev.jrnn.Options;
import dev.jrnn.testing.ConcurrencySuite;

class OneDnnConcurrencyTest extends ConcurrencySuite {
  @Override
  protected Options options(int threads) {
    return Options.backend("onednn").threads(threads);
  }
}
