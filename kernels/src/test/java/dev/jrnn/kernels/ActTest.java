package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/** The float functions against double precision: {@link FloatMath} in ulps, every {@link Act}. */
class ActTest {

  /** The error of {@code got} in units in the last place of the float nearest {@code want}. */
  static double ulps(float got, double want) {
    if (got == want) {
      return 0;
    }
    float w = (float) want;
    return Math.abs(got - want) / Math.ulp(Math.max(Math.abs(w), Float.MIN_NORMAL));
  }

  interface FloatFn {
    float apply(float x);
  }

  /** The largest error over every 97th float of {@code [lo, hi]} (the full sweep: FloatMath). */
  static double maxUlps(FloatFn f, DoubleUnaryOperator exact, float lo, float hi) {
    double worst = 0;
    for (int sign = 0; sign < 2; sign++) {
      for (int bits = 0; bits < 0x7F800000; bits += 97) {
        float x = Float.intBitsToFloat(bits | sign << 31);
        if (x >= lo && x <= hi) {
          worst = Math.max(worst, ulps(f.apply(x), exact.applyAsDouble(x)));
        }
      }
    }
    return worst;
  }

  @Test
  void floatMathStaysWithinItsUlpBounds() {
    // Bounds from a sweep of every float; the sample here must not exceed them.
    assertTrue(maxUlps(FloatMath::exp, Math::exp, -87.3f, 88.3f) <= 1.02);
    assertTrue(maxUlps(FloatMath::expm1, Math::expm1, -87.3f, 88.3f) <= 1.46);
    assertTrue(maxUlps(FloatMath::sigmoid, Ref::sigmoid, -87f, 200f) <= 2.49);
    assertTrue(maxUlps(FloatMath::tanh, Math::tanh, -1e30f, 1e30f) <= 2.61);
  }

  @Test
  void floatMathSaturatesWithoutNaN() {
    assertEquals(1f, FloatMath.sigmoid(Float.POSITIVE_INFINITY));
    assertTrue(FloatMath.sigmoid(Float.NEGATIVE_INFINITY) < 5e-39f); // exp clamped at HI
    assertEquals(1f, FloatMath.tanh(Float.POSITIVE_INFINITY));
    assertEquals(-1f, FloatMath.tanh(Float.NEGATIVE_INFINITY));
    assertEquals(0f, FloatMath.tanh(0f));
    assertEquals(-1f, FloatMath.expm1(-1000f));
    assertTrue(Float.isNaN(FloatMath.exp(Float.NaN)));
    assertTrue(Float.isNaN(FloatMath.tanh(Float.NaN)));
  }

  /** The scale a kind's error is relative to: the result, or its terms where they cancel. */
  static double scale(Ref.Fn fn, float x, double want) {
    return switch (fn.name()) {
      case "affine", "hardSigmoid" -> Math.abs(0.7 * x) + 0.3;
      default -> Math.abs(want);
    };
  }

  @Test
  void everyKindMatchesItsDefinition() {
    float[] x = Ref.activationInputs(new SplittableRandom(1), 20_000);
    for (Ref.Fn fn : Ref.ALL) {
      for (float v : x) {
        double want = fn.at(v);
        // 4 ulps; the floor covers sigmoid's saturation near 4e-39 for x < -87.5.
        Ref.assertNear(
            want, fn.act().apply(v), 4.8e-7, Math.max(scale(fn, v, want), 1e-31), fn + " x=" + v);
      }
    }
  }

  @Test
  void onlySigmoidTanhAndReluAreVectorized() {
    for (Ref.Fn fn : Ref.ALL) {
      boolean expected = fn == Ref.SIGMOID || fn == Ref.TANH || fn == Ref.RELU;
      assertEquals(expected, fn.act().vectorized(), fn.name());
    }
  }
}
