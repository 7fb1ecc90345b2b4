package dev.jrnn.kernels;

/**
 * Dropout masks from a counter-based generator: element {@code i} of a stream is kept or dropped by
 * a hash of the stream and {@code i} alone, so a mask is the same whichever thread draws which part
 * of it, and every backend draws the same mask for the same seed. SplitMix64's finalizer mixes; the
 * top 24 bits are the uniform draw, so a probability is honoured to 2⁻²⁴.
 */
public final class DropoutMask {

  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private DropoutMask() {}

  /** SplitMix64's finalizer: a bijective mix of 64 bits. */
  public static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** The stream for {@code key} (a node, a layer, a purpose) under {@code seed}. */
  public static long stream(long seed, long key) {
    return mix(seed + GOLDEN * mix(key + GOLDEN));
  }

  /** The stream for a node name under {@code seed}. */
  public static long stream(long seed, String node) {
    return stream(seed, node.hashCode());
  }

  /** Whether element {@code i} of {@code stream} is kept at drop probability {@code p}. */
  public static boolean keep(long stream, long i, float p) {
    long u = mix(stream + (i + 1) * GOLDEN) >>> 40; // uniform in [0, 2^24)
    return u >= (long) Math.rint(p * (double) (1 << 24));
  }

  /** What a kept element is multiplied by: {@code 1 / (1 − p)}, so expectations are unchanged. */
  public static float scale(float p) {
    return 1f / (1f - p);
  }

  /**
   * Writes elements {@code first … first+n-1} of {@code stream}'s mask into {@code mask[off …]}:
   * {@link #scale} where kept, 0 where dropped.
   */
  public static void fill(long stream, float p, long first, float[] mask, int off, int n) {
    float s = scale(p);
    for (int k = 0; k < n; k++) {
      mask[off + k] = keep(stream, first + k, p) ? s : 0f;
    }
  }
}
