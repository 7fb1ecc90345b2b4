package dev.jrnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector configuration every kernel uses, fixed at class load so C2 treats it as a constant.
 * {@code -Djrnn.vectorBits=0} selects the scalar twins; 128, 256 or 512 a vector width (capped at
 * the hardware's); unset, the preferred width.
 */
public final class Simd {

  /** The species, or null on the scalar path. */
  public static final VectorSpecies<Float> F;

  /** True when the vector kernels run. */
  public static final boolean VECTOR;

  /** Floats per layout block: one vector, or 8 on the scalar path. */
  public static final int BW;

  static {
    int bits = Integer.getInteger("jrnn.vectorBits", -1);
    int max = FloatVector.SPECIES_PREFERRED.vectorBitSize();
    if (bits == 0) {
      F = null;
    } else if (bits < 0 || bits >= max) {
      F = FloatVector.SPECIES_PREFERRED;
    } else if (bits != 128 && bits != 256 && bits != 512) {
      throw new IllegalArgumentException("jrnn.vectorBits must be 0, 128, 256 or 512, got " + bits);
    } else {
      F = FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(bits));
    }
    VECTOR = F != null;
    BW = VECTOR ? F.length() : 8;
  }

  private Simd() {}

  /** {@code n} rounded up to a multiple of {@code m}. */
  public static int roundUp(int n, int m) {
    return (n + m - 1) / m * m;
  }

  /** "AVX-512 (16 floats)" style description for logs and reports. */
  public static String describe() {
    return VECTOR ? F.vectorBitSize() + "-bit vectors (" + F.length() + " floats)" : "scalar";
  }
}
