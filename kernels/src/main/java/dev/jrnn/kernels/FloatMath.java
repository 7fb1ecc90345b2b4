package dev.jrnn.kernels;

/**
 * {@code exp}, {@code expm1}, the logistic sigmoid and {@code tanh} in float, defined once by a
 * fixed sequence of IEEE operations (add, multiply, fused multiply-add, divide, min, max, bit
 * moves), so every evaluation gives the same bits: in the interpreter, C1 and C2, in a scalar twin
 * or in any vector lane. The Vector API's {@code EXP} and {@code TANH} are SVML stubs under C2 but
 * {@code Math.exp}/{@code Math.tanh} per lane before C2 compiles, and differed by up to 1 ulp
 * between the two.
 *
 * <p>The vector kernels write the same sequence out in their loops with these constants: as a
 * method taking a vector, C2 stops inlining it in the fused cell passes (NodeCountInliningCutoff)
 * and boxes every vector. Errors against double precision, checked over every float: exp ≤ 1.01
 * ulp, expm1 ≤ 1.46, sigmoid ≤ 2.5, tanh ≤ 2.6. Arguments are clamped to [{@link #LO}, {@link
 * #HI}]: exp saturates there (so sigmoid bottoms out near 4e-39 instead of underflowing).
 */
final class FloatMath {

  /** Clamp range: {@code 2^n} stays a normal float for every rounded {@code n = x·log2(e)}. */
  static final float LO = -87.5f;

  static final float HI = 88.3f;

  static final float LOG2E = 1.44269504f;

  /** 1.5·2²³: {@code x + ROUND} rounds x to an integer, kept in the low mantissa bits. */
  static final float ROUND = 12582912f;

  /** ln 2 split in two floats, negated, for an exact-enough {@code r = x − n·ln 2}. */
  static final float NEG_LN2_HI = -0.693147182f;

  static final float NEG_LN2_LO = (float) (-NEG_LN2_HI - Math.log(2));

  /**
   * {@code expm1(r) ≈ r + r²·(Q0 + Q1·r + … + Q4·r⁴)} on {@code |r| ≤ ln2/2}: a weighted
   * least-squares fit, 3e-9 relative to {@code e^r}.
   */
  static final float Q0 = 0.49999994f;

  static final float Q1 = 0.16666521f;
  static final float Q2 = 0.041668389f;
  static final float Q3 = 0.0083687101f;
  static final float Q4 = 0.0013814608f;

  /** Bits of 1f: added to {@code n << 23} they make {@code 2^n}. */
  static final int ONE_BITS = 0x3F800000;

  private FloatMath() {}

  /** {@code e^x}: {@code 2^n·(1 + p(r))} as one fused multiply-add. */
  static float exp(float x) {
    float v = Math.max(LO, Math.min(HI, x));
    float t = Math.fma(v, LOG2E, ROUND);
    float n = t - ROUND;
    float r = Math.fma(n, NEG_LN2_LO, Math.fma(n, NEG_LN2_HI, v));
    float s = Float.intBitsToFloat((Float.floatToRawIntBits(t) << 23) + ONE_BITS);
    return Math.fma(s, Math.fma(r * r, poly(r), r), s);
  }

  /** {@code e^x − 1}, accurate near 0: {@code 2^n·p(r) + (2^n − 1)}. */
  static float expm1(float x) {
    float v = Math.max(LO, Math.min(HI, x));
    float t = Math.fma(v, LOG2E, ROUND);
    float n = t - ROUND;
    float r = Math.fma(n, NEG_LN2_LO, Math.fma(n, NEG_LN2_HI, v));
    float s = Float.intBitsToFloat((Float.floatToRawIntBits(t) << 23) + ONE_BITS);
    return Math.fma(s, Math.fma(r * r, poly(r), r), s - 1f);
  }

  private static float poly(float r) {
    return Math.fma(Math.fma(Math.fma(Math.fma(Q4, r, Q3), r, Q2), r, Q1), r, Q0);
  }

  /** {@code 1 / (1 + e^−x)}. */
  static float sigmoid(float x) {
    return 1f / (1f + exp(-x));
  }

  /** {@code tanh x = u / (u + 2)} with {@code u = e^2x − 1}: no cancellation near 0. */
  static float tanh(float x) {
    float u = expm1(x + x);
    return u / (u + 2f);
  }
}
