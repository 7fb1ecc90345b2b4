package dev.jrnn.onednn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import dev.jrnn.spi.TrainableNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * T = 0 and N = 0 never reach oneDNN, which divides by them: before the fix, N = 0 killed the JVM
 * with SIGFPE inside {@code dnnl_primitive_desc_create} and T = 0 left hN and cN unwritten (not h0
 * and c0). onednn must give what reference gives: y empty, hN = h0 and cN = c0 (zeros without
 * them), empty states for N = 0; in training, dh0 = dhN, dc0 = dcN and no weight gradient.
 */
class OneDnnZeroSizeTest {

  static final int I = 8;

  static Stream<Arguments> cases() {
    List<Recurrent> specs =
        List.of(
            Recurrent.lstm(16),
            Recurrent.lstm(16).layers(2), // I ≠ H: two primitives
            Recurrent.lstm(16).projection(5).bidirectional(),
            Recurrent.gru(16).bidirectional(Recurrent.Merge.SUM),
            Recurrent.rnn(16).reverse().batchFirst());
    int[][] shapes = {{5, 0}, {0, 3}, {0, 0}, {0, 1}};
    List<Arguments> all = new ArrayList<>();
    for (Recurrent s : specs) {
      for (int[] tn : shapes) {
        for (boolean states : new boolean[] {false, true}) {
          all.add(Arguments.of(s, tn[0], tn[1], states));
        }
      }
    }
    return all.stream();
  }

  static Graph graph(Recurrent spec, boolean states) {
    int ld = spec.layers() * spec.directions();
    boolean lstm = spec.cell() == Recurrent.Cell.LSTM;
    return Graph.build(
        b -> {
          Dim t = Dim.dyn("T");
          Dim n = Dim.dyn("N");
          Value x =
              spec.isBatchFirst()
                  ? b.input("x", DType.F32, n, t, Dim.of(I))
                  : b.input("x", DType.F32, t, n, Dim.of(I));
          Value h0 =
              states ? b.input("h0", DType.F32, Dim.of(ld), n, Dim.of(spec.outputHidden())) : null;
          Value c0 =
              states && lstm
                  ? b.input("c0", DType.F32, Dim.of(ld), n, Dim.of(spec.hidden()))
                  : null;
          Value y = b.recurrent(x, spec.name("rnn"), null, h0, c0);
          b.output("y", y);
          b.output("h", y.finalH());
          if (lstm) {
            b.output("c", y.finalC());
          }
        });
  }

  static Tensor ramp(float scale, int... shape) {
    Tensor t = Tensor.allocate(DType.F32, shape);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, scale * (i + 1));
    }
    return t;
  }

  @ParameterizedTest(name = "{0} T={1} N={2} states={3}")
  @MethodSource("cases")
  void zeroSizesGiveWhatReferenceGives(Recurrent spec, int steps, int batch, boolean states) {
    Graph g = graph(spec, states);
    int ld = spec.layers() * spec.directions();
    boolean lstm = spec.cell() == Recurrent.Cell.LSTM;
    Map<String, Tensor> in = new LinkedHashMap<>();
    in.put("x", spec.isBatchFirst() ? ramp(1, batch, steps, I) : ramp(1, steps, batch, I));
    if (states) {
      in.put("h0", ramp(0.01f, ld, batch, spec.outputHidden()));
      if (lstm) {
        in.put("c0", ramp(-0.01f, ld, batch, spec.hidden()));
      }
    }
    try (Weights w = Weights.random(g, 3);
        Session one = Session.open(g, w, Options.backend("onednn"));
        Session ref = Session.open(g, w, Options.backend("reference"));
        Result a = one.run(in);
        Result b = ref.run(in)) {
      assertEquals("onednn", one.placement().get("rnn"));
      for (String k : lstm ? List.of("y", "h", "c") : List.of("y", "h")) {
        assertArrayEquals(b.get(k).shape(), a.get(k).shape(), k);
        assertArrayEquals(b.get(k).toFloatArray(), a.get(k).toFloatArray(), k);
      }
      if (states && batch > 0) { // what no step means: the initial state comes out
        assertArrayEquals(in.get("h0").toFloatArray(), a.get("h").toFloatArray());
      }
    } finally {
      in.values().forEach(Tensor::close);
    }
  }

  @Test
  void zeroSizesTrainWithoutReachingOneDnn() {
    Recurrent spec = Recurrent.lstm(16).layers(2).bidirectional();
    Graph g = graph(spec, true);
    Node node = IrGraph.of(g).node("rnn");
    int ld = spec.layers() * spec.directions();
    Backend onednn = Backends.byName("onednn");
    List<Tensor> owned = new ArrayList<>();
    try (Weights w = Weights.random(g, 4);
        Backend.Context ctx = onednn.open(Options.backend("onednn"));
        DirectExec ec = new DirectExec()) {
      Map<String, Tensor> weights = new LinkedHashMap<>();
      node.weights().forEach(s -> weights.put(s.name(), w.get(s.name())));
      TrainableNode t = ctx.compileForTraining(node, weights);
      assertNotNull(t);
      for (int[] tn : new int[][] {{0, 3}, {4, 0}, {0, 0}}) {
        int steps = tn[0];
        int batch = tn[1];
        Tensor[] in = {
          own(ramp(1, steps, batch, I), owned),
          null,
          own(ramp(0.01f, ld, batch, 16), owned),
          own(ramp(-0.01f, ld, batch, 16), owned)
        };
        Tensor[] out = {
          own(Tensor.allocate(DType.F32, steps, batch, 32), owned),
          own(ramp(7, ld, batch, 16), owned), // garbage in: must be overwritten
          own(ramp(7, ld, batch, 16), owned)
        };
        TrainableNode.Saved saved = t.forward(in, out, ec);
        assertNull(saved, "nothing to save without a step");
        assertArrayEquals(in[2].toFloatArray(), out[1].toFloatArray());
        assertArrayEquals(in[3].toFloatArray(), out[2].toFloatArray());
        Tensor[] gradOut = {
          own(ramp(1, steps, batch, 32), owned),
          own(ramp(0.5f, ld, batch, 16), owned),
          own(ramp(0.25f, ld, batch, 16), owned)
        };
        Tensor[] gradIn = {
          own(Tensor.allocate(DType.F32, steps, batch, I), owned),
          null,
          own(ramp(9, ld, batch, 16), owned),
          own(ramp(9, ld, batch, 16), owned)
        };
        Map<String, Tensor> grads = new LinkedHashMap<>();
        weights.forEach((k, v) -> grads.put(k, own(Tensor.allocate(DType.F32, v.shape()), owned)));
        t.backward(saved, in, out, gradOut, gradIn, grads, ec);
        assertArrayEquals(gradOut[1].toFloatArray(), gradIn[2].toFloatArray(), "dh0 = dhN");
        assertArrayEquals(gradOut[2].toFloatArray(), gradIn[3].toFloatArray(), "dc0 = dcN");
        for (Map.Entry<String, Tensor> e : grads.entrySet()) {
          for (float v : e.getValue().toFloatArray()) {
            assertEquals(0f, v, e.getKey());
          }
        }
        // Missing gradients count as zero.
        t.backward(saved, in, out, new Tensor[3], gradIn, grads, ec);
        for (float v : gradIn[2].toFloatArray()) {
          assertEquals(0f, v);
        }
      }
    } finally {
      owned.forEach(Tensor::close);
    }
  }

  @Test
  void zeroInputFeaturesArePlacedOnJava() {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(0));
              b.output("y", b.recurrent(x, Recurrent.gru(4).name("rnn")));
            });
    String why = new OneDnnBackend().unsupported(IrGraph.of(g).node("rnn"));
    assertNotNull(why);
    assertTrue(why.contains("0 input features"), why);
    assertEquals(why, new OneDnnBackend().untrainable(IrGraph.of(g).node("rnn")));
    assertTrue(
        Session.placement(g, Options.backend("onednn")).get("rnn").matches("java|reference"),
        Session.placement(g, Options.backend("onednn")).toString());
  }

  private static Tensor own(Tensor t, List<Tensor> owned) {
    owned.add(t);
    return t;
  }
}
