package dev.jrnn.onednn;

import dev.jrnn.Options;
import dev.jrnn.testing.DifferentialSuite;

/** onednn against reference; cases oneDNN supports must really run on it. */
class OneDnnDifferentialTest extends DifferentialSuite {
  @Override
  protected Options options(int threads) {
    return Options.backend("onednn").threads(threads);
  }

  @Override
  protected boolean runsNatively(Case c) {
    return !c.ragged()
        && switch (c.variant()) {
          case LSTM_CLIP_COUPLED, LSTM_ACTS, GRU_CLIP_ACTS -> false;
          default -> true;
        };
  }
}
