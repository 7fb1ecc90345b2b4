package dev.jrnn.onednn;

import dev.jrnn.Options;
import dev.jrnn.testing.LifecycleSuite;

class OneDnnLifecycleTest extends LifecycleSuite {
  @Override
  protected Options options(int threads) {
    return Options.backend("onednn").threads(threads);
  }
}
