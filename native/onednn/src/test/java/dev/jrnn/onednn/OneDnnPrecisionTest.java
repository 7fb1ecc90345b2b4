package dev.jrnn.onednn;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.kernels.Quant;
import dev.jrnn.spi.Backends;
import dev.jrnn.testing.Fixture;
import dev.jrnn.testing.GoldenSuite;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * onednn in bf16 and int8 beyond the differential suite: what it refuses (a CPU without the
 * instructions) falls back to f32 over the widened weights with the session's one log line and
 * still matches reference in the same precision to 1e-5; what it runs logs nothing, including the
 * layers its RNN primitive refuses, which run on java's step loop with oneDNN's products at every
 * batch; int8's data range follows the input; bad weights and inputs are clear errors.
 */
class OneDnnPrecisionTest {

  static Graph graph(Recurrent spec, int in, boolean initial) {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(in));
          Value h0 =
              initial
                  ? b.input(
                      "h0",
                      DType.F32,
                      Dim.of(spec.layers() * spec.directions()),
                      Dim.dyn("N"),
                      Dim.of(spec.outputHidden()))
                  : null;
          Value y = b.recurrent(x, spec.name("rnn"), null, h0, null);
          b.output("y", y);
          b.output("h", y.finalH());
        });
  }

  /** The log records of logger "dev.jrnn" while {@code body} runs. */
  static List<String> logged(Runnable body) {
    Logger log = Logger.getLogger("dev.jrnn");
    List<String> lines = new ArrayList<>();
    Handler h =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            synchronized (lines) {
              lines.add(r.getMessage());
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    log.addHandler(h);
    try {
      body.run();
    } finally {
      log.removeHandler(h);
    }
    return lines;
  }

  /** Max abs diff of every output of onednn in {@code p} against reference in {@code p}. */
  static double diffAgainstReference(Graph g, Precision p, Map<String, Tensor> in) {
    try (Weights w = Weights.random(g, 11);
        Session ref = Session.open(g, w, Options.backend("reference").precision(p));
        Session s = Session.open(g, w, Options.backend("onednn").threads(2).precision(p));
        Result want = ref.run(in);
        Result got = s.run(in)) {
      assertEquals("onednn", s.placement().get("rnn"), "placement");
      double max = 0;
      for (String name : want.names()) {
        max = Math.max(max, Fixture.maxAbsDiff(want.get(name), got.get(name)));
      }
      return max;
    }
  }

  static Stream<Arguments> primitiveRefused() {
    return Stream.of(
        Arguments.of(Precision.INT8, Recurrent.rnn(16), "no int8 vanilla RNN"),
        Arguments.of(Precision.INT8, Recurrent.gru(16), "no int8 linear-before-reset GRU"),
        Arguments.of(Precision.INT8, Recurrent.lstm(16).peepholes(), "int8 LSTM with peepholes"),
        Arguments.of(Precision.INT8, Recurrent.lstm(16).projection(5), "with projection"),
        Arguments.of(
            Precision.INT8,
            Recurrent.lstm(16).bidirectional(Recurrent.Merge.SUM),
            "bidirectional-sum"),
        Arguments.of(Precision.BF16, Recurrent.lstm(16).projection(5), "with projection"));
  }

  /**
   * A combination oneDNN's RNN primitive refuses (or gets wrong) in a reduced precision runs on
   * java's step loop with oneDNN's products at every batch — here N = 5, above the stepwise limit —
   * without a widening line, within the bound for its shape.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("primitiveRefused")
  void aCombinationThePrimitiveRefusesRunsStepwiseAtEveryBatch(
      Precision p, Recurrent spec, String reason) {
    assertTrue(OneDnnRecurrent.STEPWISE_BATCH < 5, "the case must be above the stepwise limit");
    String why = Reduced.primitiveWhyNot(spec, p);
    assertTrue(why != null && why.contains(reason), why);
    boolean has =
        OneDnn.hasIsa(
            p == Precision.BF16 ? OneDnn.ISA_AVX512_CORE_BF16 : OneDnn.ISA_AVX512_CORE_VNNI);
    Graph g = graph(spec, 12, false);
    Node node = IrGraph.of(g).node("rnn");
    assertEquals(has, OneDnnBackend.reducedWhyNot(node, p) == null);
    assertEquals(has, Backends.byName("onednn").reducedWeights(node, p));
    try (Tensor x = OneDnnBackendTest.random(3, 6, 5, 12)) {
      double[] diff = new double[1];
      List<String> lines = logged(() -> diff[0] = diffAgainstReference(g, p, Map.of("x", x)));
      assertEquals(
          has ? 0 : 1,
          lines.stream().filter(l -> l.contains("onednn has no")).count(),
          lines.toString());
      double u = p == Precision.BF16 ? 0x1p-8 : 1.0 / 254;
      double tol = has ? bound(spec, 12, 6, u, p == Precision.BF16 ? 1 : 2) : GoldenSuite.TOLERANCE;
      System.out.printf("onednn %s %s, N = 5: max|diff| %.2e, bound %.2e%n", p, spec, diff[0], tol);
      assertTrue(diff[0] <= tol, "max abs diff " + diff[0] + " > " + tol);
    }
  }

  @Test
  void withoutAvx512Bf16Bf16IsWidened() {
    Graph g = graph(Recurrent.lstm(16), 12, false);
    Node node = IrGraph.of(g).node("rnn");
    System.setProperty("jrnn.onednn.noBf16", "true");
    try (Tensor x = OneDnnBackendTest.random(3, 6, 3, 12)) {
      assertTrue(OneDnnBackend.reducedWhyNot(node, Precision.BF16).contains("noBf16"));
      double[] diff = new double[1];
      List<String> lines =
          logged(() -> diff[0] = diffAgainstReference(g, Precision.BF16, Map.of("x", x)));
      assertEquals(
          1,
          lines.stream().filter(l -> l.contains("onednn has no bf16 kernels")).count(),
          lines.toString());
      assertTrue(diff[0] <= GoldenSuite.TOLERANCE, "max abs diff " + diff[0]);
    } finally {
      System.clearProperty("jrnn.onednn.noBf16");
    }
  }

  static Stream<Arguments> supported() {
    return Stream.of(
        Arguments.of(Precision.BF16, Recurrent.lstm(32).peepholes()),
        Arguments.of(Precision.BF16, Recurrent.gru(32).bidirectional(Recurrent.Merge.SUM)),
        Arguments.of(Precision.BF16, Recurrent.rnn(32).layers(2)),
        Arguments.of(Precision.INT8, Recurrent.lstm(32).layers(2).bidirectional()),
        Arguments.of(Precision.INT8, Recurrent.gru(32).linearBeforeReset(false).layers(2)));
  }

  /** A combination onednn runs: no widening line, within the suite's bound for its shape. */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("supported")
  void aSupportedCombinationRunsReducedWithoutALogLine(Precision p, Recurrent spec) {
    boolean has =
        OneDnn.hasIsa(
            p == Precision.BF16 ? OneDnn.ISA_AVX512_CORE_BF16 : OneDnn.ISA_AVX512_CORE_VNNI);
    Graph g = graph(spec, 24, false);
    Node node = IrGraph.of(g).node("rnn");
    assertEquals(has, OneDnnBackend.reducedWhyNot(node, p) == null);
    try (Tensor x = OneDnnBackendTest.random(4, 5, 3, 24)) {
      double[] diff = new double[1];
      List<String> lines = logged(() -> diff[0] = diffAgainstReference(g, p, Map.of("x", x)));
      assertEquals(
          has ? 0 : 1,
          lines.stream().filter(l -> l.contains("onednn has no")).count(),
          lines.toString());
      double u = p == Precision.BF16 ? 0x1p-8 : 1.0 / 254;
      double tol = bound(spec, 24, 5, u, p == Precision.BF16 ? 1 : 2);
      System.out.printf("onednn %s %s: max|diff| %.2e, bound %.2e%n", p, spec, diff[0], tol);
      assertTrue(diff[0] <= tol, "max abs diff " + diff[0] + " > " + tol);
    }
  }

  /**
   * int8's data range is calibrated per call: inputs and h0 up to 10 (range [-16, 16]) match
   * reference within the bound of a u8 step over that range, and a call back in [-1, 1] gets its
   * finer step again.
   */
  @Test
  void int8DataRangeFollowsTheInput() {
    if (!OneDnn.hasIsa(OneDnn.ISA_AVX512_CORE_VNNI)) {
      return;
    }
    Recurrent spec = Recurrent.gru(32).linearBeforeReset(false);
    Graph g = graph(spec, 24, true);
    try (Weights w = Weights.random(g, 11);
        Tensor x1 = OneDnnBackendTest.random(4, 5, 3, 24);
        Tensor h1 = OneDnnBackendTest.random(5, 1, 3, 32);
        Tensor x10 = scaled(x1, 10);
        Tensor h10 = scaled(h1, 10);
        Session ref = Session.open(g, w, Options.backend("reference").precision(Precision.INT8));
        Session s = Session.open(g, w, Options.backend("onednn").precision(Precision.INT8))) {
      for (float scale : new float[] {1, 10, 1}) {
        Map<String, Tensor> in =
            scale == 1 ? Map.of("x", x1, "h0", h1) : Map.of("x", x10, "h0", h10);
        double range = scale == 1 ? 1 : 16;
        double tol = bound(spec, 24, 5, range / 254, 2);
        try (Result want = ref.run(in);
            Result got = s.run(in)) {
          double d =
              Math.max(
                  Fixture.maxAbsDiff(want.get("y"), got.get("y")),
                  Fixture.maxAbsDiff(want.get("h"), got.get("h")));
          System.out.printf(
              "onednn int8, inputs in ±%s: max|diff| %.2e, bound %.2e%n", scale, d, tol);
          assertTrue(d <= tol, "inputs ×" + scale + ": max abs diff " + d + " > " + tol);
          if (scale == 1) {
            assertTrue(d <= bound(spec, 24, 5, 1.0 / 254, 2), "the [-1, 1] range again");
          }
        }
      }
    }
  }

  static Tensor scaled(Tensor t, float by) {
    float[] v = t.toFloatArray();
    for (int i = 0; i < v.length; i++) {
      v[i] *= by;
    }
    return Tensor.of(v, t.shape());
  }

  @Test
  void int8RejectsANonFiniteInputByName() {
    if (!OneDnn.hasIsa(OneDnn.ISA_AVX512_CORE_VNNI)) {
      return;
    }
    Graph g = graph(Recurrent.lstm(8), 4, false);
    float[] v = new float[2 * 1 * 4];
    v[5] = Float.NaN;
    try (Weights w = Weights.random(g, 1);
        Tensor x = Tensor.of(v, 2, 1, 4);
        Session s = Session.open(g, w, Options.backend("onednn").precision(Precision.INT8))) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> s.run(Map.of("x", x)).close());
      assertTrue(e.getMessage().contains("input x [5] is NaN"), e.getMessage());
    }
  }

  /**
   * The same on both of onednn's int8 paths: N = 1 runs java's step loop on oneDNN's products, N =
   * 5 the RNN primitive; a non-finite h0 is named too.
   */
  @Test
  void int8NamesANonFiniteInputOnEitherPath() {
    assumeTrue(OneDnn.hasIsa(OneDnn.ISA_AVX512_CORE_VNNI), "no AVX512_VNNI");
    Graph g = graph(Recurrent.lstm(8), 4, true);
    try (Weights w = Weights.random(g, 1);
        Session s = Session.open(g, w, Options.backend("onednn").precision(Precision.INT8))) {
      for (int n : new int[] {1, 5}) {
        float[] v = new float[2 * n * 4];
        v[5] = Float.POSITIVE_INFINITY;
        try (Tensor bad = Tensor.of(v, 2, n, 4);
            Tensor x = OneDnnBackendTest.random(1, 2, n, 4);
            Tensor h0 = Tensor.of(new float[n * 8], 1, n, 8);
            Tensor badH0 = Tensor.of(v, 1, n, 8)) {
          IllegalArgumentException e =
              assertThrows(
                  IllegalArgumentException.class,
                  () -> s.run(Map.of("x", bad, "h0", h0)).close(),
                  "N = " + n);
          assertTrue(e.getMessage().contains("input x [5] is Infinity"), e.getMessage());
          e =
              assertThrows(
                  IllegalArgumentException.class,
                  () -> s.run(Map.of("x", x, "h0", badH0)).close(),
                  "N = " + n);
          assertTrue(e.getMessage().contains("h0 [5] is Infinity"), e.getMessage());
        }
      }
    }
  }

  /**
   * A layer mixing precisions (a stored model may) runs in f32 with a log line; int8 weights for a
   * layer the RNN primitive cannot run in int8 compile onto the step loop.
   */
  @Test
  void mixedPrecisionsRunInF32() {
    Graph lstm = graph(Recurrent.lstm(8), 4, false);
    Graph lbr = graph(Recurrent.gru(8), 4, false);
    Node ln = IrGraph.of(lstm).node("rnn");
    Node gn = IrGraph.of(lbr).node("rnn");
    try (Weights w = Weights.random(lstm, 1);
        Weights bf = w.toPrecision(lstm, Precision.BF16);
        Weights wg = Weights.random(lbr, 1);
        Weights q = wg.toPrecision(lbr, Precision.INT8);
        var ctx = Backends.byName("onednn").open(Options.backend("onednn"))) {
      Map<String, Tensor> mixed = new LinkedHashMap<>();
      ln.weights().forEach(s -> mixed.put(s.name(), w.get(s.name())));
      String r = mixed.keySet().stream().filter(k -> k.endsWith(".R")).findFirst().get();
      mixed.put(r, bf.get(r));
      List<String> lines = logged(() -> ctx.compile(ln, mixed));
      assertTrue(
          lines.size() == 1 && lines.get(0).contains("more than one precision"), lines.toString());
      // the same through sessions, from a stored model that mixes them
      try (Weights stored = Weights.empty();
          Tensor x = OneDnnBackendTest.random(2, 3, 2, 4)) {
        w.names().forEach(k -> stored.put(k, (k.equals(r) ? bf.get(k) : w.get(k)).copy()));
        try (Session ref = Session.open(lstm, stored, Options.backend("reference"));
            Session one = Session.open(lstm, stored, Options.backend("onednn"));
            Result want = ref.run(Map.of("x", x));
            Result got = one.run(Map.of("x", x))) {
          assertEquals("onednn", one.placement().get("rnn"));
          double d = Fixture.maxAbsDiff(want.get("y"), got.get("y"));
          assertTrue(d <= GoldenSuite.TOLERANCE, "max abs diff " + d);
        }
      }
      Map<String, Tensor> int8 = new LinkedHashMap<>();
      gn.weights()
          .forEach(
              s -> {
                int8.put(s.name(), q.get(s.name()));
                if (q.contains(s.name() + ".scale")) {
                  int8.put(s.name() + ".scale", q.get(s.name() + ".scale"));
                }
              });
      // the RNN primitive has no int8 linear-before-reset GRU: the step loop runs it
      assertNotNull(ctx.compile(gn, int8));
    }
    assertNull(Reduced.whyNot(ln, Precision.F32));
  }

  /**
   * The boundary conversions round as the formats define (bf16: to nearest, ties to even; u8:
   * x·scale + 128 to nearest, ties to even, saturated), on the vector path and its scalar tail
   * alike.
   */
  @Test
  void boundaryConversionsRoundAsTheFormatsDo() {
    // ties: 1 + 2^-8 and 1 + 3·2^-8 round to even (1 and 1 + 2^-6), truncation gives 1 + 2^-7
    float[] special = {
      1f,
      1 + 0x1p-8f,
      1 + 3 * 0x1p-8f,
      -2.75f,
      0x1.fffffep127f,
      1e-40f,
      -0f,
      Float.NaN,
      0.5f / 127,
      1.5f / 127,
      2f,
      -2f,
      Float.POSITIVE_INFINITY
    };
    int n = 1003; // vector blocks and a scalar tail
    float[] v = new float[n];
    java.util.SplittableRandom r = new java.util.SplittableRandom(1);
    for (int i = 0; i < n; i++) {
      v[i] =
          i % 7 == 0
              ? special[(i / 7) % special.length]
              : (float) (r.nextGaussian() * Math.scalb(1.0, r.nextInt(-10, 10)));
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment f = a.allocateFrom(JAVA_FLOAT, v);
      MemorySegment b = a.allocate(2L * n);
      Reduced.toBf16(f, b, n);
      MemorySegment back = a.allocate(4L * n);
      Reduced.fromBf16(b, back, n);
      MemorySegment q = a.allocate(n);
      float scale = Reduced.dataScale(0);
      Reduced.toU8(f, q, n, scale);
      for (int i = 0; i < n; i++) {
        short bits = b.getAtIndex(JAVA_SHORT, i);
        assertEquals(Quant.toBf16(v[i]), bits, "bf16 of " + v[i]);
        assertEquals(
            Float.floatToIntBits(Quant.fromBf16(bits)),
            Float.floatToIntBits(back.getAtIndex(JAVA_FLOAT, i)),
            "widened " + v[i]);
        double want = Math.max(0, Math.min(255, Math.rint(v[i] * scale + 128f)));
        assertEquals(
            Double.isNaN(want) ? 0 : (int) want,
            Byte.toUnsignedInt(q.get(JAVA_BYTE, i)),
            "u8 of " + v[i]);
      }
      assertEquals(1 + 0x1p-6f, Quant.fromBf16(b.getAtIndex(JAVA_SHORT, 14))); // special[2]
      assertEquals(255, Byte.toUnsignedInt(q.get(JAVA_BYTE, 0))); // 1 → 255
      assertEquals(130, Byte.toUnsignedInt(q.get(JAVA_BYTE, 63))); // 1.5/127 → 129.5 → 130

      float[] finite = new float[n];
      float max = 0;
      for (int i = 0; i < n; i++) {
        finite[i] = Float.isFinite(v[i]) && Math.abs(v[i]) < 1e30f ? v[i] : 0f;
        max = Math.max(max, Math.abs(finite[i]));
      }
      assertEquals(max, Reduced.maxAbs(a.allocateFrom(JAVA_FLOAT, finite), n, "x"));
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Reduced.maxAbs(f, n, "h0"));
      assertTrue(e.getMessage().startsWith("h0 [49] is NaN"), e.getMessage());
    }
    assertEquals(0, Reduced.rangeExponent(0.5f));
    assertEquals(0, Reduced.rangeExponent(1f));
    assertEquals(1, Reduced.rangeExponent(1.0001f));
    assertEquals(1, Reduced.rangeExponent(2f));
    assertEquals(4, Reduced.rangeExponent(10f));
    assertEquals(128, Reduced.rangeExponent(Float.MAX_VALUE));
    assertTrue(Reduced.dataScale(128) >= Float.MIN_NORMAL);
  }

  /** {@link OneDnnReducedSuite}'s bound for a stack. */
  static double bound(Recurrent s, int in, int steps, double u, double sources) {
    int above = s.merge() == Recurrent.Merge.SUM ? s.hidden() : s.hidden() * s.directions();
    int k = s.hidden() + (s.layers() > 1 ? Math.max(in, above) : in);
    return 2 * u * (1 + Math.sqrt(sources * k / s.hidden() * steps * s.layers()));
  }
}
