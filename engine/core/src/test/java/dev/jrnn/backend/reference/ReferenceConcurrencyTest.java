package dev.jrnn.backend.reference;

import dev.jrnn.Options;
import dev.jrnn.testing.ConcurrencySuite;

class ReferenceConcurrencyTest extends ConcurrencySuite {
  @Override
  protected Options options(int threads) {
    return Options.backend("reference").threads(threads);
  }
}
