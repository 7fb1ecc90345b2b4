package dev.jrnn.onednn;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
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
import dev.jrnn.onednn.ffi.Dnnl;
import dev.jrnn.onednn.ffi.dnnl_memory_desc_t;
import dev.jrnn.onednn.ffi.dnnl_rnn_desc_t;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Primitives are kept for a bounded number of shapes (T, N). Before the fix every shape's set was
 * kept until the session closed: T = 1…2000 at N = 1 added ~380 MB of RSS.
 */
class OneDnnShapeCacheTest {

  /** Nothing else in the test JVM holds onednn primitives between tests. */
  private static int[] live() {
    return new int[] {Primitives.live(), WeightGroup.liveReordered()};
  }

  @Test
  void manyShapesOnOneSessionKeepABoundedSetOfPrimitives() {
    Graph g = OneDnnBackendTest.graph(Recurrent.lstm(8).layers(2), false); // I=12 ≠ H: 2 groups
    int[] before = live();
    int most = 0;
    int shapes = 0;
    try (Weights w = Weights.random(g, 11);
        // One thread: OpenMP barriers on a busy machine cost more than these small runs.
        Session one = Session.open(g, w, Options.backend("onednn").threads(1));
        Session ref = Session.open(g, w, Options.backend("reference"))) {
      assertEquals("onednn", one.placement().get("rnn"));
      for (int t = 1; t <= 40; t++) {
        for (int n = 1; n <= 3; n++, shapes++) {
          try (Tensor x = OneDnnBackendTest.random(t * 7L + n, t, n, 12);
              Result a = one.run(Map.of("x", x));
              Result b = ref.run(Map.of("x", x))) {
            assertArrayEquals(b.get("y").toFloatArray(), a.get("y").toFloatArray(), 1e-5f);
            assertArrayEquals(b.get("h").toFloatArray(), a.get("h").toFloatArray(), 1e-5f);
          }
          most = Math.max(most, Primitives.live() - before[0]);
        }
      }
      int[] now = live();
      System.out.printf(
          "onednn: %d shapes on one session: at most %d primitives alive (2 per shape), %d now,"
              + " %d reordered weights%n",
          shapes, most, now[0] - before[0], now[1] - before[1]);
      assertTrue(shapes > 2 * OneDnnRecurrent.CAPACITY, "too few shapes to fill the cache");
      assertTrue(most <= 2 * OneDnnRecurrent.CAPACITY, most + " primitives alive");
      // Two groups × weights, bias and one layout per shape at most.
      assertTrue(now[1] - before[1] <= 2 * 3 * OneDnnRecurrent.CAPACITY, "reordered " + now[1]);
    }
    assertArrayEquals(before, live(), "closing the session frees every primitive and weight");
  }

  @Test
  void theNodeCountsItsShapes() {
    Graph g = OneDnnBackendTest.graph(Recurrent.gru(8), false);
    Node node = IrGraph.of(g).node("rnn");
    Backend b = Backends.byName("onednn");
    try (Weights w = Weights.random(g, 12);
        Backend.Context ctx = b.open(Options.backend("onednn").threads(1));
        DirectExec ec = new DirectExec()) {
      Map<String, Tensor> weights = new LinkedHashMap<>();
      node.weights().forEach(s -> weights.put(s.name(), w.get(s.name())));
      OneDnnRecurrent r = (OneDnnRecurrent) ctx.compile(node, weights);
      for (int t = 1; t <= OneDnnRecurrent.CAPACITY + 10; t++) {
        try (Tensor x = OneDnnBackendTest.random(t, t, 2, 12);
            Tensor y = Tensor.allocate(DType.F32, t, 2, 8);
            Tensor h = Tensor.allocate(DType.F32, 1, 2, 8)) {
          r.run(new Tensor[] {x, null, null, null}, new Tensor[] {y, h}, ec);
          assertEquals(Math.min(t, OneDnnRecurrent.CAPACITY), r.cachedShapes());
        }
      }
    }
  }

  @Test
  void concurrentCallsOnMoreShapesThanKeptAgree() throws Exception {
    Graph g = OneDnnBackendTest.graph(Recurrent.lstm(24).bidirectional(), false);
    int threads = 4;
    int perThread = 12; // 48 shapes through a cache of 16: evictions while others run
    try (Weights w = Weights.random(g, 13);
        Session one = Session.open(g, w, Options.backend("onednn").threads(1));
        Session ref = Session.open(g, w, Options.backend("reference"))) {
      List<Tensor> xs = new ArrayList<>();
      List<float[]> want = new ArrayList<>();
      for (int i = 0; i < threads * perThread; i++) {
        Tensor x = OneDnnBackendTest.random(50 + i, 1 + i, 1 + i % 3, 12);
        xs.add(x);
        try (Result r = ref.run(Map.of("x", x))) {
          want.add(r.get("y").toFloatArray());
        }
      }
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        List<Future<?>> done = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
          int first = k;
          done.add(
              pool.submit(
                  () -> {
                    for (int rep = 0; rep < 3; rep++) {
                      for (int i = first; i < xs.size(); i += threads) {
                        try (Result r = one.run(Map.of("x", xs.get(i)))) {
                          assertArrayEquals(want.get(i), r.get("y").toFloatArray(), 1e-5f);
                        }
                      }
                    }
                    return null;
                  }));
        }
        for (Future<?> f : done) {
          f.get();
        }
      } finally {
        pool.shutdown();
        xs.forEach(Tensor::close);
      }
    }
  }

  /** A fake primitive set: counts its destructions. */
  private static final class Fake {
    final int steps;
    final AtomicInteger destroyed = new AtomicInteger();

    Fake(int steps) {
      this.steps = steps;
    }
  }

  @Test
  void anEvictedSetIsDestroyedWhenItsLastLeaseCloses() {
    List<Fake> made = new ArrayList<>();
    PrimitiveCache<Fake> cache =
        new PrimitiveCache<>(
            2,
            (t, n) -> {
              Fake f = new Fake(t);
              made.add(f);
              return f;
            },
            f -> f.destroyed.incrementAndGet());
    PrimitiveCache<Fake>.Lease held = cache.acquire(1, 1);
    cache.acquire(2, 1).close();
    cache.acquire(1, 1).close(); // 1 is the most recent now
    cache.acquire(3, 1).close(); // evicts 2
    assertEquals(1, made.get(1).destroyed.get());
    cache.acquire(4, 1).close(); // evicts 1, which is held
    assertEquals(0, made.get(0).destroyed.get(), "destroyed under a call");
    assertEquals(2, cache.size());
    assertSame(made.get(0), held.value());
    held.close();
    held.close(); // idempotent
    assertEquals(1, made.get(0).destroyed.get());
    try (PrimitiveCache<Fake>.Lease again = cache.acquire(1, 1)) {
      assertEquals(5, made.size(), "an evicted shape is made again");
      assertSame(made.get(4), again.value());
    }
    cache.close();
    for (Fake f : made) {
      assertEquals(1, f.destroyed.get(), "set " + f.steps);
    }
    assertThrows(IllegalStateException.class, () -> cache.acquire(1, 1));
  }

  @Test
  void aFailedCreationIsNotKept() {
    AtomicInteger calls = new AtomicInteger();
    PrimitiveCache<Fake> cache =
        new PrimitiveCache<>(
            2,
            (t, n) -> {
              if (calls.incrementAndGet() == 1) {
                throw new OneDnn.OneDnnException("dnnl_primitive_desc_create failed");
              }
              return new Fake(t);
            },
            f -> f.destroyed.incrementAndGet());
    assertThrows(OneDnn.OneDnnException.class, () -> cache.acquire(1, 1));
    assertEquals(0, cache.size());
    try (PrimitiveCache<Fake>.Lease l = cache.acquire(1, 1)) {
      assertEquals(1, l.value().steps);
    }
    cache.close();
  }

  @Test
  void concurrentCallersOfANewShapeShareOneCreation() throws Exception {
    AtomicInteger created = new AtomicInteger();
    PrimitiveCache<Fake> cache =
        new PrimitiveCache<>(
            4,
            (t, n) -> {
              created.incrementAndGet();
              try {
                Thread.sleep(50);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              return new Fake(t);
            },
            f -> f.destroyed.incrementAndGet());
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Fake>> got = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        got.add(
            pool.submit(
                () -> {
                  try (PrimitiveCache<Fake>.Lease l = cache.acquire(7, 1)) {
                    return l.value();
                  }
                }));
      }
      for (Future<Fake> f : got) {
        assertSame(got.get(0).get(), f.get());
      }
      assertEquals(1, created.get());
    } finally {
      pool.shutdown();
      cache.close();
    }
  }

  /**
   * Why a cache: oneDNN 2.6 takes memory descriptors with {@code DNNL_RUNTIME_DIM_VAL}, but its RNN
   * operation descriptors refuse them ({@code check_runtime_dims_or_strides} in {@code
   * rnn_common_fwd_desc_init}), so a primitive cannot take T or N at execution time. If a later
   * libdnnl accepts them, this fails and the cache could give way to runtime dimensions.
   */
  @Test
  void oneDnnRnnPrimitivesDoNotTakeRuntimeDimensions() {
    long runtime = Long.MIN_VALUE; // DNNL_RUNTIME_DIM_VAL
    int any = Dnnl.dnnl_format_tag_any();
    try (Arena a = Arena.ofConfined()) {
      for (int prop : new int[] {Dnnl.dnnl_forward_inference(), Dnnl.dnnl_forward_training()}) {
        for (long[] tn : new long[][] {{runtime, 2}, {5, runtime}}) {
          MemorySegment src = md(a, Dnnl.dnnl_tnc(), tn[0], tn[1], 8);
          MemorySegment state = md(a, Dnnl.dnnl_ldnc(), 1, 1, tn[1], 16);
          MemorySegment dst = md(a, Dnnl.dnnl_tnc(), tn[0], tn[1], 16);
          int status =
              Dnnl.dnnl_lstm_forward_desc_init_v3(
                  dnnl_rnn_desc_t.allocate(a),
                  prop,
                  Dnnl.dnnl_unidirectional_left2right(),
                  src,
                  state,
                  state,
                  md(a, any, 1, 1, 8, 4, 16),
                  md(a, any, 1, 1, 16, 4, 16),
                  MemorySegment.NULL,
                  MemorySegment.NULL,
                  md(a, any, 1, 1, 4, 16),
                  dst,
                  state,
                  state,
                  0);
          assertEquals(Dnnl.dnnl_unimplemented(), status, "T, N = " + tn[0] + ", " + tn[1]);
        }
      }
    }
  }

  private static MemorySegment md(Arena a, int tag, long... dims) {
    MemorySegment md = dnnl_memory_desc_t.allocate(a);
    int status =
        Dnnl.dnnl_memory_desc_init_by_tag(
            md, dims.length, a.allocateFrom(JAVA_LONG, dims), Dnnl.dnnl_f32(), tag);
    assertEquals(Dnnl.dnnl_success(), status, "memory descriptors take runtime dimensions");
    return md;
  }
}
