package dev.jrnn.backend.reference;

import dev.jrnn.Options;
import dev.jrnn.testing.LifecycleSuite;

/** Close races on the reference backend. */
class ReferenceLifecycleTest extends LifecycleSuite {
  @Override
  protected Options options(int threads) {
    return Options.backend("reference").threads(threads);
  }
}
