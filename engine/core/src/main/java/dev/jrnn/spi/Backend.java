package dev.jrnn.spi;

import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Node;
import java.util.Map;

/**
 * A way to execute graph nodes. Built-in backends are {@code reference} and {@code java}; others
 * are found with {@link java.util.ServiceLoader} (register the class in {@code
 * META-INF/services/dev.jrnn.spi.Backend}). A session places each node on its chosen backend when
 * {@link #unsupported} returns null for it, else on a fallback backend.
 */
public interface Backend {

  /** Unique lower-case name, used in {@code Options.backend(name)} and {@code -Djrnn.backend}. */
  String name();

  /** Whether this backend can run on this machine, and if not, why. Cheap after the first call. */
  Availability availability();

  /** Why this backend cannot run {@code node}, or null when it can. Called only when available. */
  String unsupported(Node node);

  /**
   * Why this backend cannot train {@code node} (see {@link Context#compileForTraining}), or null
   * when it can. Called only for nodes it can run.
   */
  default String untrainable(Node node) {
    return name() + " has no backward pass for " + node.op().kind();
  }

  /**
   * Whether this backend's kernels for {@code node} read its weight matrices in reduced precision
   * {@code p} ({@link Precision#BF16} or {@link Precision#INT8}); if not, a session gives it their
   * values widened to f32. When true, {@link Context#compile} gets BF16 tensors, or I8 tensors each
   * with its F32 per-row scale {@code <name>.scale}, for the matrices (see {@code
   * dev.jrnn.ir.Precisions}).
   */
  default boolean reducedWeights(Node node, Precision p) {
    return false;
  }

  /** Preference when the user asks for {@code auto}: among available backends, the highest wins. */
  default int priority() {
    return 0;
  }

  /** Per-session state (device contexts, thread pools, caches); closed with the session. */
  Context open(Options options);

  /** A backend's per-session state: compiles nodes and owns what they hold. */
  interface Context extends AutoCloseable {

    /**
     * Prepares {@code node} to run: checks and packs its weights (given by canonical name; copy
     * what is kept, the caller may close them afterwards).
     */
    CompiledNode compile(Node node, Map<String, Tensor> weights);

    /**
     * Prepares {@code node} to train (forward and backward, see {@link TrainableNode}), or returns
     * null when this backend cannot train it; weights as for {@link #compile}.
     */
    default TrainableNode compileForTraining(Node node, Map<String, Tensor> weights) {
      return null;
    }

    /** Frees everything this context and its compiled nodes hold. */
    @Override
    void close();
  }
}
