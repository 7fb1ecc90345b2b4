package dev.jrnn.onednn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import dev.jrnn.spi.TrainableNode;
import dev.jrnn.testing.Fixture;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * forward_training and the backward primitives through {@link TrainableNode}, against torch
 * autograd: outputs at ≤ 1e-5, every input and weight gradient at ≤ 1e-5.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OneDnnTrainingTest {

  static final double OUTPUT_TOL = 1e-5;
  static final double GRAD_TOL = 1e-5;

  private final Map<String, double[]> worst = new ConcurrentHashMap<>();

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.jrnn.testing.Fixture#gradientNames")
  void gradientsMatchAutograd(String name) {
    Backend b = Backends.byName("onednn");
    assertTrue(b.availability().available(), b.availability().reason());
    List<Tensor> owned = new ArrayList<>();
    try (Fixture f = Fixture.loadGradients(name);
        Backend.Context ctx = b.open(Options.backend("onednn").threads(2));
        DirectExec ec = new DirectExec()) {
      Node node = IrGraph.of(f.graph()).node("rnn");
      TrainableNode t = ctx.compileForTraining(node, f.weightViews());
      assertNotNull(t, "onednn should train " + name);
      // Slots: x, lengths, h0, c0 in; y, hN, cN out.
      Tensor[] in = new Tensor[node.inputCount()];
      in[Op.RecurrentLayer.X] = f.tensor("x");
      in[Op.RecurrentLayer.H0] = f.has("h0") ? f.tensor("h0") : null;
      if (f.has("c0")) {
        in[Op.RecurrentLayer.C0] = f.tensor("c0");
      }
      Tensor[] out = new Tensor[node.outputs().size()];
      out[Op.RecurrentLayer.Y] = like(f.tensor("y"), owned);
      out[Op.RecurrentLayer.HN] = like(f.tensor("hN"), owned);
      if (f.has("cN")) {
        out[Op.RecurrentLayer.CN] = like(f.tensor("cN"), owned);
      }
      try (TrainableNode.Saved saved = t.forward(in, out, ec)) {
        double outDiff =
            Math.max(
                Fixture.maxAbsDiff(f.tensor("y"), out[Op.RecurrentLayer.Y]),
                Fixture.maxAbsDiff(f.tensor("hN"), out[Op.RecurrentLayer.HN]));
        if (f.has("cN")) {
          outDiff =
              Math.max(outDiff, Fixture.maxAbsDiff(f.tensor("cN"), out[Op.RecurrentLayer.CN]));
        }
        Tensor[] gradOut = new Tensor[out.length];
        gradOut[Op.RecurrentLayer.Y] = f.tensor("dy");
        gradOut[Op.RecurrentLayer.HN] = f.tensor("dhN");
        if (f.has("dcN")) {
          gradOut[Op.RecurrentLayer.CN] = f.tensor("dcN");
        }
        Tensor[] gradIn = new Tensor[in.length];
        gradIn[Op.RecurrentLayer.X] = like(f.tensor("x"), owned);
        if (f.has("grad.h0")) {
          gradIn[Op.RecurrentLayer.H0] = like(f.tensor("grad.h0"), owned);
        }
        if (f.has("grad.c0")) {
          gradIn[Op.RecurrentLayer.C0] = like(f.tensor("grad.c0"), owned);
        }
        Map<String, Tensor> grads = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> w : f.weightViews().entrySet()) {
          grads.put(w.getKey(), like(w.getValue(), owned)); // zeros: backward adds into them
        }
        t.backward(saved, in, out, gradOut, gradIn, grads, ec);
        double gradDiff = Fixture.maxAbsDiff(f.tensor("grad.x"), gradIn[Op.RecurrentLayer.X]);
        String at = "x";
        for (String s : List.of("h0", "c0")) {
          int slot = s.equals("h0") ? Op.RecurrentLayer.H0 : Op.RecurrentLayer.C0;
          if (f.has("grad." + s)) {
            double d = Fixture.maxAbsDiff(f.tensor("grad." + s), gradIn[slot]);
            if (d > gradDiff) {
              gradDiff = d;
              at = s;
            }
          }
        }
        for (Map.Entry<String, Tensor> e : grads.entrySet()) {
          double d = Fixture.maxAbsDiff(f.tensor("grad." + e.getKey()), e.getValue());
          if (d > gradDiff) {
            gradDiff = d;
            at = e.getKey();
          }
        }
        worst.put(name, new double[] {outDiff, gradDiff});
        System.out.printf(
            "onednn training %-26s outputs %.2e, gradients %.2e (%s)%n",
            name, outDiff, gradDiff, at);
        assertTrue(outDiff <= OUTPUT_TOL, name + ": outputs differ by " + outDiff);
        assertTrue(gradDiff <= GRAD_TOL, name + ": gradient of " + at + " differs by " + gradDiff);
      }
    } finally {
      owned.forEach(Tensor::close);
    }
  }

  @AfterAll
  void summary() {
    double out = 0;
    double grad = 0;
    String outAt = "";
    String gradAt = "";
    for (Map.Entry<String, double[]> e : worst.entrySet()) {
      if (e.getValue()[0] >= out) {
        out = e.getValue()[0];
        outAt = e.getKey();
      }
      if (e.getValue()[1] >= grad) {
        grad = e.getValue()[1];
        gradAt = e.getKey();
      }
    }
    System.out.printf(
        "onednn training: %d fixtures, largest output diff %.2e (%s), gradient diff %.2e (%s)%n",
        worst.size(), out, outAt, grad, gradAt);
  }

  /** Outputs and gradients of one forward and backward through {@code t}, all gradients wanted. */
  private static Map<String, float[]> train(
      TrainableNode t, Node node, Tensor x, Map<String, int[]> weightShapes, DirectExec ec) {
    List<Tensor> owned = new ArrayList<>();
    try {
      Recurrent spec = ((Op.RecurrentLayer) node.op()).spec();
      int steps = x.dim(0);
      int batch = x.dim(1);
      int ld = spec.layers() * spec.directions();
      int c = spec.outputSize();
      Tensor[] in = {x, null, null, null};
      Tensor[] out = {
        own(Tensor.allocate(DType.F32, steps, batch, c), owned),
        own(Tensor.allocate(DType.F32, ld, batch, spec.outputHidden()), owned),
        own(Tensor.allocate(DType.F32, ld, batch, spec.hidden()), owned)
      };
      Map<String, float[]> got = new LinkedHashMap<>();
      try (TrainableNode.Saved saved = t.forward(in, out, ec)) {
        Tensor[] gradOut = {OneDnnBackendTest.random(5, steps, batch, c), null, null};
        owned.add(gradOut[0]);
        Tensor[] gradIn = {like(x, owned), null, null, null};
        Map<String, Tensor> grads = new LinkedHashMap<>();
        weightShapes.forEach((k, v) -> grads.put(k, own(Tensor.allocate(DType.F32, v), owned)));
        t.backward(saved, in, out, gradOut, gradIn, grads, ec);
        got.put("y", out[0].toFloatArray());
        got.put("hN", out[1].toFloatArray());
        got.put("grad.x", gradIn[0].toFloatArray());
        grads.forEach((k, v) -> got.put("grad." + k, v.toFloatArray()));
      }
      return got;
    } finally {
      owned.forEach(Tensor::close);
    }
  }

  private static Map<String, Tensor> nodeWeights(Node node, Weights w) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    node.weights().forEach(s -> m.put(s.name(), w.get(s.name())));
    return m;
  }

  private static Map<String, int[]> shapes(Node node) {
    Map<String, int[]> m = new LinkedHashMap<>();
    node.weights().forEach(s -> m.put(s.name(), s.shape()));
    return m;
  }

  private static void assertSame(Map<String, float[]> want, Map<String, float[]> got, float tol) {
    assertEquals(want.keySet(), got.keySet());
    want.forEach((k, v) -> assertArrayEquals(v, got.get(k), tol, k));
  }

  /** updateWeights rewrites the weights of primitives made before it, inference and training. */
  @Test
  void updatedWeightsReachPrimitivesMadeBefore() {
    Graph g = OneDnnBackendTest.graph(Recurrent.lstm(16).layers(2), false); // I=12: 2 groups
    Node node = IrGraph.of(g).node("rnn");
    Backend b = Backends.byName("onednn");
    try (Weights a = Weights.random(g, 31);
        Weights w = Weights.random(g, 32);
        Tensor x = OneDnnBackendTest.random(33, 5, 3, 12);
        Backend.Context ctx = b.open(Options.backend("onednn").threads(1));
        Session ref = Session.open(g, w, Options.backend("reference"));
        Result want = ref.run(Map.of("x", x));
        DirectExec ec = new DirectExec()) {
      TrainableNode t = ctx.compileForTraining(node, nodeWeights(node, a));
      TrainableNode fresh = ctx.compileForTraining(node, nodeWeights(node, w));
      Map<String, float[]> before = train(t, node, x, shapes(node), ec); // makes the primitives
      try (Tensor y = Tensor.allocate(DType.F32, 5, 3, 16);
          Tensor h = Tensor.allocate(DType.F32, 2, 3, 16)) {
        t.run(new Tensor[] {x, null, null, null}, new Tensor[] {y, h, null}, ec);
        t.updateWeights(nodeWeights(node, w));
        t.run(new Tensor[] {x, null, null, null}, new Tensor[] {y, h, null}, ec);
        assertArrayEquals(want.get("y").toFloatArray(), y.toFloatArray(), 1e-5f);
        assertArrayEquals(want.get("h").toFloatArray(), h.toFloatArray(), 1e-5f);
      }
      Map<String, float[]> after = train(t, node, x, shapes(node), ec);
      assertSame(train(fresh, node, x, shapes(node), ec), after, 1e-6f);
      assertArrayEquals(want.get("y").toFloatArray(), after.get("y"), 1e-5f);
      assertTrue(Math.abs(before.get("y")[0] - after.get("y")[0]) > 0, "weights changed nothing");
    }
  }

  /**
   * A forward's saved pass holds its shape's primitives: backward runs the primitives whose
   * workspace it reads even after more shapes than the cache keeps went through.
   */
  @Test
  void aSavedPassOutlivesTheEvictionOfItsShape() {
    Graph g = OneDnnBackendTest.graph(Recurrent.lstm(16).bidirectional(), false);
    Node node = IrGraph.of(g).node("rnn");
    Backend b = Backends.byName("onednn");
    List<Tensor> owned = new ArrayList<>();
    int live = Primitives.live();
    try (Weights w = Weights.random(g, 41);
        Backend.Context ctx = b.open(Options.backend("onednn").threads(1));
        DirectExec ec = new DirectExec()) {
      TrainableNode t = ctx.compileForTraining(node, nodeWeights(node, w));
      Tensor x = own(OneDnnBackendTest.random(42, 4, 2, 12), owned);
      Map<String, float[]> want = train(t, node, x, shapes(node), ec);
      Tensor[] in = {x, null, null, null};
      Tensor[] out = {
        own(Tensor.allocate(DType.F32, 4, 2, 32), owned),
        own(Tensor.allocate(DType.F32, 2, 2, 16), owned),
        own(Tensor.allocate(DType.F32, 2, 2, 16), owned)
      };
      try (TrainableNode.Saved saved = t.forward(in, out, ec)) {
        for (int steps = 5; steps < 5 + OneDnnTrainable.CAPACITY + 4; steps++) {
          try (Tensor other = OneDnnBackendTest.random(steps, steps, 2, 12)) {
            train(t, node, other, shapes(node), ec);
          }
        }
        // One pair per kept shape plus the held one; forward and backward, one group.
        assertTrue(Primitives.live() - live <= 2 * (OneDnnTrainable.CAPACITY + 1));
        Tensor[] gradOut = {own(OneDnnBackendTest.random(5, 4, 2, 32), owned), null, null};
        Tensor[] gradIn = {like(x, owned), null, null, null};
        Map<String, Tensor> grads = new LinkedHashMap<>();
        shapes(node).forEach((k, v) -> grads.put(k, own(Tensor.allocate(DType.F32, v), owned)));
        t.backward(saved, in, out, gradOut, gradIn, grads, ec);
        assertArrayEquals(want.get("grad.x"), gradIn[0].toFloatArray(), 1e-6f);
        grads.forEach(
            (k, v) -> assertArrayEquals(want.get("grad." + k), v.toFloatArray(), 1e-6f, k));
      }
    } finally {
      owned.forEach(Tensor::close);
    }
    assertEquals(live, Primitives.live(), "closing the context destroys every primitive");
  }

  /** A saved pass nobody closed is freed with the context (its primitives and workspaces). */
  @Test
  void aSavedPassLeftOpenIsFreedWithItsContext() {
    Graph g = OneDnnBackendTest.graph(Recurrent.gru(16), false);
    Node node = IrGraph.of(g).node("rnn");
    int live = Primitives.live();
    TrainableNode.Saved leftOpen;
    try (Weights w = Weights.random(g, 51);
        Tensor x = OneDnnBackendTest.random(52, 3, 2, 12);
        Tensor y = Tensor.allocate(DType.F32, 3, 2, 16);
        Tensor h = Tensor.allocate(DType.F32, 1, 2, 16);
        DirectExec ec = new DirectExec()) {
      Backend.Context ctx = Backends.byName("onednn").open(Options.backend("onednn").threads(1));
      TrainableNode t = ctx.compileForTraining(node, nodeWeights(node, w));
      leftOpen = t.forward(new Tensor[] {x, null, null, null}, new Tensor[] {y, h}, ec);
      assertEquals(live + 2, Primitives.live(), "forward_training and backward primitives");
      ctx.close();
      assertEquals(live, Primitives.live());
      Tensor[] grad = {Tensor.allocate(DType.F32, 3, 2, 12), null, null, null};
      try {
        assertThrows(
            IllegalStateException.class,
            () ->
                t.backward(
                    leftOpen,
                    new Tensor[] {x, null, null, null},
                    new Tensor[] {y, h},
                    new Tensor[2],
                    grad,
                    Map.of(),
                    ec));
      } finally {
        grad[0].close();
      }
    }
    leftOpen.close(); // harmless
  }

  static Tensor own(Tensor t, List<Tensor> owned) {
    owned.add(t);
    return t;
  }

  static Tensor like(Tensor t, List<Tensor> owned) {
    Tensor z = Tensor.allocate(DType.F32, t.shape());
    owned.add(z);
    return z;
  }
}
