package dev.jrnn.ir;

import dev.jrnn.DType;
import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.kernels.Quant;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Weights in reduced precision, defined once: which tensors a stored weight consists of, its f32
 * values, and conversion between {@link Precision}s (through {@link Quant}'s arithmetic, which the
 * kernels share). An int8 matrix {@code name} is two tensors: {@code I8 name [rows, cols]} and
 * {@code F32 name.scale [rows]}.
 */
public final class Precisions {

  private Precisions() {}

  /** The name of an int8 matrix's per-row scale tensor. */
  public static String scaleName(String weight) {
    return weight + ".scale";
  }

  /** The precision a tensor of {@code dtype} stores weights in. */
  public static Precision of(DType dtype) {
    return switch (dtype) {
      case F32 -> Precision.F32;
      case BF16 -> Precision.BF16;
      case I8 -> Precision.INT8;
      case I32 -> throw new IllegalArgumentException("I32 tensors are not weights");
    };
  }

  /**
   * The f32 values of weight {@code name}: a copy of an F32 tensor, bfloat16 widened (exact), int8
   * times its row's scale ({@code scale}: the {@link #scaleName} tensor, needed for I8 only).
   */
  public static float[] floats(String name, Tensor t, Tensor scale) {
    return switch (t.dtype()) {
      case F32 -> t.toFloatArray();
      case BF16 -> {
        short[] b = bf16(t);
        float[] f = new float[b.length];
        for (int i = 0; i < b.length; i++) {
          f[i] = Quant.fromBf16(b[i]);
        }
        yield f;
      }
      case I8 -> {
        float[] s = rowScales(name, t, scale);
        byte[] q = int8(t);
        int cols = q.length / Math.max(1, s.length);
        float[] f = new float[q.length];
        for (int i = 0; i < q.length; i++) {
          f[i] = Quant.dequantize(q[i], s[i / cols]);
        }
        yield f;
      }
      case I32 -> throw new IllegalArgumentException("weight '" + name + "' is I32, not a weight");
    };
  }

  /** The bfloat16 bit patterns of a BF16 tensor. */
  public static short[] bf16(Tensor t) {
    require(t, DType.BF16);
    return t.segment().toArray(ValueLayout.JAVA_SHORT);
  }

  /** The values of an I8 tensor. */
  public static byte[] int8(Tensor t) {
    require(t, DType.I8);
    return t.segment().toArray(ValueLayout.JAVA_BYTE);
  }

  /** The per-row scales of int8 matrix {@code name}, checked against its shape. */
  public static float[] rowScales(String name, Tensor q, Tensor scale) {
    if (q.rank() != 2) {
      throw new IllegalArgumentException(
          "int8 weight '" + name + "' must be a matrix, got " + q.describe());
    }
    if (scale == null) {
      throw new IllegalArgumentException(
          "int8 weight '" + name + "' has no scale tensor '" + scaleName(name) + "'");
    }
    if (scale.dtype() != DType.F32 || scale.rank() != 1 || scale.dim(0) != q.dim(0)) {
      throw new IllegalArgumentException(
          "scale '"
              + scaleName(name)
              + "' must be F32 ["
              + q.dim(0)
              + "] (one per row of "
              + q.describe()
              + "), got "
              + scale.describe());
    }
    float[] s = scale.toFloatArray();
    for (int i = 0; i < s.length; i++) {
      if (!(s[i] > 0f) || !Float.isFinite(s[i])) {
        throw new IllegalArgumentException(
            "scale '" + scaleName(name) + "' row " + i + " is " + s[i] + "; scales must be > 0");
      }
    }
    return s;
  }

  /**
   * Weight {@code name} in precision {@code to}, as the tensors that store it (one, or two for
   * int8), newly allocated: the caller owns them. f32 values are rounded to bfloat16 or quantized
   * per row; reduced ones widened first. Non-finite weights cannot be quantized to int8.
   */
  public static Map<String, Tensor> convert(String name, Tensor t, Tensor scale, Precision to) {
    int[] shape = t.shape();
    Map<String, Tensor> out = new LinkedHashMap<>();
    if (of(t.dtype()) == to) { // a copy, keeping the bits
      out.put(name, t.copy());
      if (to == Precision.INT8) {
        rowScales(name, t, scale);
        out.put(scaleName(name), scale.copy());
      }
      return out;
    }
    float[] f = floats(name, t, scale);
    switch (to) {
      case F32 -> out.put(name, Tensor.of(f, shape));
      case BF16 -> {
        Tensor b = Tensor.allocate(DType.BF16, shape);
        for (int i = 0; i < f.length; i++) {
          b.segment().setAtIndex(ValueLayout.JAVA_SHORT, i, Quant.toBf16(f[i]));
        }
        out.put(name, b);
      }
      case INT8 -> {
        if (shape.length != 2) {
          throw new IllegalArgumentException(
              "only weight matrices become int8; '" + name + "' is " + t.describe());
        }
        int rows = shape[0];
        int cols = shape[1];
        float[] s = new float[rows];
        Tensor q = Tensor.allocate(DType.I8, shape);
        for (int r = 0; r < rows; r++) {
          for (int c = 0; c < cols; c++) {
            if (!Float.isFinite(f[r * cols + c])) {
              q.close();
              throw new IllegalArgumentException(
                  "weight '"
                      + name
                      + "' ["
                      + r
                      + ", "
                      + c
                      + "] is "
                      + f[r * cols + c]
                      + "; int8 needs finite weights");
            }
          }
          s[r] = Quant.rowScale(f, r * cols, cols);
          for (int c = 0; c < cols; c++) {
            q.segment()
                .setAtIndex(
                    ValueLayout.JAVA_BYTE,
                    (long) r * cols + c,
                    Quant.quantize(f[r * cols + c], s[r]));
          }
        }
        out.put(name, q);
        out.put(scaleName(name), Tensor.of(s, rows));
      }
    }
    return out;
  }

  private static void require(Tensor t, DType d) {
    if (t.dtype() != d) {
      throw new IllegalArgumentException("expected a " + d + " tensor, got " + t.describe());
    }
  }
}
