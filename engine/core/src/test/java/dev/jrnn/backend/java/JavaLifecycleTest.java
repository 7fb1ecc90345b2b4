package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.testing.LifecycleSuite;

/** Close races on the java backend. */
class JavaLifecycleTest extends LifecycleSuite {
  @Override
  protected Options options(int threads) {
    return Options.backend("java").threads(threads);
  }
}
