package dev.jrnn.ir;

import dev.jrnn.DType;
import dev.jrnn.Tensor;
import java.util.Arrays;

/**
 * A small value known without running the graph: a constant, or a shape computation the planner
 * evaluated. Integers are kept as longs (ONNX shape arithmetic is int64) and become I32 tensors.
 *
 * @param dtype F32 or I32
 * @param shape dimensions
 * @param floats the elements when F32, else null
 * @param longs the elements when I32, else null
 */
public record Const(DType dtype, int[] shape, float[] floats, long[] longs) {

  public Const {
    if (shape.length > TensorType.MAX_RANK) {
      throw new IllegalArgumentException(
          "a tensor may have at most " + TensorType.MAX_RANK + " dimensions, got " + shape.length);
    }
    shape = shape.clone();
    long n = 1;
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    long have = dtype == DType.F32 ? floats.length : longs.length;
    if (have != n) {
      throw new IllegalArgumentException(
          "constant of shape " + Arrays.toString(shape) + " has " + have + " elements");
    }
  }

  public static Const floats(float[] v, int... shape) {
    return new Const(DType.F32, shape, v.clone(), null);
  }

  public static Const longs(long[] v, int... shape) {
    return new Const(DType.I32, shape, null, v.clone());
  }

  /** A rank-1 integer vector. */
  public static Const vector(long... v) {
    return longs(v, v.length);
  }

  public long size() {
    return dtype == DType.F32 ? floats.length : longs.length;
  }

  public int rank() {
    return shape.length;
  }

  /** Element {@code i} as a long (integer constants) or truncated float. */
  public long longAt(int i) {
    return dtype == DType.F32 ? (long) floats[i] : longs[i];
  }

  /** Element {@code i} as a double. */
  public double doubleAt(int i) {
    return dtype == DType.F32 ? floats[i] : longs[i];
  }

  /** The elements as ints; throws if one does not fit. */
  public int[] ints() {
    int[] out = new int[(int) size()];
    for (int i = 0; i < out.length; i++) {
      long v = longAt(i);
      if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("value " + v + " does not fit in 32 bits");
      }
      out[i] = (int) v;
    }
    return out;
  }

  /**
   * This value with integers beyond 32 bits clamped to the int range, for I32 tensors. Only index
   * and bound arithmetic produces such integers (ONNX's "slice to the end" is INT64_MAX), and every
   * reader of them clamps to a dimension or rejects what is out of range, so the clamped value
   * means the same.
   */
  public Const saturated() {
    if (longs == null) {
      return this;
    }
    long[] v = longs.clone();
    for (int i = 0; i < v.length; i++) {
      v[i] = Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v[i]));
    }
    return new Const(dtype, shape, null, v);
  }

  /** Its type. */
  public TensorType type() {
    return TensorType.fixed(dtype, shape);
  }

  /** A new tensor holding the value (integers range-checked into I32). */
  public Tensor toTensor() {
    if (dtype == DType.F32) {
      return Tensor.of(floats, shape);
    }
    return Tensor.of(ints(), shape);
  }

  /** The value of a tensor. */
  public static Const of(Tensor t) {
    if (t.dtype() == DType.F32) {
      return new Const(DType.F32, t.shape(), t.toFloatArray(), null);
    }
    int[] v = t.toIntArray();
    long[] l = new long[v.length];
    for (int i = 0; i < v.length; i++) {
      l[i] = v[i];
    }
    return new Const(DType.I32, t.shape(), null, l);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Const c
        && dtype == c.dtype
        && Arrays.equals(shape, c.shape)
        && Arrays.equals(floats, c.floats)
        && Arrays.equals(longs, c.longs);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(shape) * 31
        + (floats != null ? Arrays.hashCode(floats) : Arrays.hashCode(longs));
  }

  @Override
  public String toString() {
    String v =
        size() <= 8 ? (floats != null ? Arrays.toString(floats) : Arrays.toString(longs)) : "…";
    return dtype + " " + Arrays.toString(shape) + " " + v;
  }
}
