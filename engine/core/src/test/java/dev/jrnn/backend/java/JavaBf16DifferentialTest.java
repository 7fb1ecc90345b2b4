package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.testing.DifferentialSuite;

/**
 * The differential suite with BF16 weight matrices: java's reduced-precision panels against
 * reference given the same weights in BF16 (widened once at open), at the suite's 1e-5.
 */
class JavaBf16DifferentialTest extends DifferentialSuite {
  @Override
  protected Options options(int threads) {
    return Options.backend("java").threads(threads).precision(Precision.BF16);
  }
}
