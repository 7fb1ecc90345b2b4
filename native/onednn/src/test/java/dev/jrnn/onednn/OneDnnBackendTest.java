package dev.jrnn.onednn;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import dev.jrnn.spi.Backends;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class OneDnnBackendTest {

  static Graph graph(Recurrent spec, boolean lengths) {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(12));
          Value len = lengths ? b.input("len", DType.I32, dyn("N")) : null;
          Value y = b.recurrent(x, spec.name("rnn"), len, null, null);
          b.output("y", y);
          b.output("h", y.finalH());
        });
  }

  static Tensor random(long seed, int... shape) {
    SplittableRandom r = new SplittableRandom(seed);
    Tensor t = Tensor.allocate(DType.F32, shape);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) (r.nextDouble() * 2 - 1));
    }
    return t;
  }

  @Test
  void availableWithItsVersion() {
    var a = Backends.byName("onednn").availability();
    assertTrue(a.available(), a.reason());
    assertTrue(a.reason().startsWith("oneDNN 2."), a.reason());
  }

  @Test
  void whatOneDnnLacksIsPlacedOnJava() {
    Graph ragged = graph(Recurrent.lstm(8), true);
    Graph clipped = graph(Recurrent.gru(8).clip(1f), false);
    Graph plain = graph(Recurrent.lstm(8).bidirectional(), false);
    try (Weights w1 = Weights.random(ragged, 1);
        Weights w2 = Weights.random(clipped, 1);
        Weights w3 = Weights.random(plain, 1);
        Session s1 = Session.open(ragged, w1, Options.backend("onednn"));
        Session s2 = Session.open(clipped, w2, Options.backend("onednn"));
        Session s3 = Session.open(plain, w3, Options.backend("onednn"))) {
      assertEquals("java", s1.placement().get("rnn"));
      assertEquals("java", s2.placement().get("rnn"));
      assertEquals("onednn", s3.placement().get("rnn"));
      assertTrue(
          new OneDnnBackend()
              .unsupported(IrGraph.of(ragged).node("rnn"))
              .contains("sequence lengths"));
      assertTrue(new OneDnnBackend().unsupported(IrGraph.of(clipped).node("rnn")).contains("clip"));
    }
  }

  @Test
  void primitivesArePerShapeAndShapesMix() {
    Graph g = graph(Recurrent.lstm(16).layers(2).projection(5), false);
    int[][] shapes = {{3, 2}, {5, 1}, {3, 2}, {1, 4}, {5, 1}};
    try (Weights w = Weights.random(g, 4);
        Session one = Session.open(g, w, Options.backend("onednn"));
        Session ref = Session.open(g, w, Options.backend("reference"))) {
      for (int[] s : shapes) {
        try (Tensor x = random(s[0] * 10 + s[1], s[0], s[1], 12);
            Result a = one.run(Map.of("x", x));
            Result b = ref.run(Map.of("x", x))) {
          assertArrayEquals(b.get("y").toFloatArray(), a.get("y").toFloatArray(), 1e-5f);
          assertArrayEquals(b.get("h").toFloatArray(), a.get("h").toFloatArray(), 1e-5f);
        }
      }
    }
  }

  @Test
  void concurrentCallsAgree() throws Exception {
    Graph g = graph(Recurrent.gru(32).bidirectional(), false);
    try (Weights w = Weights.random(g, 5);
        Session s = Session.open(g, w, Options.backend("onednn").threads(1))) {
      List<Tensor> xs = new ArrayList<>();
      List<float[]> want = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        Tensor x = random(100 + i, 6, 3, 12);
        xs.add(x);
        try (Result r = s.run(Map.of("x", x))) {
          want.add(r.get("y").toFloatArray());
        }
      }
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<float[]>> got = new ArrayList<>();
        for (int rep = 0; rep < 5; rep++) {
          for (Tensor x : xs) {
            got.add(
                pool.submit(
                    () -> {
                      try (Result r = s.run(Map.of("x", x))) {
                        return r.get("y").toFloatArray();
                      }
                    }));
          }
        }
        for (int i = 0; i < got.size(); i++) {
          assertArrayEquals(want.get(i % xs.size()), got.get(i).get());
        }
      } finally {
        pool.shutdown();
        xs.forEach(Tensor::close);
      }
    }
  }

  /** Resident memory of this process in bytes. */
  private static long rss() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS");
  }

  @Test
  void nativeMemoryIsFreedWhenSessionsClose() throws IOException {
    Graph g = graph(Recurrent.lstm(256).layers(2), false); // ~3 MB of weights per session
    try (Weights w = Weights.random(g, 6);
        Tensor x = random(7, 4, 2, 12)) {
      for (int i = 0; i < 20; i++) {
        try (Session s = Session.open(g, w, Options.backend("onednn"))) {
          s.run(Map.of("x", x)).close();
        }
      }
      System.gc();
      long before = rss();
      int cycles = 100;
      for (int i = 0; i < cycles; i++) {
        try (Session s = Session.open(g, w, Options.backend("onednn"))) {
          s.run(Map.of("x", x)).close();
        }
      }
      System.gc();
      long grown = rss() - before;
      System.out.printf(
          "onednn: RSS grew %.1f MB over %d open/run/close cycles%n", grown / 1e6, cycles);
      // A session that leaked its weights alone would add 300 MB here.
      assertTrue(grown < 60_000_000L, "RSS grew " + grown + " bytes over " + cycles + " sessions");
    }
  }

  @Test
  void failedCallsNameFunctionAndStatus() {
    var e =
        assertThrows(
            RuntimeException.class, () -> OneDnn.check(3, "dnnl_lstm_forward_desc_init_v3"));
    assertEquals("dnnl_lstm_forward_desc_init_v3 failed: dnnl_unimplemented", e.getMessage());
  }
}
