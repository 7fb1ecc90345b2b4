package dev.jrnn.onednn;

import dev.jrnn.Precision;
import dev.jrnn.testing.Fixture;
import dev.jrnn.testing.ReducedBounds;

/**
 * The golden fixtures on onednn in bf16. A layer onednn runs in bf16 rounds its weights and its
 * input, hidden states and outputs to bf16 (relative error 2⁻⁸ each): two independent sources per
 * product, {@link ReducedBounds#forFixture(Fixture, double, double)} with u = 2⁻⁸ and s = 2.
 */
class OneDnnBf16GoldenTest extends OneDnnReducedGoldenSuite {

  @Override
  Precision precision() {
    return Precision.BF16;
  }

  @Override
  double reducedBound(Fixture f) {
    return ReducedBounds.forFixture(f, ReducedBounds.weightUnit(Precision.BF16), 2);
  }
}
