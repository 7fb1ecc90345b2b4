package dev.jrnn.testing;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * One session used by many threads at once: 8 threads × 200 runs, and 8 streaming states stepped
 * concurrently, each result compared bit for bit with a single-threaded run of the same input on
 * the same session. Subclass per backend.
 */
public abstract class ConcurrencySuite {

  /** The backend under test, with {@code threads} threads per call. */
  protected abstract Options options(int threads);

  static final int THREADS = 8;
  static final int RUNS = 200;

  /** Two stacked forward LSTMs (state for streaming) and a linear head over every step. */
  static Graph model() {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(12));
          Value y = b.recurrent(x, Recurrent.lstm(24).layers(2).name("rnn"));
          b.output("y", b.linear("head", y, 5, true));
          b.output("h", y.finalH());
        });
  }

  static Tensor input(long seed, int steps, int batch) {
    SplittableRandom r = new SplittableRandom(seed);
    Tensor t = Tensor.allocate(DType.F32, steps, batch, 12);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) (r.nextDouble() * 2 - 1));
    }
    return t;
  }

  @Test
  void concurrentRunsEqualSingleThreadedRuns() throws Exception {
    Graph g = model();
    List<Tensor> inputs = new ArrayList<>();
    List<float[][]> expected = new ArrayList<>();
    try (Weights w = Weights.random(g, 7);
        Session s = Session.open(g, w, options(2))) {
      for (int k = 0; k < THREADS; k++) {
        Tensor x = input(k, 9 + k, 1 + k % 3);
        inputs.add(x);
        try (Result r = s.run(Map.of("x", x))) {
          expected.add(new float[][] {r.get("y").toFloatArray(), r.get("h").toFloatArray()});
        }
      }
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        List<Future<Integer>> done = new ArrayList<>();
        for (int k = 0; k < THREADS; k++) {
          int id = k;
          done.add(
              pool.submit(
                  () -> {
                    for (int i = 0; i < RUNS; i++) {
                      int which = (id + i) % THREADS; // every thread runs every input
                      try (Result r = s.run(Map.of("x", inputs.get(which)))) {
                        float[][] want = expected.get(which);
                        assertArrayEquals(want[0], r.get("y").toFloatArray(), "y, input " + which);
                        assertArrayEquals(want[1], r.get("h").toFloatArray(), "h, input " + which);
                      }
                    }
                    return RUNS;
                  }));
        }
        int total = 0;
        for (Future<Integer> f : done) {
          total += f.get(120, TimeUnit.SECONDS);
        }
        assertEquals(THREADS * RUNS, total);
      } finally {
        pool.shutdownNow();
        inputs.forEach(Tensor::close);
      }
    }
  }

  /** Chunks of 1–4 steps per call; every state sees its own sequence. */
  @Test
  void concurrentStreamingStatesEqualSequentialOnes() throws Exception {
    Graph g = model();
    int steps = 40;
    int[] chunks = {1, 3, 2, 4, 1, 1, 4, 2, 3, 4, 2, 3, 1, 4, 3, 2};
    List<Tensor> inputs = new ArrayList<>();
    List<float[]> expected = new ArrayList<>();
    try (Weights w = Weights.random(g, 8);
        Session s = Session.open(g, w, options(1))) {
      for (int k = 0; k < THREADS; k++) {
        Tensor x = input(100 + k, steps, 2);
        inputs.add(x);
        expected.add(stream(s, x, chunks, k));
      }
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        List<Future<float[]>> done = new ArrayList<>();
        for (int k = 0; k < THREADS; k++) {
          int id = k;
          done.add(pool.submit(() -> stream(s, inputs.get(id), chunks, id)));
        }
        for (int k = 0; k < THREADS; k++) {
          assertArrayEquals(expected.get(k), done.get(k).get(120, TimeUnit.SECONDS), "stream " + k);
        }
      } finally {
        pool.shutdownNow();
        inputs.forEach(Tensor::close);
      }
    }
  }

  /** All outputs of stepping {@code x} through a fresh state, concatenated, then the final h. */
  private static float[] stream(Session s, Tensor x, int[] chunks, int offset) {
    List<float[]> parts = new ArrayList<>();
    try (State st = s.newState()) {
      int t = 0;
      for (int i = 0; t < x.dim(0); i++) {
        int c = Math.min(chunks[(i + offset) % chunks.length], x.dim(0) - t);
        try (Result r = s.step(st, Map.of("x", x.slice(t, t + c)))) {
          parts.add(r.get("y").toFloatArray());
        }
        t += c;
      }
      parts.add(st.hidden("rnn").toFloatArray());
    }
    int n = parts.stream().mapToInt(p -> p.length).sum();
    float[] all = new float[n];
    int at = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }
}
