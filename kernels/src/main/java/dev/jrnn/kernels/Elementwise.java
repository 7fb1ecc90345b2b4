package dev.jrnn.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise passes over float tensors in native memory: activations, broadcast arithmetic runs
 * and row-wise softmax, each vectorized with a scalar twin ({@code jrnn.vectorBits=0}). Offsets and
 * lengths count floats.
 */
public final class Elementwise {

  private static final VectorSpecies<Float> S = Simd.F;
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

  public static final int ADD = 0;
  public static final int SUB = 1;
  public static final int MUL = 2;
  public static final int DIV = 3;

  private Elementwise() {}

  /**
   * {@code y[i] = act(x[i])} for {@code n} floats. Sigmoid, tanh and relu have a loop each, with
   * the operation written out: a call through {@link Act#apply(FloatVector)} here was not inlined
   * and boxed every vector (9 KB allocated per call of a small model). Other kinds run scalar.
   */
  public static void activation(Act act, MemorySegment x, MemorySegment y, long n) {
    if (!Simd.VECTOR || !act.vectorized()) {
      activationScalar(act, x, y, n);
      return;
    }
    int len = S.length();
    long full = n - n % len;
    int rest = (int) (n - full);
    switch (act.kind) {
      case Act.TANH -> {
        for (long i = 0; i < full; i += len) {
          load(x, i).lanewise(VectorOperators.TANH).intoMemorySegment(y, i * 4, NATIVE);
        }
        if (rest > 0) {
          VectorMask<Float> tail = S.indexInRange(0, rest); // the int overload is intrinsic
          load(x, full, tail)
              .lanewise(VectorOperators.TANH)
              .intoMemorySegment(y, full * 4, NATIVE, tail);
        }
      }
      case Act.SIGMOID -> {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (long i = 0; i < full; i += len) {
          one.div(load(x, i).neg().lanewise(VectorOperators.EXP).add(one))
              .intoMemorySegment(y, i * 4, NATIVE);
        }
        if (rest > 0) {
          VectorMask<Float> tail = S.indexInRange(0, rest);
          one.div(load(x, full, tail).neg().lanewise(VectorOperators.EXP).add(one))
              .intoMemorySegment(y, full * 4, NATIVE, tail);
        }
      }
      default -> {
        for (long i = 0; i < full; i += len) {
          load(x, i).max(0f).intoMemorySegment(y, i * 4, NATIVE);
        }
        if (rest > 0) {
          VectorMask<Float> tail = S.indexInRange(0, rest);
          load(x, full, tail).max(0f).intoMemorySegment(y, full * 4, NATIVE, tail);
        }
      }
    }
  }

  /** Scalar twin of {@link #activation}. */
  public static void activationScalar(Act act, MemorySegment x, MemorySegment y, long n) {
    for (long i = 0; i < n; i++) {
      y.setAtIndex(F, i, act.apply(x.getAtIndex(F, i)));
    }
  }

  /**
   * One run of broadcast arithmetic: {@code y[yOff + j] = a[aOff + j·as] op b[bOff + j·bs]} for
   * {@code j < n}, where the strides {@code as} and {@code bs} are 0 (a repeated element) or 1.
   */
  public static void binaryRun(
      int op,
      MemorySegment a,
      long aOff,
      int as,
      MemorySegment b,
      long bOff,
      int bs,
      MemorySegment y,
      long yOff,
      int n) {
    if (!Simd.VECTOR) {
      binaryRunScalar(op, a, aOff, as, b, bOff, bs, y, yOff, n);
      return;
    }
    // Separate loops per stride pattern: a vector that may be null would be boxed by C2.
    if (as == 1 && bs == 1) {
      int j = 0;
      for (; j + S.length() <= n; j += S.length()) {
        apply(op, load(a, aOff + j), load(b, bOff + j))
            .intoMemorySegment(y, (yOff + j) * 4, NATIVE);
      }
      if (j < n) {
        VectorMask<Float> m = S.indexInRange(j, n);
        apply(op, load(a, aOff + j, m), load(b, bOff + j, m))
            .intoMemorySegment(y, (yOff + j) * 4, NATIVE, m);
      }
    } else if (as == 1 && bs == 0) {
      FloatVector cb = FloatVector.broadcast(S, b.getAtIndex(F, bOff));
      int j = 0;
      for (; j + S.length() <= n; j += S.length()) {
        apply(op, load(a, aOff + j), cb).intoMemorySegment(y, (yOff + j) * 4, NATIVE);
      }
      if (j < n) {
        VectorMask<Float> m = S.indexInRange(j, n);
        apply(op, load(a, aOff + j, m), cb).intoMemorySegment(y, (yOff + j) * 4, NATIVE, m);
      }
    } else if (as == 0 && bs == 1) {
      FloatVector ca = FloatVector.broadcast(S, a.getAtIndex(F, aOff));
      int j = 0;
      for (; j + S.length() <= n; j += S.length()) {
        apply(op, ca, load(b, bOff + j)).intoMemorySegment(y, (yOff + j) * 4, NATIVE);
      }
      if (j < n) {
        VectorMask<Float> m = S.indexInRange(j, n);
        apply(op, ca, load(b, bOff + j, m)).intoMemorySegment(y, (yOff + j) * 4, NATIVE, m);
      }
    } else {
      binaryRunScalar(op, a, aOff, as, b, bOff, bs, y, yOff, n);
    }
  }

  private static FloatVector load(MemorySegment s, long index) {
    return FloatVector.fromMemorySegment(S, s, index * 4, NATIVE);
  }

  private static FloatVector load(MemorySegment s, long index, VectorMask<Float> m) {
    return FloatVector.fromMemorySegment(S, s, index * 4, NATIVE, m);
  }

  private static FloatVector apply(int op, FloatVector a, FloatVector b) {
    return switch (op) {
      case ADD -> a.add(b);
      case SUB -> a.sub(b);
      case MUL -> a.mul(b);
      default -> a.div(b);
    };
  }

  /** Scalar twin of {@link #binaryRun}. */
  public static void binaryRunScalar(
      int op,
      MemorySegment a,
      long aOff,
      int as,
      MemorySegment b,
      long bOff,
      int bs,
      MemorySegment y,
      long yOff,
      int n) {
    for (int j = 0; j < n; j++) {
      float x = a.getAtIndex(F, aOff + (long) j * as);
      float z = b.getAtIndex(F, bOff + (long) j * bs);
      y.setAtIndex(
          F,
          yOff + j,
          switch (op) {
            case ADD -> x + z;
            case SUB -> x - z;
            case MUL -> x * z;
            default -> x / z;
          });
    }
  }

  /**
   * Softmax (or log-softmax) of each of {@code rows} contiguous rows of {@code cols} floats,
   * max-subtracted so large inputs do not overflow.
   */
  public static void softmaxRows(
      MemorySegment x, MemorySegment y, long rows, int cols, boolean log) {
    if (!Simd.VECTOR) {
      softmaxRowsScalar(x, y, rows, cols, log);
      return;
    }
    int len = S.length();
    int full = cols - cols % len;
    VectorMask<Float> tail = S.indexInRange(full, cols);
    FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
    for (long r = 0; r < rows; r++) {
      long base = r * cols;
      FloatVector vmax = ninf;
      for (int j = 0; j < full; j += len) {
        vmax = vmax.max(load(x, base + j));
      }
      if (full < cols) {
        vmax = vmax.max(ninf.blend(load(x, base + full, tail), tail));
      }
      FloatVector vm = FloatVector.broadcast(S, vmax.reduceLanes(VectorOperators.MAX));
      FloatVector vsum = FloatVector.zero(S);
      for (int j = 0; j < full; j += len) {
        FloatVector e = load(x, base + j).sub(vm).lanewise(VectorOperators.EXP);
        vsum = vsum.add(e);
        if (!log) {
          e.intoMemorySegment(y, (base + j) * 4, NATIVE);
        }
      }
      if (full < cols) {
        FloatVector e = load(x, base + full, tail).sub(vm).lanewise(VectorOperators.EXP);
        vsum = vsum.add(e, tail);
        if (!log) {
          e.intoMemorySegment(y, (base + full) * 4, NATIVE, tail);
        }
      }
      float sum = vsum.reduceLanes(VectorOperators.ADD);
      if (log) {
        FloatVector shift = vm.add((float) Math.log(sum));
        for (int j = 0; j < full; j += len) {
          load(x, base + j).sub(shift).intoMemorySegment(y, (base + j) * 4, NATIVE);
        }
        if (full < cols) {
          load(x, base + full, tail)
              .sub(shift)
              .intoMemorySegment(y, (base + full) * 4, NATIVE, tail);
        }
      } else {
        FloatVector inv = FloatVector.broadcast(S, 1f / sum);
        for (int j = 0; j < full; j += len) {
          load(y, base + j).mul(inv).intoMemorySegment(y, (base + j) * 4, NATIVE);
        }
        if (full < cols) {
          load(y, base + full, tail).mul(inv).intoMemorySegment(y, (base + full) * 4, NATIVE, tail);
        }
      }
    }
  }

  /** Scalar twin of {@link #softmaxRows}, in double precision. */
  public static void softmaxRowsScalar(
      MemorySegment x, MemorySegment y, long rows, int cols, boolean log) {
    for (long r = 0; r < rows; r++) {
      long base = r * cols;
      float max = Float.NEGATIVE_INFINITY;
      for (int k = 0; k < cols; k++) {
        max = Math.max(max, x.getAtIndex(F, base + k));
      }
      double sum = 0;
      for (int k = 0; k < cols; k++) {
        sum += Math.exp(x.getAtIndex(F, base + k) - max);
      }
      double logSum = Math.log(sum);
      for (int k = 0; k < cols; k++) {
        double z = x.getAtIndex(F, base + k) - max;
        y.setAtIndex(F, base + k, (float) (log ? z - logSum : Math.exp(z) / sum));
      }
    }
  }
}
