package dev.jrnn.backend.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.Activation.Kind;
import dev.jrnn.DType;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.Folding;
import dev.jrnn.ir.Inference;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.Shapes;
import dev.jrnn.ir.TensorType;
import dev.jrnn.kernels.Arith;
import dev.jrnn.kernels.DropoutMask;
import dev.jrnn.spi.FoldBackward;
import dev.jrnn.spi.FoldKernel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The reference backward of every non-recurrent op and option against central differences in double
 * precision: {@code L = Σ r·y} (r random) of the op's double forward — the one the backend runs
 * ({@link OpMath}, {@code Folding}'s double arithmetic, a data-movement op's own fold) — with one
 * input or weight element moved by ±h, h = 1e-6, against the op's backward ({@link OpMath}, {@link
 * FoldBackward#gradients}) given r. Shapes include size 1 and odd sizes, broadcasting, ragged
 * lengths, repeated ids; inputs stay clear of the kinks. The largest difference per op is printed;
 * the bound is 1e-7 of max(1, |numeric|). (The recurrent stack: {@link RecurrentTapeGradientTest};
 * the losses: {@code train.LossGradientTest}.)
 */
class OpDoubleGradientTest {

  static final double H = 1e-6;
  static final double TOL = 1e-7;
  static final Map<String, Double> WORST = new TreeMap<>();

  interface Forward {
    double[] apply(double[][] x);
  }

  interface Backward {
    /** The gradient of each input given dL/dy (null for inputs without one). */
    double[][] apply(double[][] x, double[] dy);
  }

  /** One op with one option set: its inputs (those with a gradient), forward and backward. */
  record Case(String op, String name, double[][] x, Forward f, Backward b) {
    @Override
    public String toString() {
      return op + ": " + name;
    }
  }

  // ---------------------------------------------------------------- inputs

  /** Floats in ±scale (exact in f32 too, so the f32 kernels can run the same values). */
  static double[] random(Random r, int n, double scale) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
    }
    return v;
  }

  /** {@code v} with every element at least {@code gap} from each of {@code kinks}. */
  static double[] awayFrom(double[] v, double gap, double... kinks) {
    for (int i = 0; i < v.length; i++) {
      for (double k : kinks) {
        if (Math.abs(v[i] - k) < gap) {
          v[i] = (float) (k + (v[i] >= k ? gap : -gap));
        }
      }
    }
    return v;
  }

  static int size(int... shape) {
    return Math.toIntExact(Tensor.elementCount(shape));
  }

  static float[] floats(double[] v) {
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = (float) v[i];
    }
    return f;
  }

  // ---------------------------------------------------------------- cases

  static Stream<Case> cases() {
    Random r = new Random(20261201);
    List<Case> c = new ArrayList<>();
    embedding(c, r);
    linear(c, r);
    unary(c, r);
    softmax(c, r);
    lastStep(c, r);
    dropout(c, r);
    binary(c, r);
    matmul(c, r);
    dataOps(c, r);
    return c.stream();
  }

  static void embedding(List<Case> c, Random r) {
    int[][] idSets = {{3}, {0, 6, 2, 2, 6, 1}, {4, 4, 4}};
    for (int dim : new int[] {1, 3, 5}) {
      for (int[] ids : idSets) {
        int vocab = 7;
        c.add(
            new Case(
                "Embedding",
                "dim " + dim + ", ids " + Arrays.toString(ids),
                new double[][] {random(r, vocab * dim, 1)},
                x -> OpMath.embedding(ids, x[0], dim),
                (x, dy) -> {
                  double[] dt = new double[x[0].length];
                  OpMath.embeddingBackward(ids, dy, dim, dt);
                  return new double[][] {dt};
                }));
      }
    }
  }

  static void linear(List<Case> c, Random r) {
    int[][] shapes = {{1, 1, 1}, {3, 5, 1}, {4, 2, 3}, {7, 3, 6}, {1, 4, 2}}; // in, out, rows
    for (int[] s : shapes) {
      for (boolean bias : new boolean[] {true, false}) {
        int in = s[0];
        int out = s[1];
        int rows = s[2];
        double[][] x =
            bias
                ? new double[][] {
                  random(r, rows * in, 1), random(r, out * in, 1), random(r, out, 1)
                }
                : new double[][] {random(r, rows * in, 1), random(r, out * in, 1)};
        c.add(
            new Case(
                "Linear",
                "in " + in + ", out " + out + ", rows " + rows + (bias ? ", bias" : ""),
                x,
                v -> OpMath.linear(v[0], v[1], bias ? v[2] : null, in, out),
                (v, dy) -> {
                  double[] dx = new double[v[0].length];
                  double[] dw = new double[v[1].length];
                  double[] db = bias ? new double[out] : null;
                  OpMath.linearBackward(v[0], v[1], dy, in, out, dx, dw, db);
                  return bias ? new double[][] {dx, dw, db} : new double[][] {dx, dw};
                }));
      }
    }
  }

  static void unary(List<Case> c, Random r) {
    List<Activation> fns = new ArrayList<>();
    for (Kind k : Kind.values()) {
      fns.add(Activation.of(k));
    }
    fns.add(Activation.of(Kind.LEAKY_RELU, 0.3f, 0));
    fns.add(Activation.of(Kind.LEAKY_RELU, -0.3f, 0));
    fns.add(Activation.of(Kind.THRESHOLDED_RELU, 0.5f, 0));
    fns.add(Activation.of(Kind.THRESHOLDED_RELU, -0.2f, 0));
    fns.add(Activation.of(Kind.ELU, 0.7f, 0));
    fns.add(Activation.of(Kind.ELU, -0.5f, 0));
    fns.add(Activation.of(Kind.HARD_SIGMOID, 0.3f, 0.4f));
    fns.add(Activation.of(Kind.SCALED_TANH, 1.2f, 0.8f));
    fns.add(Activation.of(Kind.AFFINE, 0.5f, 0.1f));
    for (Activation fn : fns) {
      for (int n : new int[] {1, 7, 24}) {
        double[] x = random(r, n, 3);
        if (fn.kind() == Kind.SOFTPLUS && n > 1) {
          x[0] = 34.5; // the large-input branch
        }
        awayFrom(x, 1e-3, kinks(fn));
        c.add(
            new Case(
                fn.onnxName(),
                fn + ", " + n + " elements",
                new double[][] {x},
                v -> OpMath.unary(fn, v[0]),
                (v, dy) -> {
                  double[] dx = new double[v[0].length];
                  OpMath.unaryBackward(fn, v[0], dy, dx);
                  return new double[][] {dx};
                }));
      }
    }
  }

  /** Where {@code fn}'s slope jumps. */
  static double[] kinks(Activation fn) {
    return switch (fn.kind()) {
      case RELU, LEAKY_RELU, ELU -> new double[] {0};
      case THRESHOLDED_RELU -> new double[] {fn.alpha()};
      case HARD_SIGMOID -> new double[] {-fn.beta() / fn.alpha(), (1 - fn.beta()) / fn.alpha()};
      case SOFTPLUS -> new double[] {30};
      default -> new double[0];
    };
  }

  static void softmax(List<Case> c, Random r) {
    int[][] shapes = {{1, 1}, {5}, {3, 5}, {2, 3, 4}, {2, 3, 4}, {2, 3, 4}, {4, 1}};
    int[] axes = {-1, 0, -1, 1, 0, -1, 0};
    for (int k = 0; k < shapes.length; k++) {
      int[] shape = shapes[k];
      int axis = axes[k];
      for (boolean log : new boolean[] {false, true}) {
        c.add(
            new Case(
                log ? "LogSoftmax" : "Softmax",
                Arrays.toString(shape) + " axis " + axis,
                new double[][] {random(r, size(shape), 3)},
                v -> OpMath.softmax(shape, axis, log, v[0]),
                (v, dy) -> {
                  double[] y = OpMath.softmax(shape, axis, log, v[0]);
                  double[] dx = new double[v[0].length];
                  OpMath.softmaxBackward(shape, axis, log, y, dy, dx);
                  return new double[][] {dx};
                }));
      }
    }
  }

  static void lastStep(List<Case> c, Random r) {
    record S(int t, int n, int ch, int[] len) {}
    List<S> all =
        List.of(
            new S(1, 1, 1, null),
            new S(4, 3, 2, null),
            new S(4, 3, 2, new int[] {3, 1, 4}),
            new S(5, 1, 3, new int[] {2}),
            new S(3, 5, 1, new int[] {1, 3, 2, 3, 1}));
    for (S s : all) {
      for (boolean bf : new boolean[] {false, true}) {
        int[] shape = bf ? new int[] {s.n(), s.t(), s.ch()} : new int[] {s.t(), s.n(), s.ch()};
        c.add(
            new Case(
                "LastStep",
                (bf ? "[N, T, C] " : "[T, N, C] ")
                    + Arrays.toString(shape)
                    + (s.len() == null ? "" : ", lengths " + Arrays.toString(s.len())),
                new double[][] {random(r, size(shape), 1)},
                v -> OpMath.lastStep(bf, shape, v[0], s.len()),
                (v, dy) -> {
                  double[] dx = new double[v[0].length];
                  OpMath.lastStepBackward(bf, shape, s.len(), dy, dx);
                  return new double[][] {dx};
                }));
      }
    }
  }

  static void dropout(List<Case> c, Random r) {
    for (float p : new float[] {0f, 0.3f, 0.75f}) {
      for (int n : new int[] {1, 7, 24}) {
        float[] mask = new float[n];
        DropoutMask.fill(DropoutMask.stream(42, "drop"), p, 0, mask, 0, n);
        c.add(
            new Case(
                "Dropout",
                "p " + p + ", " + n + " elements",
                new double[][] {random(r, n, 1)},
                v -> OpMath.dropout(v[0], mask),
                (v, dy) -> {
                  double[] dx = new double[n];
                  OpMath.dropoutBackward(mask, dy, dx);
                  return new double[][] {dx};
                }));
      }
    }
  }

  static void binary(List<Case> c, Random r) {
    int[][][] pairs = {
      {{2, 3}, {2, 3}},
      {{2, 3}, {3}},
      {{3}, {2, 3}},
      {{2, 1, 4}, {3, 1}},
      {{}, {2, 2}},
      {{1}, {5}},
      {{1, 1}, {1, 1}}
    };
    for (Arith fn : Arith.values()) {
      for (int[][] p : pairs) {
        int[] as = p[0];
        int[] bs = p[1];
        int[] out = Shapes.broadcast(as, bs);
        long[] ia = Folding.broadcastIndex(as, out);
        long[] ib = Folding.broadcastIndex(bs, out);
        double[] b = random(r, size(bs), 2);
        if (fn == Arith.DIV) {
          awayFrom(b, 0.5, 0);
        }
        Op.Binary op = new Op.Binary(fn);
        c.add(
            new Case(
                op.kind(),
                Arrays.toString(as) + " " + Arrays.toString(bs),
                new double[][] {random(r, size(as), 2), b},
                v -> Folding.binary(fn, v[0], ia, v[1], ib),
                (v, dy) -> {
                  Tensor[] in = {Tensor.allocate(DType.F32, as), Tensor.allocate(DType.F32, bs)};
                  try {
                    return FoldBackward.gradients(op, in, v, dy, new boolean[] {true, true});
                  } finally {
                    in[0].close();
                    in[1].close();
                  }
                }));
      }
    }
  }

  static void matmul(List<Case> c, Random r) {
    int[][][] pairs = {
      {{2, 3}, {3, 4}},
      {{1, 1}, {1, 1}},
      {{3}, {3, 2}},
      {{2, 3}, {3}},
      {{5}, {5}},
      {{2, 2, 3}, {3, 4}},
      {{2, 1, 2, 3}, {3, 3, 1}}
    };
    DataOp.MatMul op = new DataOp.MatMul();
    for (int[][] p : pairs) {
      int[] as = p[0];
      int[] bs = p[1];
      c.add(
          new Case(
              "MatMul",
              Arrays.toString(as) + " " + Arrays.toString(bs),
              new double[][] {random(r, size(as), 1), random(r, size(bs), 1)},
              v -> Folding.matmul(v[0], as, v[1], bs),
              (v, dy) -> {
                Tensor[] in = {Tensor.allocate(DType.F32, as), Tensor.allocate(DType.F32, bs)};
                try {
                  return FoldBackward.gradients(op, in, v, dy, new boolean[] {true, true});
                } finally {
                  in[0].close();
                  in[1].close();
                }
              }));
    }
  }

  /**
   * A data-movement op on F32 inputs of {@code shapes} and integer inputs {@code ints} (in input
   * order; null where an F32 input goes, or an absent optional one). Its double forward sends each
   * output element from where the op's own fold says ({@link FoldBackward#routing}), and is checked
   * to equal {@link FoldKernel} on the same values, bit for bit.
   */
  static void dataOp(List<Case> c, Random r, Op op, String name, int[][] shapes, Tensor... ints) {
    int n = ints.length;
    Tensor[] in = new Tensor[n];
    List<Integer> data = new ArrayList<>();
    for (int i = 0, s = 0; i < n; i++) {
      if (ints[i] != null) {
        in[i] = ints[i];
      } else if (s < shapes.length) {
        in[i] = Tensor.allocate(DType.F32, shapes[s++]);
        data.add(i);
      }
    }
    double[][] x = new double[data.size()][];
    long[][] from = new long[data.size()][];
    for (int k = 0; k < x.length; k++) {
      x[k] = random(r, Math.toIntExact(in[data.get(k)].size()), 1);
      from[k] = FoldBackward.routing(op, in, data.get(k));
    }
    Forward f =
        v -> {
          double[] y = new double[from[0].length];
          for (int k = 0; k < v.length; k++) {
            for (int o = 0; o < y.length; o++) {
              if (from[k][o] >= 0) {
                y[o] += v[k][(int) from[k][o]];
              }
            }
          }
          return y;
        };
    // the routed forward is the op's fold
    for (int k = 0; k < x.length; k++) {
      in[data.get(k)].copyFrom(floats(x[k]));
    }
    TensorType[] types = new TensorType[n];
    Const[] known = new Const[n];
    for (int i = 0; i < n; i++) {
      if (in[i] != null) {
        types[i] = TensorType.fixed(in[i].dtype(), in[i].shape());
        known[i] = in[i].dtype() == DType.F32 ? null : Const.of(in[i]);
      }
    }
    int[] shape = Inference.of(name, op, types, known, false).types()[0].shape();
    Tensor out = Tensor.allocate(DType.F32, shape);
    new FoldKernel(op).run(in, new Tensor[] {out}, null);
    assertArrayEquals(out.toFloatArray(), floats(f.apply(x)), 0f, op.kind() + " " + name);
    out.close();
    c.add(
        new Case(
            op.kind(),
            name,
            x,
            f,
            (v, dy) -> {
              double[][] vx = new double[n][];
              boolean[] wanted = new boolean[n];
              for (int k = 0; k < v.length; k++) {
                vx[data.get(k)] = v[k];
                wanted[data.get(k)] = true;
              }
              double[][] g = FoldBackward.gradients(op, in, vx, dy, wanted);
              double[][] out2 = new double[v.length][];
              for (int k = 0; k < v.length; k++) {
                out2[k] = g[data.get(k)];
              }
              return out2;
            }));
  }

  static Tensor ints(int[] v, int... shape) {
    return Tensor.of(v, shape);
  }

  static void dataOps(List<Case> c, Random r) {
    dataOp(
        c, r, new Op.Concat(0), "axis 0, [1, 3] [2, 3]", new int[][] {{1, 3}, {2, 3}}, null, null);
    dataOp(
        c,
        r,
        new Op.Concat(1),
        "axis 1, [2, 1, 2] [2, 3, 2] [2, 1, 2]",
        new int[][] {{2, 1, 2}, {2, 3, 2}, {2, 1, 2}},
        null,
        null,
        null);
    dataOp(
        c,
        r,
        new Op.Concat(-1),
        "axis -1, [3, 2] [3, 5]",
        new int[][] {{3, 2}, {3, 5}},
        null,
        null);
    dataOp(
        c,
        r,
        new DataOp.Gather(0),
        "axis 0, repeated and negative indices",
        new int[][] {{5, 3}},
        null,
        ints(new int[] {4, 0, -1, 2, 4}, 5));
    dataOp(
        c,
        r,
        new DataOp.Gather(1),
        "axis 1, 2-d indices",
        new int[][] {{2, 4, 3}},
        null,
        ints(new int[] {3, 1, 1, 0}, 2, 2));
    dataOp(
        c,
        r,
        new DataOp.Transpose(new int[] {1, 0}),
        "[3, 5]",
        new int[][] {{3, 5}},
        (Tensor) null);
    dataOp(
        c,
        r,
        new DataOp.Transpose(new int[] {2, 0, 1}),
        "[2, 3, 4]",
        new int[][] {{2, 3, 4}},
        (Tensor) null);
    dataOp(
        c,
        r,
        new DataOp.Reshape(false),
        "[2, 3, 4] to [0, -1]",
        new int[][] {{2, 3, 4}},
        null,
        ints(new int[] {0, -1}, 2));
    dataOp(
        c,
        r,
        new DataOp.Squeeze(new int[] {1}),
        "[3, 1, 2]",
        new int[][] {{3, 1, 2}},
        (Tensor) null);
    dataOp(
        c,
        r,
        new DataOp.Unsqueeze(new int[] {0, 3}),
        "[2, 3]",
        new int[][] {{2, 3}},
        (Tensor) null);
    dataOp(
        c,
        r,
        new DataOp.Slice(),
        "[5, 4], rows 1..4, columns 3..0 step -2",
        new int[][] {{5, 4}},
        null,
        ints(new int[] {1, 3}, 2),
        ints(new int[] {4, -5}, 2),
        ints(new int[] {0, 1}, 2),
        ints(new int[] {1, -2}, 2));
    dataOp(
        c,
        r,
        new DataOp.Slice(),
        "[7], 2..7 step 2",
        new int[][] {{7}},
        null,
        ints(new int[] {2}, 1),
        ints(new int[] {7}, 1),
        null,
        ints(new int[] {2}, 1));
    dataOp(
        c,
        r,
        new DataOp.Expand(),
        "[3, 1] to [2, 3, 4]",
        new int[][] {{3, 1}},
        null,
        ints(new int[] {2, 3, 4}, 3));
    dataOp(c, r, new DataOp.Identity(), "[2, 3]", new int[][] {{2, 3}}, (Tensor) null);
    dataOp(
        c,
        r,
        new DataOp.Flatten(2),
        "[2, 3, 2, 1] at 2",
        new int[][] {{2, 3, 2, 1}},
        (Tensor) null);
    dataOp(c, r, new DataOp.Cast(DType.F32), "F32 to F32", new int[][] {{3, 1}}, (Tensor) null);
  }

  // ---------------------------------------------------------------- the check

  static double loss(Forward f, double[][] x, double[] r) {
    double[] y = f.apply(x);
    double s = 0;
    for (int i = 0; i < y.length; i++) {
      s += r[i] * y[i];
    }
    return s;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void backwardMatchesCentralDifferencesInDouble(Case c) {
    Random rnd = new Random(c.toString().hashCode());
    int ny = c.f().apply(c.x()).length;
    double[] r = new double[ny];
    for (int i = 0; i < ny; i++) {
      r[i] = rnd.nextGaussian();
    }
    double[][] g = c.b().apply(c.x(), r);
    double worst = 0;
    String at = "";
    for (int i = 0; i < c.x().length; i++) {
      assertTrue(g[i] != null && g[i].length == c.x()[i].length, c + ": gradient of input " + i);
      for (int k = 0; k < c.x()[i].length; k++) {
        double keep = c.x()[i][k];
        c.x()[i][k] = keep + H;
        double plus = loss(c.f(), c.x(), r);
        c.x()[i][k] = keep - H;
        double minus = loss(c.f(), c.x(), r);
        c.x()[i][k] = keep;
        double numeric = (plus - minus) / (2 * H);
        double err = Math.abs(g[i][k] - numeric) / Math.max(1, Math.abs(numeric));
        if (err > worst) {
          worst = err;
          at = "input " + i + "[" + k + "]: analytic " + g[i][k] + ", numeric " + numeric;
        }
      }
    }
    synchronized (WORST) {
      WORST.merge(c.op(), worst, Math::max);
    }
    System.out.printf("double FD %-60s %.2e%n", c, worst);
    assertTrue(worst <= TOL, c + ": " + at);
  }

  @AfterAll
  static void report() {
    WORST.forEach(
        (op, w) -> System.out.printf("double FD, largest difference, %-12s %.2e%n", op, w));
  }
}
