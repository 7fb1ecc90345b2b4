package dev.jrnn.backend.reference;

import dev.jrnn.Activation;
import dev.jrnn.ir.Shapes;

/**
 * The reference backend's non-recurrent ops as pure functions over double arrays with their shapes:
 * each forward and its backward, written once. The backend's nodes run them on their f32 tensors
 * (widened exactly, rounded once at the end), and the gradient tests run them in double, where
 * central differences can check a backward to 1e-7 or better. Arithmetic, concat and the
 * data-movement ops have their double forms beside their folds ({@code ir.Folding}) and backwards
 * ({@code spi.FoldBackward}).
 *
 * <p>A backward adds into the gradient arrays it is given (null: not wanted), so a caller starts
 * them at zero.
 */
final class OpMath {

  private OpMath() {}

  /** Rows of {@code table [vocab, dim]} for {@code ids [n]}: {@code y [n, dim]}. */
  static double[] embedding(int[] ids, double[] table, int dim) {
    double[] y = new double[ids.length * dim];
    for (int i = 0; i < ids.length; i++) {
      System.arraycopy(table, ids[i] * dim, y, i * dim, dim);
    }
    return y;
  }

  /** {@code dTable[ids[i]] += dy[i]}: a row used twice gets both gradients. */
  static void embeddingBackward(int[] ids, double[] dy, int dim, double[] dTable) {
    for (int i = 0; i < ids.length; i++) {
      for (int k = 0; k < dim; k++) {
        dTable[ids[i] * dim + k] += dy[i * dim + k];
      }
    }
  }

  /**
   * {@code y [rows, out] = x [rows, in] · wᵀ + b}; {@code w [out, in]}, {@code b [out]} or null.
   */
  static double[] linear(double[] x, double[] w, double[] b, int in, int out) {
    int rows = in == 0 ? 0 : x.length / in;
    double[] y = new double[rows * out];
    for (int r = 0; r < rows; r++) {
      for (int o = 0; o < out; o++) {
        double s = b == null ? 0 : b[o];
        for (int i = 0; i < in; i++) {
          s += x[r * in + i] * w[o * in + i];
        }
        y[r * out + o] = s;
      }
    }
    return y;
  }

  /** {@code dx += dy·w}, {@code dw += dyᵀ·x}, {@code db += Σ_rows dy}. */
  static void linearBackward(
      double[] x, double[] w, double[] dy, int in, int out, double[] dx, double[] dw, double[] db) {
    int rows = in == 0 ? 0 : x.length / in;
    for (int r = 0; r < rows; r++) {
      for (int o = 0; o < out; o++) {
        double g = dy[r * out + o];
        if (db != null) {
          db[o] += g;
        }
        for (int i = 0; i < in; i++) {
          if (dx != null) {
            dx[r * in + i] += g * w[o * in + i];
          }
          if (dw != null) {
            dw[o * in + i] += g * x[r * in + i];
          }
        }
      }
    }
  }

  /** {@code fn} element by element. */
  static double[] unary(Activation fn, double[] x) {
    double[] y = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = fn.apply(x[i]);
    }
    return y;
  }

  /** {@code dx += dy ⊙ fn'(x)}. */
  static void unaryBackward(Activation fn, double[] x, double[] dy, double[] dx) {
    for (int i = 0; i < x.length; i++) {
      dx[i] += dy[i] * fn.derivative(x[i]);
    }
  }

  /** Softmax (or log-softmax) of {@code x} (of {@code shape}) along {@code axis}. */
  static double[] softmax(int[] shape, int axis, boolean log, double[] x) {
    int ax = Shapes.axis(axis, shape.length);
    int len = shape[ax];
    int inner = inner(shape, ax);
    double[] y = new double[x.length];
    int outer = len * inner == 0 ? 0 : x.length / (len * inner);
    for (int o = 0; o < outer; o++) {
      for (int q = 0; q < inner; q++) {
        int base = o * len * inner + q;
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < len; k++) {
          max = Math.max(max, x[base + k * inner]);
        }
        double sum = 0;
        for (int k = 0; k < len; k++) {
          sum += Math.exp(x[base + k * inner] - max);
        }
        for (int k = 0; k < len; k++) {
          double z = x[base + k * inner] - max;
          y[base + k * inner] = log ? z - Math.log(sum) : Math.exp(z) / sum;
        }
      }
    }
    return y;
  }

  /**
   * From the forward's output {@code y}: softmax {@code dx += y ⊙ (dy − Σ dy ⊙ y)}; log-softmax
   * {@code dx += dy − softmax(x) · Σ dy} (softmax(x) = exp(y)).
   */
  static void softmaxBackward(
      int[] shape, int axis, boolean log, double[] y, double[] dy, double[] dx) {
    int ax = Shapes.axis(axis, shape.length);
    int len = shape[ax];
    int inner = inner(shape, ax);
    int outer = len * inner == 0 ? 0 : y.length / (len * inner);
    for (int o = 0; o < outer; o++) {
      for (int q = 0; q < inner; q++) {
        int base = o * len * inner + q;
        double dot = 0;
        for (int k = 0; k < len; k++) {
          int at = base + k * inner;
          dot += log ? dy[at] : dy[at] * y[at];
        }
        for (int k = 0; k < len; k++) {
          int at = base + k * inner;
          dx[at] += log ? dy[at] - Math.exp(y[at]) * dot : y[at] * (dy[at] - dot);
        }
      }
    }
  }

  private static int inner(int[] shape, int ax) {
    int inner = 1;
    for (int i = ax + 1; i < shape.length; i++) {
      inner *= shape[i];
    }
    return inner;
  }

  /**
   * Flat offset of step {@code t} of batch row {@code n} in a {@code [T, N, C]}/{@code [N, T, C]}.
   */
  private static int row(boolean batchFirst, int[] shape, int t, int n) {
    int steps = batchFirst ? shape[1] : shape[0];
    int batch = batchFirst ? shape[0] : shape[1];
    return (batchFirst ? n * steps + t : t * batch + n) * shape[2];
  }

  /** Each batch row's output at its last valid step ({@code lengths} null: the last step). */
  static double[] lastStep(boolean batchFirst, int[] shape, double[] x, int[] lengths) {
    int steps = batchFirst ? shape[1] : shape[0];
    int batch = batchFirst ? shape[0] : shape[1];
    int c = shape[2];
    double[] y = new double[batch * c];
    for (int n = 0; n < batch; n++) {
      int t = (lengths == null ? steps : lengths[n]) - 1;
      System.arraycopy(x, row(batchFirst, shape, t, n), y, n * c, c);
    }
    return y;
  }

  /** {@code dx} at each row's last valid step {@code += dy}; a row of length 0 takes none. */
  static void lastStepBackward(
      boolean batchFirst, int[] shape, int[] lengths, double[] dy, double[] dx) {
    int steps = batchFirst ? shape[1] : shape[0];
    int batch = batchFirst ? shape[0] : shape[1];
    int c = shape[2];
    for (int n = 0; n < batch; n++) {
      int t = (lengths == null ? steps : lengths[n]) - 1;
      if (t < 0) {
        continue;
      }
      int base = row(batchFirst, shape, t, n);
      for (int k = 0; k < c; k++) {
        dx[base + k] += dy[n * c + k];
      }
    }
  }

  /** {@code x ⊙ mask} (the mask holds 0 and 1/(1−p)). */
  static double[] dropout(double[] x, float[] mask) {
    double[] y = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = x[i] * mask[i];
    }
    return y;
  }

  /** {@code dx += dy ⊙ mask}. */
  static void dropoutBackward(float[] mask, double[] dy, double[] dx) {
    for (int i = 0; i < dy.length; i++) {
      dx[i] += dy[i] * mask[i];
    }
  }
}
