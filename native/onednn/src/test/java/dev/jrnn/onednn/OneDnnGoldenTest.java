package dev.jrnn.onednn;

import dev.jrnn.Options;
import dev.jrnn.testing.GoldenSuite;

/** Every golden fixture through a session on onednn (features it lacks run on java). */
class OneDnnGoldenTest extends GoldenSuite {
  @Override
  protected Options options() {
    return Options.backend("onednn").threads(2);
  }
}
