package dev.jrnn.exec;

import dev.jrnn.DType;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.WeightSpec;
import java.util.SplittableRandom;

/**
 * The named initialisation schemes of {@link Weights#random(dev.jrnn.Graph, String, long)}. One
 * random stream per graph, consumed in weight order, so a seed gives the same weights every time.
 */
final class Initializers {

  private Initializers() {}

  static Weights random(IrGraph graph, String scheme, long seed) {
    boolean keras =
        switch (scheme) {
          case "pytorch" -> false;
          case "keras" -> true;
          default ->
              throw new IllegalArgumentException(
                  "unknown initialisation '" + scheme + "'; known: pytorch, keras");
        };
    SplittableRandom rnd = new SplittableRandom(seed);
    Weights w = Weights.empty();
    try {
      for (Node n : graph.nodes()) {
        for (WeightSpec s : n.weights()) {
          w.put(s.name(), keras ? keras(n, s, rnd) : s.random(rnd));
        }
      }
    } catch (RuntimeException e) {
      w.close();
      throw e;
    }
    return w;
  }

  /** Keras' default for this weight of node {@code n}. */
  private static Tensor keras(Node n, WeightSpec s, SplittableRandom rnd) {
    int[] shape = s.shape();
    String name = s.name();
    String suffix = name.substring(name.lastIndexOf('.') + 1);
    return switch (n.op()) {
      case Op.Embedding e -> uniform(shape, 0.05, rnd);
      case Op.Linear l -> suffix.equals("bias") ? zeros(shape) : glorot(shape, rnd);
      case Op.RecurrentLayer r ->
          switch (suffix) {
            case "W", "Wp" -> glorot(shape, rnd);
            case "R" -> orthogonal(shape[0], shape[1], rnd);
            case "bW" -> forgetBiasOne(r.spec(), shape);
            default -> zeros(shape); // bR, P
          };
      default -> s.random(rnd);
    };
  }

  private static Tensor zeros(int[] shape) {
    return Tensor.allocate(DType.F32, shape);
  }

  private static Tensor uniform(int[] shape, double limit, SplittableRandom rnd) {
    Tensor t = Tensor.allocate(DType.F32, shape);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) ((rnd.nextDouble() * 2 - 1) * limit));
    }
    return t;
  }

  /** Glorot-uniform for a {@code [fanOut, fanIn]} matrix: ±√(6 / (fanIn + fanOut)). */
  private static Tensor glorot(int[] shape, SplittableRandom rnd) {
    return uniform(shape, Math.sqrt(6.0 / (shape[0] + shape[1])), rnd);
  }

  /** 1 on the LSTM forget gate's input bias (Keras' {@code unit_forget_bias}), else 0. */
  private static Tensor forgetBiasOne(Recurrent spec, int[] shape) {
    Tensor t = zeros(shape);
    if (spec.cell() == Recurrent.Cell.LSTM) {
      int h = spec.hidden();
      for (int j = h; j < 2 * h; j++) { // gates i, f, g, o
        t.setFloat(j, 1f);
      }
    }
    return t;
  }

  /**
   * A {@code [rows, cols]} matrix ({@code rows ≥ cols}) with orthonormal columns: modified
   * Gram–Schmidt on a standard normal matrix, as Keras' Orthogonal (QR of a normal matrix).
   */
  static Tensor orthogonal(int rows, int cols, SplittableRandom rnd) {
    if (rows < cols) {
      throw new IllegalArgumentException("orthogonal needs rows >= cols, got " + rows + "x" + cols);
    }
    double[][] q = new double[cols][rows]; // column vectors
    for (int c = 0; c < cols; c++) {
      for (int r = 0; r < rows; r++) {
        double u1 = rnd.nextDouble();
        double u2 = rnd.nextDouble();
        q[c][r] = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
      }
    }
    for (int c = 0; c < cols; c++) {
      for (int p = 0; p < c; p++) {
        double dot = 0;
        for (int r = 0; r < rows; r++) {
          dot += q[c][r] * q[p][r];
        }
        for (int r = 0; r < rows; r++) {
          q[c][r] -= dot * q[p][r];
        }
      }
      double norm = 0;
      for (int r = 0; r < rows; r++) {
        norm += q[c][r] * q[c][r];
      }
      norm = Math.sqrt(norm);
      for (int r = 0; r < rows; r++) {
        q[c][r] /= norm;
      }
    }
    Tensor t = Tensor.allocate(DType.F32, rows, cols);
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t.setFloat((long) r * cols + c, (float) q[c][r]);
      }
    }
    return t;
  }
}
