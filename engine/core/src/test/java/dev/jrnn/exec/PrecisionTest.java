package dev.jrnn.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Optimizer;
import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.backend.java.JavaBackend;
import dev.jrnn.backend.reference.ReferenceBackend;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Precisions;
import dev.jrnn.kernels.Quant;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Reduced-precision weights end to end: which tensors each backend compiles with, that java's
 * bf16/int8 kernels give the bits of f32 over the widened weights, that a stored reduced model runs
 * as the session option does, the quantization error against f32 within the bound the format gives,
 * and the errors.
 */
class PrecisionTest {

  static final int VOCAB = 11;

  /**
   * embedding → LSTM with projection → GRU (reset-first), 2 layers → last step → linear → softmax.
   */
  static Graph graph() {
    return Graph.build(
        b -> {
          Value ids = b.input("ids", DType.I32, Dim.dyn("T"), Dim.dyn("N"));
          Value x = b.embedding(ids, VOCAB, 12);
          Value s = b.recurrent(x, Recurrent.lstm(20).projection(9));
          s = b.recurrent(s, Recurrent.gru(17).layers(2).linearBeforeReset(false));
          b.output("p", b.softmax(b.linear(b.lastStep(s), 5)));
        });
  }

  static Tensor ids(int t, int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] v = new int[t * n];
    for (int i = 0; i < v.length; i++) {
      v[i] = r.nextInt(VOCAB);
    }
    return Tensor.of(v, t, n);
  }

  static float[] run(Graph g, Weights w, Options o, Tensor ids) {
    try (Session s = Session.open(g, w, o);
        Result r = s.run(Map.of("ids", ids))) {
      return r.get("p").toFloatArray();
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Precision.class,
      names = {"BF16", "INT8"})
  void javaKernelsGiveTheBitsOfF32OverTheWidenedWeights(Precision p) {
    Graph g = graph();
    try (Weights w = Weights.random(g, 3);
        Weights reduced = w.toPrecision(g, p);
        Weights widened = reduced.toPrecision(g, Precision.F32);
        Tensor ids = ids(7, 3, 1)) {
      for (int threads : new int[] {1, 2}) {
        float[] want = run(g, widened, Options.backend("java").threads(threads), ids);
        assertArrayEquals(
            want, run(g, w, Options.backend("java").threads(threads).precision(p), ids), p + "");
        assertArrayEquals(want, run(g, reduced, Options.backend("java").threads(threads), ids));
      }
      // and not the f32 model's values: the precision really applies
      float[] f32 = run(g, w, Options.backend("java"), ids);
      float[] red = run(g, w, Options.backend("java").precision(p), ids);
      assertTrue(!java.util.Arrays.equals(f32, red), "precision " + p + " changed nothing");
    }
  }

  @Test
  void javaCompilesReducedMatricesAndReferenceTheirWidenedValues() {
    Graph g = graph();
    IrGraph ir = IrGraph.of(g);
    try (Weights w = Weights.random(g, 5)) {
      for (Node n : ir.nodes()) {
        if (n.weights().isEmpty()) {
          continue;
        }
        List<Tensor> owned = new ArrayList<>();
        try {
          Map<String, Precision> jread = new HashMap<>();
          Map<String, Precision> rread = new HashMap<>();
          Map<String, Tensor> jw =
              NodeWeights.of(
                  n, w, Precision.INT8, new JavaBackend(), owned, new HashSet<>(), jread);
          Map<String, Tensor> rw =
              NodeWeights.of(
                  n, w, Precision.INT8, new ReferenceBackend(), owned, new HashSet<>(), rread);
          for (var s : n.weights()) {
            Tensor jt = jw.get(s.name());
            Tensor rt = rw.get(s.name());
            assertEquals(DType.F32, rt.dtype(), s.name());
            assertEquals(s.matrix() ? Precision.INT8 : null, jread.get(s.name()), s.name());
            assertEquals(s.matrix() ? Precision.F32 : null, rread.get(s.name()), s.name());
            if (s.matrix()) {
              assertEquals(DType.I8, jt.dtype(), s.name());
              Tensor scale = jw.get(Precisions.scaleName(s.name()));
              assertArrayEquals(
                  Precisions.floats(s.name(), jt, scale), rt.toFloatArray(), s.name());
            } else {
              assertEquals(DType.F32, jt.dtype(), s.name());
              assertArrayEquals(w.get(s.name()).toFloatArray(), rt.toFloatArray(), s.name());
            }
          }
        } finally {
          owned.forEach(Tensor::close);
        }
      }
    }
  }

  @Test
  void sessionsReportThePrecisionTheirKernelsRead() {
    Graph g = graph();
    try (Weights w = Weights.random(g, 5);
        Weights stored = w.toPrecision(g, Precision.INT8);
        Session javaBf16 = Session.open(g, w, Options.backend("java").precision(Precision.BF16));
        Session refBf16 =
            Session.open(g, w, Options.backend("reference").precision(Precision.BF16));
        Session javaStored = Session.open(g, stored, Options.backend("java"));
        Session javaF32 = Session.open(g, w, Options.backend("java"))) {
      Map<String, Precision> jb = javaBf16.weightPrecisions();
      assertTrue(jb.size() >= 3, "matrices reported: " + jb);
      jb.forEach((name, p) -> assertEquals(Precision.BF16, p, name));
      assertEquals(jb.keySet(), refBf16.weightPrecisions().keySet());
      refBf16.weightPrecisions().forEach((name, p) -> assertEquals(Precision.F32, p, name));
      javaStored.weightPrecisions().forEach((name, p) -> assertEquals(Precision.INT8, p, name));
      javaF32.weightPrecisions().forEach((name, p) -> assertEquals(Precision.F32, p, name));
      java.util.Set<String> matrices = new HashSet<>();
      for (Node n : IrGraph.of(g).nodes()) {
        n.weights().stream().filter(s -> s.matrix()).forEach(s -> matrices.add(s.name()));
      }
      assertEquals(matrices, jb.keySet(), "every matrix, and only matrices");
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Precision.class,
      names = {"BF16", "INT8"})
  void aStoredReducedModelRunsAsTheSessionOption(Precision p, @TempDir Path dir) throws Exception {
    Graph g = graph();
    Path file = dir.resolve("w.safetensors");
    try (Weights w = Weights.random(g, 7);
        Weights reduced = w.toPrecision(g, p);
        Tensor ids = ids(5, 2, 2)) {
      reduced.save(file);
      try (Weights back = Weights.load(file)) {
        String m = "lstm.l0.fwd.R";
        String name = back.names().stream().filter(k -> k.endsWith(".R")).findFirst().orElse(m);
        assertEquals(p.dtype(), back.get(name).dtype());
        assertEquals(p == Precision.INT8, back.contains(Precisions.scaleName(name)));
        assertEquals(
            DType.F32,
            back.get(back.names().stream().filter(k -> k.endsWith(".bW")).findFirst().get())
                .dtype());
        float[] want = run(g, w, Options.backend("java").precision(p), ids);
        assertArrayEquals(want, run(g, back, Options.backend("java"), ids));
        // a backend without the kernels widens once and computes with the same values
        float[] ref = run(g, back, Options.backend("reference"), ids);
        for (int i = 0; i < want.length; i++) {
          assertEquals(want[i], ref[i], 1e-5, "reference on the stored " + p + " model at " + i);
        }
        assertTrue(Files.size(file) > 0);
      }
    }
  }

  @Test
  void linearErrorStaysWithinTheFormatsBound() {
    int in = 300;
    int out = 40;
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("N"), Dim.of(in));
              b.output("y", b.linear(x, out));
            });
    SplittableRandom r = new SplittableRandom(9);
    float[] xs = new float[4 * in];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = (float) r.nextGaussian();
    }
    try (Weights w = Weights.random(g, 9);
        Tensor x = Tensor.of(xs, 4, in)) {
      String name = w.names().stream().filter(k -> k.endsWith(".weight")).findFirst().get();
      float[] wt = w.get(name).toFloatArray();
      float[] exact;
      try (Session s = Session.open(g, w, Options.backend("reference"));
          Result res = s.run(Map.of("x", x))) {
        exact = res.get("y").toFloatArray();
      }
      for (Precision p : new Precision[] {Precision.BF16, Precision.INT8}) {
        float[] got;
        try (Session s = Session.open(g, w, Options.backend("java").precision(p));
            Result res = s.run(Map.of("x", x))) {
          got = res.get("y").toFloatArray();
        }
        double worst = 0;
        for (int n = 0; n < 4; n++) {
          for (int j = 0; j < out; j++) {
            // bf16: each weight within 2^-8 of itself; int8: within half its row's step
            double bound = 0;
            double mag = 0;
            float scale = Quant.rowScale(wt, j * in, in);
            for (int k = 0; k < in; k++) {
              double ax = Math.abs(xs[n * in + k]);
              bound +=
                  p == Precision.BF16 ? Math.abs(wt[j * in + k]) * ax * 0x1p-8 : scale / 2 * ax;
              mag += Math.abs(wt[j * in + k]) * ax;
            }
            bound += 1e-6 * mag; // f32 accumulation on both sides
            double err = Math.abs(got[n * out + j] - exact[n * out + j]);
            worst = Math.max(worst, err / bound);
            assertTrue(err <= bound, p + " y[" + n + "," + j + "] off by " + err + " > " + bound);
          }
        }
        assertTrue(worst > 0.01, p + ": error suspiciously far below its bound: " + worst);
      }
    }
  }

  @Test
  void errorsNameTheProblem() {
    Graph g = graph();
    try (Weights w = Weights.random(g, 1);
        Weights q = w.toPrecision(g, Precision.INT8)) {
      String r = q.names().stream().filter(k -> k.endsWith(".R")).findFirst().get();
      Weights broken = q.toPrecision(g, Precision.INT8);
      broken.put(Precisions.scaleName(r), Tensor.of(new float[] {1f}, 1));
      var e = assertThrows(IllegalArgumentException.class, () -> broken.checkAgainst(g));
      assertTrue(e.getMessage().contains(r + ".scale"), e.getMessage());
      broken.close();
      Training t = Training.of(Loss.crossEntropy("p"), Optimizer.sgd(0.1));
      var e2 =
          assertThrows(
              IllegalArgumentException.class, () -> Trainer.open(g, q, t, Options.backend("java")));
      assertTrue(e2.getMessage().contains("training needs f32 weights"), e2.getMessage());
      var e3 =
          assertThrows(
              IllegalArgumentException.class,
              () -> Trainer.open(g, w, t, Options.backend("java").precision(Precision.BF16)));
      assertTrue(e3.getMessage().contains("training runs in f32"), e3.getMessage());
      var e4 = assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp8"));
      assertTrue(e4.getMessage().contains("bf16"), e4.getMessage());
    }
  }
}
