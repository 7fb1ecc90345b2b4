package dev.jrnn.fit;

import dev.jrnn.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One batch of training or validation data: the graph's named inputs, the target of the loss's
 * output, and the number of sequences it holds (what losses are weighted by and sequences per
 * second count).
 *
 * <p>Whoever takes a batch from {@link Batches#epoch} closes it, and closing closes the target and
 * every input tensor. Data that must outlive the batch is handed out as views ({@link #view()}),
 * whose close frees nothing.
 *
 * @param inputs the graph inputs by name (a read-only copy of the map is kept)
 * @param target the target of the loss's output
 * @param size the number of sequences, {@code >= 1}
 */
public record Batch(Map<String, Tensor> inputs, Tensor target, int size) implements AutoCloseable {

  /** Checks the parts and keeps a read-only copy of the input map. */
  public Batch {
    Objects.requireNonNull(inputs, "inputs");
    Objects.requireNonNull(target, "target");
    if (size < 1) {
      throw new IllegalArgumentException("a batch holds at least one sequence, got size " + size);
    }
    Map<String, Tensor> copy = new LinkedHashMap<>();
    inputs.forEach(
        (name, t) -> copy.put(Objects.requireNonNull(name), Objects.requireNonNull(t, name)));
    inputs = Collections.unmodifiableMap(copy);
  }

  /** The input called {@code name}; throws listing the input names if there is none. */
  public Tensor input(String name) {
    Tensor t = inputs.get(name);
    if (t == null) {
      throw new IllegalArgumentException(
          "batch has no input '" + name + "'; inputs: " + String.join(", ", inputs.keySet()));
    }
    return t;
  }

  /**
   * A batch of views of these tensors: the same memory, and closing it frees nothing. It becomes
   * unusable when this batch is closed.
   */
  public Batch view() {
    Map<String, Tensor> views = new LinkedHashMap<>();
    inputs.forEach((name, t) -> views.put(name, t.reshape(t.shape())));
    return new Batch(views, target.reshape(target.shape()), size);
  }

  /** Closes the target and every input (views free nothing). Idempotent. */
  @Override
  public void close() {
    inputs.values().forEach(Tensor::close);
    target.close();
  }
}
