package dev.jrnn.spi;

import dev.jrnn.DType;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.Shapes;
import dev.jrnn.ir.TensorType;
import java.util.Arrays;

/**
 * The backward passes of the ops {@link FoldKernel} runs, in double precision.
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
   * gradient of its single output.
   */
  public static void run(Op op, Tensor[] in, Tensor gradOut, Tensor[] gradIn) {
    double[][] acc = new double[in.length][];
    for (int i = 0; i < in.length; i++) {
      if (gradIn[i] != null) {
        acc[i] = new double[Math.toIntExact(gradIn[i].size())];
      }
    }
    float[] dy = gradOut.toFloatArray();
    switch (op) {
      case Op.Binary b -> binary(b, in, dy, gradOut.shape(), acc);
      case DataOp.MatMul m -> matmul(in, dy, acc);
      case DataOp.Cast c -> {
        if (acc[0] != null && c.to() == DType.F32) {
          add(acc[0], dy);
        }
      }
      case DataOp.Shape s -> {}
      case DataOp.ConstantOfShape c -> {}
      default -> routed(op, in, dy, acc);
    }
    for (int i = 0; i < in.length; i++) {
      if (acc[i] != null) {
        float[] g = new float[acc[i].length];
        for (int k = 0; k < g.length; k++) {
          g[k] = (float) acc[i][k];
        }
        gradIn[i].copyFrom(g);
      }
    }
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

  private static void add(double[] acc, float[] g) {
    for (int k = 0; k < acc.length; k++) {
      acc[k] += g[k];
    }
  }

  /** Scatters {@code dy} back along the op's own element routing, one data input at a time. */
  private static void routed(Op op, Tensor[] in, float[] dy, double[][] acc) {
    for (int i = 0; i < in.length; i++) {
      if (acc[i] == null) {
        continue;
      }
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
          if (j == i) {
            Arrays.setAll(ids, k -> k);
          } else {
            Arrays.fill(ids, -1);
          }
          values[j] = Const.longs(ids, in[j].shape());
        }
      }
      Const from = Op.evaluate(op, types, values)[0];
      for (int o = 0; o < dy.length; o++) {
        long src = from.longAt(o);
        if (src >= 0) {
          acc[i][(int) src] += dy[o];
        }
      }
    }
  }

  /** For each element of {@code out}, the flat index of the {@code in} element it broadcasts. */
  static int[] broadcastMap(int[] in, int[] out) {
    int n = Math.toIntExact(Tensor.elementCount(out));
    int[] map = new int[n];
    int[] idx = new int[out.length];
    for (int o = 0; o < n; o++) {
      int src = 0;
      int stride = 1;
      for (int a = out.length - 1, b = in.length - 1; b >= 0; a--, b--) {
        if (in[b] != 1) {
          src += idx[a] * stride;
        }
        stride *= in[b];
      }
      map[o] = src;
      for (int a = out.length - 1; a >= 0; a--) {
        if (++idx[a] < out[a]) {
          break;
        }
        idx[a] = 0;
      }
    }
    return map;
  }

  private static void binary(Op.Binary op, Tensor[] in, float[] dy, int[] out, double[][] acc) {
    float[] a = in[0].toFloatArray();
    float[] b = in[1].toFloatArray();
    int[] ia = broadcastMap(in[0].shape(), out);
    int[] ib = broadcastMap(in[1].shape(), out);
    for (int o = 0; o < dy.length; o++) {
      double x = a[ia[o]];
      double y = b[ib[o]];
      double g = dy[o];
      double da;
      double db;
      switch (op.fn()) {
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
        default -> throw new AssertionError(op.fn());
      }
      if (acc[0] != null) {
        acc[0][ia[o]] += g * da;
      }
      if (acc[1] != null) {
        acc[1][ib[o]] += g * db;
      }
    }
  }

  /** MatMul with NumPy semantics: rank-1 operands promoted, batch dimensions broadcast. */
  private static void matmul(Tensor[] in, float[] dy, double[][] acc) {
    int[] as = in[0].rank() == 1 ? new int[] {1, in[0].dim(0)} : in[0].shape();
    int[] bs = in[1].rank() == 1 ? new int[] {in[1].dim(0), 1} : in[1].shape();
    int m = as[as.length - 2];
    int k = as[as.length - 1];
    int n = bs[bs.length - 1];
    int[] aBatch = Arrays.copyOf(as, as.length - 2);
    int[] bBatch = Arrays.copyOf(bs, bs.length - 2);
    int[] batch = Shapes.broadcast(aBatch, bBatch);
    int[] ia = broadcastMap(aBatch, batch);
    int[] ib = broadcastMap(bBatch, batch);
    float[] a = in[0].toFloatArray();
    float[] b = in[1].toFloatArray();
    for (int q = 0; q < ia.length; q++) {
      int ao = ia[q] * m * k;
      int bo = ib[q] * k * n;
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
