package dev.jrnn.backend.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.TrainableNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * A training Linear repacks its weights after every optimizer step, into the memory it packed them
 * into first: its forward scratch must stay under one workspace key (or a workspace gains an entry,
 * and its buffers, per step for as long as training runs), and the new values must take effect.
 */
class JavaLinearScratchTest {

  /** An ExecContext that keeps what nodes cache, as a call's workspace does. */
  static final class Recording implements ExecContext {
    final Map<Object, Object> cache = new HashMap<>();
    final Arena arena = Arena.ofConfined();

    @Override
    public int threads() {
      return 1;
    }

    @Override
    public MemorySegment scratch(long bytes) {
      return arena.allocate(Math.max(1, bytes), 64);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T cache(Object key, Function<Object, T> create) {
      return (T) cache.computeIfAbsent(key, create);
    }
  }

  /** y = x · Wᵀ + b, x [N, 5], y [N, 3]. */
  private static final Graph G =
      Graph.build(
          b -> b.output("y", b.linear(b.input("x", DType.F32, Dim.dyn("N"), Dim.of(5)), 3)));

  private static final Node LINEAR =
      IrGraph.of(G).nodes().stream()
          .filter(n -> n.op() instanceof Op.Linear)
          .findFirst()
          .orElseThrow();

  @Test
  void repackingKeepsOneScratchEntry() {
    Recording ctx = new Recording();
    try (Weights w = Weights.random(G, 1);
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 2, 5);
        Tensor y = Tensor.allocate(DType.F32, 2, 3)) {
      Map<String, Tensor> weights = new LinkedHashMap<>();
      w.names().forEach(n -> weights.put(n, w.get(n)));
      TrainableNode node = JavaTraining.compile(LINEAR, weights, ctx.arena);
      for (int step = 0; step < 5; step++) {
        node.updateWeights(weights);
        node.run(new Tensor[] {x}, new Tensor[] {y}, ctx);
      }
      assertEquals(1, ctx.cache.size(), "workspace entries after 5 repacks: " + ctx.cache.keySet());
    } finally {
      ctx.arena.close();
    }
  }

  @Test
  void repackedValuesTakeEffect() {
    Recording ctx = new Recording();
    try (Weights w1 = Weights.random(G, 1);
        Weights w2 = Weights.random(G, 2);
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 2, 5);
        Tensor updated = Tensor.allocate(DType.F32, 2, 3);
        Tensor fresh = Tensor.allocate(DType.F32, 2, 3)) {
      TrainableNode node = JavaTraining.compile(LINEAR, map(w1), ctx.arena);
      node.updateWeights(map(w2));
      node.run(new Tensor[] {x}, new Tensor[] {updated}, ctx);
      JavaTraining.compile(LINEAR, map(w2), ctx.arena)
          .run(new Tensor[] {x}, new Tensor[] {fresh}, ctx);
      assertArrayEquals(
          fresh.toFloatArray(),
          updated.toFloatArray(),
          "a node updated to w2 equals one built on it");
    } finally {
      ctx.arena.close();
    }
  }

  private static Map<String, Tensor> map(Weights w) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    w.names().forEach(n -> m.put(n, w.get(n)));
    return m;
  }
}
