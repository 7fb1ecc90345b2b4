package dev.jrnn.backend.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.Arith;
import dev.jrnn.testing.Fixture;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The java backend's element-wise, softmax and data-movement kernels against the reference backend,
 * on shapes that hit vector tails, broadcasting patterns and size-1 axes.
 */
class JavaOpsTest {

  private static final SplittableRandom RND = new SplittableRandom(42);

  private static Tensor random(int... shape) {
    Tensor t = Tensor.allocate(DType.F32, shape);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) (RND.nextDouble() * 6 - 3));
    }
    return t;
  }

  /** Runs {@code build} on both backends with random inputs of the given shapes. */
  private static double compare(
      BiFunction<IrGraph.Builder, List<IrValue>, IrValue> build, int[]... shapes) {
    IrGraph.Builder b = IrGraph.builder();
    List<IrValue> ins = new ArrayList<>();
    for (int i = 0; i < shapes.length; i++) {
      Dim[] dims = new Dim[shapes[i].length];
      for (int k = 0; k < dims.length; k++) {
        dims[k] = Dim.of(shapes[i][k]);
      }
      ins.add(b.input("x" + i, DType.F32, dims));
    }
    b.output("y", build.apply(b, ins));
    Graph g = b.build();
    Map<String, Tensor> feed = new LinkedHashMap<>();
    try (Weights w = Weights.empty()) {
      for (int i = 0; i < shapes.length; i++) {
        feed.put("x" + i, random(shapes[i]));
      }
      try (Session ref = Session.open(g, w, Options.backend("reference"));
          Session java = Session.open(g, w, Options.backend("java"));
          Result a = ref.run(feed);
          Result c = java.run(feed)) {
        assertArrayEquals(a.get("y").shape(), c.get("y").shape());
        return Fixture.maxAbsDiff(a.get("y"), c.get("y"));
      } finally {
        feed.values().forEach(Tensor::close);
      }
    }
  }

  @Test
  void broadcastArithmetic() {
    int[][][] cases = {
      {{37}, {37}},
      {{5, 3, 30}, {30}},
      {{5, 3, 30}, {1, 1, 30}},
      {{30}, {5, 3, 30}},
      {{4, 1}, {1, 17}},
      {{4, 17}, {4, 1}},
      {{2, 3, 1, 5}, {3, 4, 1}},
      {{}, {6, 7}},
      {{6, 7}, {}},
      {{1, 1}, {1}},
      {{3, 1, 33}, {1, 2, 33}},
    };
    for (Arith k : Arith.values()) {
      for (int[][] c : cases) {
        double d =
            compare((b, x) -> b.node(null, new Op.Binary(k), x.get(0), x.get(1))[0], c[0], c[1]);
        assertTrue(d <= 1e-6, k + " " + java.util.Arrays.deepToString(c) + ": " + d);
      }
    }
  }

  @Test
  void activationsAndSoftmax() {
    for (int n : new int[] {1, 7, 16, 17, 33, 100}) {
      for (Activation.Kind kind : Activation.Kind.values()) {
        Activation k = Activation.of(kind, 0.7f, 0.3f);
        double d = compare((b, x) -> b.node(null, new Op.Unary(k), x.get(0))[0], new int[] {3, n});
        assertTrue(d <= 1e-6, k + " n=" + n + ": " + d);
      }
      for (boolean log : new boolean[] {false, true}) {
        for (int axis : new int[] {-1, 0, 1}) {
          double d =
              compare(
                  (b, x) -> b.node(null, new Op.Softmax(axis, log), x.get(0))[0],
                  new int[] {5, n, 3});
          assertTrue(d <= 1e-6, "softmax log=" + log + " axis=" + axis + " n=" + n + ": " + d);
        }
      }
    }
  }

  @Test
  void transposes() {
    int[][] shapes = {{4, 1, 3, 5}, {2, 3, 4, 5}, {1, 6, 1, 7}, {17, 9}};
    int[][] perms = {{0, 2, 1, 3}, {3, 2, 1, 0}, {1, 0, 3, 2}, {0, 1, 3, 2}, {2, 0, 1, 3}};
    for (int[] s : shapes) {
      if (s.length == 2) {
        double d = compare((b, x) -> b.node(null, new DataOp.Transpose(null), x.get(0))[0], s);
        assertTrue(d == 0, "transpose " + java.util.Arrays.toString(s));
        continue;
      }
      for (int[] p : perms) {
        double d = compare((b, x) -> b.node(null, new DataOp.Transpose(p), x.get(0))[0], s);
        assertTrue(
            d == 0, "perm " + java.util.Arrays.toString(p) + " of " + java.util.Arrays.toString(s));
      }
    }
  }

  @Test
  void slices() {
    long big = Long.MAX_VALUE;
    long[][][] cases = { // {starts, ends, axes, steps}
      {{0}, {1}, {0}, {1}},
      {{1}, {big}, {1}, {1}},
      {{-2, 1}, {big, 4}, {-1, 1}, {1, 2}},
      {{-1}, {-big}, {2}, {-1}},
      {{3, 0}, {0, 2}, {0, 2}, {-2, 1}},
      {{5}, {2}, {1}, {1}}, // empty
    };
    for (long[][] c : cases) {
      for (int[] shape : new int[][] {{4, 5, 6}, {2, 7, 17}}) {
        double d =
            compare(
                (b, x) ->
                    b.node(
                            null,
                            new DataOp.Slice(),
                            x.get(0),
                            b.constant("starts", Const.vector(c[0])),
                            b.constant("ends", Const.vector(c[1])),
                            b.constant("axes", Const.vector(c[2])),
                            b.constant("steps", Const.vector(c[3])))[0],
                shape);
        assertTrue(
            d == 0, java.util.Arrays.deepToString(c) + " of " + java.util.Arrays.toString(shape));
      }
    }
  }

  @Test
  void shapeOnlyOpsCopy() {
    int[] s = {2, 1, 3, 4};
    assertTrue(
        compare(
                (b, x) ->
                    b.node(
                            null,
                            new DataOp.Reshape(false),
                            x.get(0),
                            b.constant("shape", Const.vector(6, -1)))[0],
                s)
            == 0);
    assertTrue(
        compare((b, x) -> b.node(null, new DataOp.Squeeze(new int[] {1}), x.get(0))[0], s) == 0);
    assertTrue(
        compare((b, x) -> b.node(null, new DataOp.Unsqueeze(new int[] {0}), x.get(0))[0], s) == 0);
    assertTrue(compare((b, x) -> b.node(null, new DataOp.Flatten(2), x.get(0))[0], s) == 0);
    assertTrue(compare((b, x) -> b.node(null, new DataOp.Identity(), x.get(0))[0], s) == 0);
  }
}
