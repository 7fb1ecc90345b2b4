package dev.jrnn;

import java.nio.file.Path;
import java.util.Map;

/**
 * Trains a graph's weights by backpropagation through time. Implemented by jrnn only.
 *
 * <pre>{@code
 * Training how = Training.of(Loss.crossEntropy("logits"), Optimizer.adam(1e-3).clipNorm(1));
 * try (Trainer t = Trainer.open(graph, Weights.random(graph, 1), how, Options.backend("java"))) {
 *   for (Batch b : batches) {
 *     double loss = t.step(Map.of("tokens", b.tokens(), "lengths", b.lengths()), b.labels());
 *   }
 *   t.model().save(Path.of("trained.jrnn"));
 * }
 * }</pre>
 *
 * <p>Each {@link #step} runs the graph in training mode (dropout on), computes the loss on the
 * loss's output against the target, backpropagates to every weight, clips and applies the
 * optimizer. A loss or gradient that is not finite stops with an {@link IllegalStateException}
 * naming the step and where it appeared; the weights are left as they were before that step. The
 * same graph, weights, data, seed and thread count give the same weights. One call at a time.
 */
public interface Trainer extends AutoCloseable {

  /**
   * Checks the weights, places every node on a backend that can train it ({@code options}' backend,
   * else a fallback; one log line says which moved) and copies the weights, which may be closed
   * afterwards.
   */
  static Trainer open(Graph graph, Weights weights, Training training, Options options) {
    return Providers.get().openTrainer(graph, weights, training, options);
  }

  /**
   * Continues from a checkpoint written by {@link #saveCheckpoint}: the weights, the optimizer's
   * state and the step count, so that training goes on exactly as if it had not stopped.
   */
  static Trainer resume(Path checkpoint, Training training, Options options) {
    return Providers.get().resumeTrainer(checkpoint, training, options);
  }

  /**
   * One training step on a batch: named inputs and the target of the loss's output. Returns the
   * loss before the update.
   */
  double step(Map<String, Tensor> inputs, Tensor target);

  /**
   * The first half of a {@link #step}: forward (in training mode, with the masks the next step
   * would use), the loss and backward, without updating anything. The gradients are then those
   * {@link #gradients()} returns; the weights and the step count are unchanged. With {@link #apply}
   * it splits a step where gradients are combined in between (data-parallel training averages
   * several workers' gradients for one update): {@code step(inputs, target)} gives the same weights
   * as {@code backward(inputs, target)} followed by {@code apply(gradients())}. A loss or gradient
   * that is not finite throws as in {@link #step}. Returns the loss.
   */
  double backward(Map<String, Tensor> inputs, Tensor target);

  /**
   * The second half of a {@link #step}: clips the given gradients and applies the optimizer to the
   * weights with them, exactly as a step does with its own, and counts the step. {@code gradients}
   * holds one F32 tensor per weight with the weight's name and shape; it is read, not kept (the
   * caller still closes it), and {@link #gradients()} returns a copy of it afterwards. A missing,
   * extra or mis-shaped gradient throws naming it; a non-finite element throws naming the weight
   * and the element, the weights unchanged.
   */
  void apply(Weights gradients);

  /**
   * Truncated BPTT over a long sequence ({@link Tbptt}): one {@link #step} per chunk, on the
   * chunk's slice of the sequence inputs and of the target (per-step targets along the same time
   * axis), the state carried between chunks. The state inputs must be given (zeros to start a
   * sequence); they receive the final state, so calling again with the same tensors continues the
   * sequence (stateful training). Returns each chunk's loss.
   */
  double[] stepTruncated(Map<String, Tensor> inputs, Tensor target, Tbptt how);

  /** The loss on a batch with the current weights, dropout off, nothing updated. */
  double evaluate(Map<String, Tensor> inputs, Tensor target);

  /** Runs the graph with the current weights, dropout off; the caller closes the result. */
  Result run(Map<String, Tensor> inputs);

  /**
   * The gradient of every weight from the last {@link #step}, {@link #backward} or {@link #apply},
   * before clipping: a copy (empty before the first).
   */
  Weights gradients();

  /**
   * The string metadata stored with {@link #model()}, {@link #weights()} and checkpoints: that of
   * the weights the trainer was opened on (a tokenizer, a normaliser, ...) or resumed from, and
   * what {@link #putMetadata} added; read-only.
   */
  Map<String, String> metadata();

  /** Adds or replaces one metadata entry (see {@link #metadata()}). */
  void putMetadata(String key, String value);

  /** The current weights (with the {@link #metadata()}): a copy the caller owns. */
  Weights weights();

  /** The graph and a copy of the current weights, e.g. to {@link Model#save}. */
  Model model();

  /** Steps taken, counting those before a {@link #resume}. */
  long steps();

  /** The learning rate the next step uses (the schedule applied). */
  double learningRate();

  /** The global L2 norm of the last step's gradients, before clipping. */
  double gradientNorm();

  /** Node name to the backend that trains it. */
  Map<String, String> placement();

  /**
   * Writes a jrnn model file that also holds the optimizer's state and the step count: {@link
   * Model#load} reads it as a model, {@link #resume} continues training from it.
   */
  void saveCheckpoint(Path file);

  /** Frees everything the trainer holds. Idempotent. */
  @Override
  void close();
}
