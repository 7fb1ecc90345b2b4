package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.testing.Fixture;
import dev.jrnn.testing.GoldenSuite;
import dev.jrnn.testing.ReducedBounds;

/**
 * The PyTorch/NumPy golden fixtures on java with INT8 weight matrices, against the f32 outputs
 * within the bound {@link ReducedBounds#forFixture} derives from the weight format.
 */
class JavaInt8GoldenTest extends GoldenSuite {
  @Override
  protected Options options() {
    return Options.backend("java").precision(Precision.INT8);
  }

  @Override
  protected double tolerance(Fixture f) {
    return ReducedBounds.forFixture(f, Precision.INT8);
  }
}
