package dev.jrnn.onednn;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.Quant;
import dev.jrnn.kernels.Simd;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Which recurrent layers onednn runs with reduced-precision weights, how, and the conversions at
 * the boundary. Every recurrent layer onednn runs in f32 also runs in bf16 (where the CPU has
 * AVX512_BF16) and in int8 (where it has AVX512_VNNI), on one of two paths:
 *
 * <ul>
 *   <li><b>Stepwise</b> — batches up to {@link OneDnnRecurrent#STEPWISE_BATCH}, and at every batch
 *       the layers oneDNN's RNN primitive refuses below: java's step loop and fused cells with the
 *       matrix products on oneDNN's inner-product (bf16) and matmul (int8) primitives ({@link
 *       OneDnnProduct}: bf16 rows of x and h, or u8 rows with a scale each; AMX and VNNI
 *       underneath). At batch 1 this is the fast one (W1, one thread, {@code bin/jrnn bench}: bf16
 *       1.05 against 1.63 ms on the RNN primitive, int8 0.58 against 1.08), as the primitive's own
 *       per-step work dominates there.
 *   <li><b>The RNN primitive</b>. oneDNN 2.6 ties the activations' type to the weights' (rnn.md,
 *       "Data Type Support"; {@code check_data_type_consistency_fwd} in src/common/rnn.cpp):
 *       <ul>
 *         <li>bf16: weights, {@code src/dst_layer} and {@code src/dst_iter} in bf16; bias,
 *             peepholes and the LSTM cell state in f32; f32 accumulation. Every cell but LSTM with
 *             projection, which oneDNN 2.6 accepts in bf16 but computes wrongly. jrnn rounds the
 *             input and h0 to bf16 (nearest, ties to even) and widens y and hN; layer outputs
 *             between primitives stay bf16.
 *         <li>int8 (forward inference of LSTM without peepholes or projection and GRU without
 *             linear-before-reset): s8 weights with one scale per output channel (gate·H + o),
 *             shared by {@code W} and {@code R} and by every layer and direction of a primitive, so
 *             jrnn's per-row scales become the largest per channel (a row with a smaller scale is
 *             re-rounded to it); u8 {@code src_layer} with one data scale and shift for the input
 *             and every hidden state; f32 {@code src/dst_iter}, cell state and y (u8 between
 *             primitives). The data range is calibrated per call: [-R, R], R the power of two ≥
 *             max(1, |x|, |h0|) (1 as LSTM and GRU states lie in [-1, 1]); u8 = rint(x·127/R +
 *             128), saturated. oneDNN 2.6 gets the bidirectional sum wrong in int8 (it saturates
 *             the sum of the two directions' u8 codes), so that merge is refused.
 *       </ul>
 * </ul>
 */
final class Reduced {

  private Reduced() {}

  /** The data-range exponents a stack may use (R = 2^e, e in [0, MAX_RANGE_EXPONENT]). */
  static final int MAX_RANGE_EXPONENT = 128; // 2^128 > Float.MAX_VALUE

  private static final ByteOrder ORDER = ByteOrder.nativeOrder();

  /** u8 zero point: u8 = x · scale + SHIFT. */
  static final float SHIFT = 128f;

  /**
   * Why onednn does not run {@code node} with weight matrices in {@code p}, or null when it does. A
   * node onednn does not run at all is the caller's concern ({@code whyNot}). Every recurrent layer
   * runs on the CPUs with the instructions: at small batch (and where oneDNN's RNN primitive
   * refuses the layer, at any batch) on java's step loop with oneDNN's products ({@link
   * OneDnnProduct}), elsewhere on the RNN primitive ({@link #primitiveWhyNot}).
   */
  static String whyNot(Node node, Precision p) {
    if (p == Precision.F32) {
      return null;
    }
    if (!(node.op() instanceof Op.RecurrentLayer)) {
      return "onednn runs recurrent layers only";
    }
    return isaWhyNot(p);
  }

  /** Why this CPU (as oneDNN sees it) cannot run products in {@code p}, or null. */
  static String isaWhyNot(Precision p) {
    return switch (p) {
      case F32 -> null;
      case BF16 ->
          Boolean.getBoolean("jrnn.onednn.noBf16")
              ? "bf16 is switched off (-Djrnn.onednn.noBf16=true)"
              : OneDnn.hasIsa(OneDnn.ISA_AVX512_CORE_BF16)
                  ? null
                  : "the CPU (oneDNN ISA 0x"
                      + Integer.toHexString(OneDnn.effectiveIsa())
                      + ") has no AVX512_BF16";
      // Without VNNI oneDNN's u8·s8 products saturate at 16 bits for 8-bit weights.
      case INT8 ->
          OneDnn.hasIsa(OneDnn.ISA_AVX512_CORE_VNNI)
              ? null
              : "the CPU (oneDNN ISA 0x"
                  + Integer.toHexString(OneDnn.effectiveIsa())
                  + ") has no AVX512_VNNI";
    };
  }

  /**
   * Why oneDNN's RNN primitive does not run a layer of {@code s} with weight matrices in {@code p}
   * (such a layer runs on {@link OneDnnProduct}s at every batch size), or null.
   */
  static String primitiveWhyNot(Recurrent s, Precision p) {
    return switch (p) {
      case F32 -> null;
      case BF16 -> bf16WhyNot(s);
      case INT8 -> int8WhyNot(s);
    };
  }

  private static String bf16WhyNot(Recurrent s) {
    if (s.projection() > 0) {
      // Its docs list projection as unsupported in bf16, but its descriptor is accepted.
      return "oneDNN 2.6 computes bf16 LSTM with projection wrongly (max |diff| 0.18 from"
          + " reference at T = 1)";
    }
    return null;
  }

  private static String int8WhyNot(Recurrent s) {
    if (s.directions() == 2 && s.merge() == Recurrent.Merge.SUM) {
      // copy_res_layer_fwd_template adds the directions' u8 codes and saturates the sum to u8
      return "oneDNN 2.6 computes int8 bidirectional-sum wrongly (it saturates the sum of the"
          + " directions' u8 codes before dequantizing)";
    }
    return switch (s.cell()) {
      case RNN -> "oneDNN 2.6 has no int8 vanilla RNN (int8 is LSTM and GRU only)";
      case GRU ->
          s.isLinearBeforeReset()
              ? "oneDNN 2.6 has no int8 linear-before-reset GRU (int8 is LSTM and GRU only)"
              : null;
      case LSTM ->
          s.hasPeepholes()
              ? "oneDNN 2.6 has no int8 LSTM with peepholes"
              : s.projection() > 0
                  ? "jrnn does not run oneDNN's int8 LSTM with projection: its one data scale"
                      + " would have to cover the projected state, which is not bounded by 1"
                  : null;
    };
  }

  // Vector twins of the boundary loops (jrnn.vectorBits=0: the scalar ones), same results.
  private static final VectorSpecies<Float> F = Simd.F;
  private static final VectorSpecies<Integer> I =
      F == null ? null : VectorSpecies.of(int.class, F.vectorShape());
  private static final VectorSpecies<Short> S =
      F == null
          ? null
          : VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
  private static final VectorSpecies<Byte> B = // a byte per float lane, where such a shape exists
      F == null || F.length() < 8
          ? null
          : VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));

  /** The lanes of {@code v} rounded to bf16 as {@link Quant#toBf16} rounds (half-width lanes). */
  private static ShortVector bf16(FloatVector v) {
    IntVector bits = v.reinterpretAsInts();
    IntVector rounded =
        bits.add(0x7FFF)
            .add(bits.lanewise(VectorOperators.LSHR, 16).and(1))
            .lanewise(VectorOperators.LSHR, 16);
    IntVector nan = bits.lanewise(VectorOperators.LSHR, 16).or(0x40); // as Quant.toBf16
    rounded = rounded.blend(nan, v.test(VectorOperators.IS_NAN).cast(I));
    return (ShortVector) rounded.convertShape(VectorOperators.I2S, S, 0);
  }

  /** {@code n} floats of {@code src} rounded to bf16 (nearest, ties to even) into {@code dst}. */
  static void toBf16(MemorySegment src, MemorySegment dst, long n) {
    long i = 0;
    if (F != null) {
      for (long end = n - n % F.length(); i < end; i += F.length()) {
        FloatVector v = FloatVector.fromMemorySegment(F, src, i * 4, ORDER);
        bf16(v).intoMemorySegment(dst, i * 2, ORDER);
      }
    }
    for (; i < n; i++) {
      dst.setAtIndex(JAVA_SHORT, i, Quant.toBf16(src.getAtIndex(JAVA_FLOAT, i)));
    }
  }

  /** {@code n} bf16 values of {@code src} widened (exactly) into {@code dst}. */
  static void fromBf16(MemorySegment src, MemorySegment dst, long n) {
    long i = 0;
    if (F != null) {
      for (long end = n - n % F.length(); i < end; i += F.length()) {
        ShortVector b = ShortVector.fromMemorySegment(S, src, i * 2, ORDER);
        ((IntVector) b.convertShape(VectorOperators.S2I, I, 0))
            .lanewise(VectorOperators.LSHL, 16)
            .reinterpretAsFloats()
            .intoMemorySegment(dst, i * 4, ORDER);
      }
    }
    for (; i < n; i++) {
      dst.setAtIndex(JAVA_FLOAT, i, Quant.fromBf16(src.getAtIndex(JAVA_SHORT, i)));
    }
  }

  /** The largest |x| of {@code n} floats; throws naming {@code what} on a NaN or infinity. */
  static float maxAbs(MemorySegment src, long n, String what) {
    float max = 0f;
    long i = 0;
    if (F != null) {
      FloatVector acc = FloatVector.zero(F);
      for (long end = n - n % F.length(); i < end; i += F.length()) {
        acc = acc.max(FloatVector.fromMemorySegment(F, src, i * 4, ORDER).abs()); // NaN stays NaN
      }
      max = acc.reduceLanes(VectorOperators.MAX);
    }
    for (; i < n; i++) {
      max = Math.max(max, Math.abs(src.getAtIndex(JAVA_FLOAT, i)));
    }
    if (!(max <= Float.MAX_VALUE)) {
      for (long j = 0; j < n; j++) {
        float v = src.getAtIndex(JAVA_FLOAT, j);
        if (!Float.isFinite(v)) {
          throw new IllegalArgumentException(
              what
                  + " ["
                  + j
                  + "] is "
                  + v
                  + ": onednn's int8 layers quantize activations, which needs finite values");
        }
      }
    }
    return max;
  }

  /** The exponent e ≥ 0 of the smallest power of two ≥ {@code maxAbs}. */
  static int rangeExponent(float maxAbs) {
    if (maxAbs <= 1f) {
      return 0;
    }
    int e = Math.getExponent(maxAbs);
    return Math.min(MAX_RANGE_EXPONENT, maxAbs == Math.scalb(1f, e) ? e : e + 1);
  }

  /** oneDNN's data scale for range [-2^e, 2^e]: u8 = x · scale + {@link #SHIFT}. */
  static float dataScale(int e) {
    return Math.scalb(127f, -e);
  }

  /** The lanes of {@code v} as u8 = rint(x · scale + shift), saturated (quarter-width lanes). */
  private static ByteVector u8(FloatVector v, float scale) {
    FloatVector q =
        v.mul(scale)
            .add(SHIFT)
            .max(0f)
            .min(255f)
            .add(0x1p23f); // in [2^23, 2^23 + 255] the sum is rounded to an integer, to even
    return (ByteVector) q.reinterpretAsInts().convertShape(VectorOperators.I2B, B, 0);
  }

  /** {@code n} floats quantized to u8 = rint(x · scale + shift), saturated, as oneDNN does. */
  static void toU8(MemorySegment src, MemorySegment dst, long n, float scale) {
    long i = 0;
    if (B != null) {
      for (long end = n - n % F.length(); i < end; i += F.length()) {
        u8(FloatVector.fromMemorySegment(F, src, i * 4, ORDER), scale)
            .intoMemorySegment(dst, i, ORDER);
      }
    }
    for (; i < n; i++) {
      float q = (float) Math.rint(src.getAtIndex(JAVA_FLOAT, i) * scale + SHIFT);
      dst.set(JAVA_BYTE, i, (byte) (int) Math.max(0f, Math.min(255f, q)));
    }
  }

  /**
   * {@code m} rows of {@code k} floats ({@code a[aOff + r·lda + i]}) rounded to bf16 (nearest, ties
   * to even) into {@code dst} as {@code [m][k]}.
   */
  static void rowsToBf16(float[] a, int aOff, int lda, int m, int k, MemorySegment dst) {
    for (int r = 0; r < m; r++) {
      int from = aOff + r * lda;
      long to = (long) r * k * 2;
      int i = 0;
      if (F != null) {
        for (int end = k - k % F.length(); i < end; i += F.length()) {
          FloatVector v = FloatVector.fromArray(F, a, from + i);
          bf16(v).intoMemorySegment(dst, to + i * 2L, ORDER);
        }
      }
      for (; i < k; i++) {
        dst.set(JAVA_SHORT, to + i * 2L, Quant.toBf16(a[from + i]));
      }
    }
  }

  /**
   * {@code m} rows of {@code k} floats quantized to u8 into {@code dst} as {@code [m][k]}, each row
   * with its own scale: {@code u8 = rint(x · s + 128)}, {@code s = 127 / max |row|} (1 for a row of
   * zeros), written to {@code scales[r]}. Throws naming {@code what} on a NaN or infinity, which
   * has no u8 code.
   */
  static void rowsToU8(
      float[] a, int aOff, int lda, int m, int k, MemorySegment dst, float[] scales, String what) {
    for (int r = 0; r < m; r++) {
      int from = aOff + r * lda;
      float max = 0f;
      int i = 0;
      if (B != null) {
        FloatVector acc = FloatVector.zero(F);
        for (int end = k - k % F.length(); i < end; i += F.length()) {
          acc = acc.max(FloatVector.fromArray(F, a, from + i).abs()); // NaN stays NaN
        }
        max = acc.reduceLanes(VectorOperators.MAX);
      }
      for (; i < k; i++) {
        max = Math.max(max, Math.abs(a[from + i]));
      }
      if (!(max <= Float.MAX_VALUE)) {
        throw new IllegalArgumentException(
            what + " to u8, and it holds a NaN or an infinity, which has no u8 code");
      }
      float scale = max == 0f ? 1f : Quant.I8_MAX / max;
      scales[r] = scale;
      long to = (long) r * k;
      i = 0;
      if (B != null) {
        for (int end = k - k % F.length(); i < end; i += F.length()) {
          u8(FloatVector.fromArray(F, a, from + i), scale).intoMemorySegment(dst, to + i, ORDER);
        }
      }
      for (; i < k; i++) {
        float q = (float) Math.rint(a[from + i] * scale + SHIFT);
        dst.set(JAVA_BYTE, to + i, (byte) (int) Math.max(0f, Math.min(255f, q)));
      }
    }
  }
}
