package dev.jrnn.backend.java;

import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.PackedWeights;
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

  /**
   * Packs weight matrix {@code name} of {@code weights} ({@code [*, k]}, row-major, with its {@code
   * .scale} when int8) for products {@code x · Wᵀ}: packed column {@code j} is row {@code
   * colToRow[j]}, or zeros where that is -1.
   */
  @FunctionalInterface
  public interface WeightPacker {
    PackedWeights pack(Map<String, Tensor> weights, String name, int k, int[] colToRow);
  }

  /**
   * A recurrent layer stack for inference on java's step loop and fused cells, with its matrix
   * products packed by {@code packer}, on {@code pool}'s threads: how another backend runs layers
   * with products of its own (onednn's bf16 and int8 at small batch).
   */
  public static CompiledNode recurrentLayer(
      Op.RecurrentLayer op,
      String node,
      Map<String, Tensor> weights,
      WorkerPool pool,
      WeightPacker packer) {
    return new JavaRecurrent(op, node, weights, pool, packer);
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
          return new JavaRecurrent(
              r,
              node.name(),
              weights,
              pool,
              (w, name, k, map) -> JavaOps.packRows(w, name, k, map, packed));
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
