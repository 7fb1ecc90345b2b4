package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.Simd;
import dev.jrnn.kernels.WorkerPool;
import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.TrainableNode;
import java.lang.foreign.Arena;
import java.util.Map;

/**
 * The default backend: fused Vector API kernels ({@code jrnn-kernels}) on a jrnn-owned thread pool
 * of {@code Options.threads} threads per session. Needs nothing native.
 */
public final class JavaBackend implements Backend {

  @Override
  public String name() {
    return "java";
  }

  @Override
  public Availability availability() {
    return Availability.yes("Vector API, " + Simd.describe());
  }

  @Override
  public int priority() {
    return 100;
  }

  @Override
  public String unsupported(Node node) {
    return null; // every op
  }

  /** Recurrent layers and linear layers read bf16 and int8 weight panels, widened in registers. */
  @Override
  public boolean reducedWeights(Node node, Precision p) {
    return node.op() instanceof Op.RecurrentLayer || node.op() instanceof Op.Linear;
  }

  @Override
  public String untrainable(Node node) {
    return null; // every op, dropout inside recurrent stacks included
  }

  @Override
  public Context open(Options options) {
    WorkerPool pool = new WorkerPool(options.threadCount());
    // Packed weights: native, cache-line aligned, freed with the session (see Sgemm.Panels).
    Arena packed = Arena.ofShared();
    return new Context() {
      @Override
      public CompiledNode compile(Node node, Map<String, Tensor> weights) {
        if (node.op() instanceof Op.RecurrentLayer r) {
          return new JavaRecurrent(r, node.name(), weights, pool, packed);
        }
        return JavaOps.compile(node, weights, packed);
      }

      @Override
      public TrainableNode compileForTraining(Node node, Map<String, Tensor> weights) {
        if (node.op() instanceof Op.RecurrentLayer r) {
          return new JavaRecurrentTraining(r, node.name(), weights, pool, packed);
        }
        return JavaTraining.compile(node, weights, packed);
      }

      @Override
      public void close() {
        pool.close();
        if (packed.scope().isAlive()) {
          packed.close();
        }
      }
    };
  }
}
