package dev.jrnn.onednn;

import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.testing.Fixture;
import dev.jrnn.testing.ReducedBounds;

/**
 * The golden fixtures on onednn in int8. A layer onednn runs in int8 has three independent error
 * sources per product: the weights quantized per row (1/254 of the row's largest), re-rounded to
 * oneDNN's one scale per output channel (1/254 of the channel's largest), and the input and hidden
 * states quantized to u8 over the calibrated data range [-R, R] (R/254 absolute, R the power of two
 * ≥ max(1, |x|, |h0|), as {@link Reduced#rangeExponent} picks it). With the activation's unit as
 * the larger, {@link ReducedBounds#forFixture(Fixture, double, double)} takes u = R/254 and s = 1 +
 * 2/R² (the two weight sources in units of u).
 */
class OneDnnInt8GoldenTest extends OneDnnReducedGoldenSuite {

  @Override
  Precision precision() {
    return Precision.INT8;
  }

  @Override
  double reducedBound(Fixture f) {
    float max = maxAbs(f.tensor("x"));
    if (f.has("h0")) {
      max = Math.max(max, maxAbs(f.tensor("h0")));
    }
    double range = Math.scalb(1.0, Reduced.rangeExponent(max));
    double u = ReducedBounds.weightUnit(Precision.INT8);
    return ReducedBounds.forFixture(f, range * u, 1 + 2 / (range * range));
  }

  private static float maxAbs(Tensor t) {
    float m = 0;
    for (float v : t.toFloatArray()) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }
}
