package dev.jrnn.spi;

import dev.jrnn.DType;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.Folding;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.Shapes;
import dev.jrnn.ir.TensorType;
import dev.jrnn.kernels.Arith;
import java.util.Arrays;

/**
 * The backward passes of the ops {@link FoldKernel} runs, in double precision: {@link #gradients}
 * on double values (the reference backend's gradient tests call it directly), {@link #run} on
 * tensors.
 *
 * <p>A data-movement op (Concat, Gather, Transpose, Reshape, Squeeze, Unsqueeze, Slice, Expand,
 * Identity, Flatten) sends every output element from exactly one input element. Its backward runs
 * the op's own fold once more on the input's element indices: the result says where each output
 * element came from, and the output gradient is scattered back along it. No op needs a hand-written
 * inverse, so forward and backward cannot disagree. Element-wise arithmetic and MatMul have their
 * derivatives here; Shape and ConstantOfShape pass no gradient.
 */
public final class FoldBackward {

  private FoldBackward() {}

  /**
   * Writes {@code gradIn[i]} (where non-null) for {@code op}'s inputs {@code in}, given the
   * gradient of its single output: {@link #gradients} on the tensors' values, rounded once.
   */
  public static void run(Op op, Tensor[] in, Tensor gradOut, Tensor[] gradIn) {
    double[][] x = new double[in.length][];
    boolean[] wanted = new boolean[in.length];
    for (int i = 0; i < in.length; i++) {
      wanted[i] = gradIn[i] != null;
      if (in[i] != null && in[i].dtype() == DType.F32 && readsValues(op)) {
        x[i] = doubles(in[i].toFloatArray());
      }
    }
    double[][] g = gradients(op, in, x, doubles(gradOut.toFloatArray()), wanted);
    for (int i = 0; i < in.length; i++) {
      if (g[i] != null) {
        float[] f = new float[g[i].length];
        for (int k = 0; k < f.length; k++) {
          f[k] = (float) g[i][k];
        }
        gradIn[i].copyFrom(f);
      }
    }
  }

  /** Whether the gradient depends on the inputs' values, not only on their shapes. */
  private static boolean readsValues(Op op) {
    return op instanceof Op.Binary || op instanceof DataOp.MatMul;
  }

  private static double[] doubles(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  /**
   * The gradient with respect to each input {@code i} that is {@code wanted} (else null), in double
   * throughout: {@code in} gives the shapes and the integer inputs (indices, shapes, slice bounds),
   * {@code x[i]} the values of F32 input {@code i} where the derivative reads them (Binary,
   * MatMul), {@code dy} the output's gradient.
   */
  public static double[][] gradients(
      Op op, Tensor[] in, double[][] x, double[] dy, boolean[] wanted) {
    double[][] acc = new double[in.length][];
    for (int i = 0; i < in.length; i++) {
      if (wanted[i]) {
        acc[i] = new double[Math.toIntExact(in[i].size())];
      }
    }
    switch (op) {
      case Op.Binary b -> binary(b.fn(), x[0], in[0].shape(), x[1], in[1].shape(), dy, acc);
      case DataOp.MatMul m -> matmul(x[0], in[0].shape(), x[1], in[1].shape(), dy, acc);
      case DataOp.Cast c -> {
        if (acc[0] != null && c.to() == DType.F32) {
          for (int k = 0; k < acc[0].length; k++) {
            acc[0][k] += dy[k];
          }
        }
      }
      case DataOp.Shape s -> {}
      case DataOp.ConstantOfShape c -> {}
      default -> {
        for (int i = 0; i < in.length; i++) {
          if (acc[i] != null) {
            long[] from = routing(op, in, i);
            for (int o = 0; o < dy.length; o++) {
              if (from[o] >= 0) {
                acc[i][(int) from[o]] += dy[o];
              }
            }
          }
        }
      }
    }
    return acc;
  }

  /** Whether {@link #run} knows {@code op}. */
  public static boolean supports(Op op) {
    return switch (op) {
      case Op.Binary b -> true;
      case Op.Concat c -> true;
      case DataOp d -> true;
      default -> false;
    };
  }

  /**
   * Where each output element of a data-movement op comes from in its F32 input {@code input}: the
   * flat index, or -1 for an element from another input. The op's own fold, run on the element
   * indices of that input (-1 for the others' elements).
   */
  public static long[] routing(Op op, Tensor[] in, int input) {
    TensorType[] types = new TensorType[in.length];
    Const[] values = new Const[in.length];
    for (int j = 0; j < in.length; j++) {
      if (in[j] == null) {
        continue;
      }
      boolean data = in[j].dtype() == DType.F32;
      types[j] = TensorType.fixed(data ? DType.I32 : in[j].dtype(), in[j].shape());
      if (!data) {
        values[j] = Const.of(in[j]);
      } else {
        long[] ids = new long[Math.toIntExact(in[j].size())];
        if (j == input) {
          Arrays.setAll(ids, k -> k);
        } else {
          Arrays.fill(ids, -1);
        }
        values[j] = Const.longs(ids, in[j].shape());
      }
    }
    Const from = Op.evaluate(op, types, values)[0];
    long[] r = new long[Math.toIntExact(from.size())];
    for (int o = 0; o < r.length; o++) {
      r[o] = from.longAt(o);
    }
    return r;
  }

  /** Binary arithmetic's derivatives, NumPy broadcasting summed back onto each operand. */
  private static void binary(
      Arith fn, double[] a, int[] as, double[] b, int[] bs, double[] dy, double[][] acc) {
    int[] out = Shapes.broadcast(as, bs);
    long[] ia = Folding.broadcastIndex(as, out);
    long[] ib = Folding.broadcastIndex(bs, out);
    for (int o = 0; o < dy.length; o++) {
      double x = a[(int) ia[o]];
      double y = b[(int) ib[o]];
      double g = dy[o];
      double da;
      double db;
      switch (fn) {
        case ADD -> {
          da = 1;
          db = 1;
        }
        case SUB -> {
          da = 1;
          db = -1;
        }
        case MUL -> {
          da = y;
          db = x;
        }
        case DIV -> {
          da = 1 / y;
          db = -x / (y * y);
        }
        default -> throw new AssertionError(fn);
      }
      if (acc[0] != null) {
        acc[0][(int) ia[o]] += g * da;
      }
      if (acc[1] != null) {
        acc[1][(int) ib[o]] += g * db;
      }
    }
  }

  /** MatMul with NumPy semantics: rank-1 operands promoted, batch dimensions broadcast. */
  private static void matmul(
      double[] a, int[] aShape, double[] b, int[] bShape, double[] dy, double[][] acc) {
    int[] as = aShape.length == 1 ? new int[] {1, aShape[0]} : aShape;
    int[] bs = bShape.length == 1 ? new int[] {bShape[0], 1} : bShape;
    int m = as[as.length - 2];
    int k = as[as.length - 1];
    int n = bs[bs.length - 1];
    int[] aBatch = Arrays.copyOf(as, as.length - 2);
    int[] bBatch = Arrays.copyOf(bs, bs.length - 2);
    int[] batch = Shapes.broadcast(aBatch, bBatch);
    long[] ia = Folding.broadcastIndex(aBatch, batch);
    long[] ib = Folding.broadcastIndex(bBatch, batch);
    for (int q = 0; q < ia.length; q++) {
      int ao = (int) ia[q] * m * k;
      int bo = (int) ib[q] * k * n;
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          double g = dy[(q * m + i) * n + j];
          for (int p = 0; p < k; p++) {
            if (acc[0] != null) {
              acc[0][ao + i * k + p] += g * b[bo + p * n + j];
            }
            if (acc[1] != null) {
              acc[1][bo + p * n + j] += g * a[ao + i * k + p];
            }
          }
        }
      }
    }
  }
}
