package dev.jrnn.kernels;

/**
 * The reduced-precision weight formats' arithmetic, defined once: bfloat16 rounding and widening,
 * and symmetric int8 with one f32 scale per row. Every packer, kernel and dequantizer in jrnn goes
 * through these, so a reduced weight has one f32 value everywhere.
 */
public final class Quant {

  /** The largest int8 magnitude used: symmetric, so -128 never occurs. */
  public static final int I8_MAX = 127;

  private Quant() {}

  /** {@code x} rounded to the nearest bfloat16 (ties to even), as its 16-bit pattern. */
  public static short toBf16(float x) {
    int bits = Float.floatToRawIntBits(x);
    if (Float.isNaN(x)) {
      return (short) ((bits >>> 16) | 0x40); // stays a (quiet) NaN
    }
    int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
    return (short) (rounded >>> 16);
  }

  /** The f32 value of a bfloat16 pattern (exact). */
  public static float fromBf16(short b) {
    return Float.intBitsToFloat(b << 16);
  }

  /**
   * The scale of a symmetric int8 row: {@code max |x| / 127}, or 1 for a row of zeros (any scale
   * represents it exactly). Non-finite values are rejected by the caller.
   */
  public static float rowScale(float[] x, int off, int n) {
    float max = 0f;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, Math.abs(x[off + i]));
    }
    return max == 0f ? 1f : max / I8_MAX;
  }

  /**
   * {@code x / scale} rounded to the nearest integer (ties to even, as PyTorch quantizes), clamped
   * to ±127.
   */
  public static byte quantize(float x, float scale) {
    double q = Math.rint((double) x / scale);
    return (byte) Math.max(-I8_MAX, Math.min(I8_MAX, q));
  }

  /** The f32 value of an int8 weight: {@code (float) q · scale}, rounded once. */
  public static float dequantize(byte q, float scale) {
    return q * scale;
  }
}
