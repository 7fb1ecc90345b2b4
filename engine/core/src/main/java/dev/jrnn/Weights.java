package dev.jrnn;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Named parameter tensors in canonical form (see {@link Recurrent} for the recurrent layers' names
 * and shapes). Owns its tensors and closes them on {@link #close()}. A {@link Session} copies what
 * it needs at open, so weights may be closed once sessions are open.
 */
public final class Weights implements AutoCloseable {

  private final Map<String, Tensor> tensors;
  private final Map<String, String> metadata;
  private boolean closed;

  private Weights(Map<String, Tensor> tensors, Map<String, String> metadata) {
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Empty weights to {@link #put} tensors into. */
  public static Weights empty() {
    return new Weights(new LinkedHashMap<>(), new LinkedHashMap<>());
  }

  /**
   * Random weights for every parameter of {@code graph}, reproducible from {@code seed}: recurrent
   * and linear weights uniform in ±1/√fan as PyTorch does, embeddings standard normal.
   */
  public static Weights random(Graph graph, long seed) {
    return random(graph, "pytorch", seed);
  }

  /**
   * Random weights by a named scheme, reproducible from {@code seed}:
   *
   * <ul>
   *   <li>{@code "pytorch"}: as {@link #random(Graph, long)};
   *   <li>{@code "keras"}: Keras' defaults — Glorot-uniform input weights ({@code W}, Linear,
   *       projection), orthogonal recurrent weights ({@code R}), zero biases but 1 on the LSTM
   *       forget gate ({@code bW}), embeddings uniform in ±0.05, peepholes zero.
   * </ul>
   *
   * An unknown scheme is an error naming the known ones.
   */
  public static Weights random(Graph graph, String scheme, long seed) {
    return Providers.get().randomWeights(graph, scheme, seed);
  }

  /** Loads every tensor, and the metadata, of a safetensors file. */
  public static Weights load(Path file) {
    return Providers.get().readWeights(file);
  }

  /** Saves every tensor, and the metadata, as a safetensors file. */
  public void save(Path file) {
    checkOpen();
    Providers.get().writeWeights(file, this);
  }

  /** The tensor called {@code name}; throws listing the known names if there is none. */
  public Tensor get(String name) {
    checkOpen();
    Tensor t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException(
          "no weight named '" + name + "'; weights: " + String.join(", ", tensors.keySet()));
    }
    return t;
  }

  /** Whether a tensor called {@code name} is present. */
  public boolean contains(String name) {
    checkOpen();
    return tensors.containsKey(name);
  }

  /** Weight names in insertion order. */
  public Set<String> names() {
    checkOpen();
    return Collections.unmodifiableSet(tensors.keySet());
  }

  /** Adds or replaces a tensor; these weights take ownership of it (and close a replaced one). */
  public Weights put(String name, Tensor t) {
    checkOpen();
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(t, "tensor");
    Tensor old = tensors.put(name, t);
    if (old != null && old != t) {
      old.close();
    }
    return this;
  }

  /** String metadata stored with the weights (saved in the safetensors header); read-only. */
  public Map<String, String> metadata() {
    checkOpen();
    return Collections.unmodifiableMap(metadata);
  }

  /** Adds or replaces one metadata entry. */
  public Weights putMetadata(String key, String value) {
    checkOpen();
    metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
    return this;
  }

  /**
   * Checks that every weight {@code graph} needs is present and correctly shaped, and stored as
   * F32, BF16, or I8 with its F32 per-row scale {@code <name>.scale} beside it (see {@link
   * Precision}); throws naming the first problem.
   */
  public void checkAgainst(Graph graph) {
    checkOpen();
    graph
        .weightShapes()
        .forEach(
            (name, shape) -> {
              Tensor t = tensors.get(name);
              if (t == null) {
                throw new IllegalArgumentException(
                    "missing weight '"
                        + name
                        + "' "
                        + Arrays.toString(shape)
                        + "; weights given: "
                        + (tensors.isEmpty() ? "none" : String.join(", ", tensors.keySet())));
              }
              if (t.dtype() == DType.I32) {
                throw new IllegalArgumentException(
                    "weight '" + name + "' must be F32, BF16 or I8, got " + t.describe());
              }
              if (!Arrays.equals(t.shape(), shape)) {
                throw new IllegalArgumentException(
                    "weight '"
                        + name
                        + "' has shape "
                        + Arrays.toString(t.shape())
                        + " but the graph needs "
                        + Arrays.toString(shape));
              }
              if (t.dtype() == DType.I8) {
                Tensor s = tensors.get(name + ".scale");
                if (shape.length != 2
                    || s == null
                    || s.dtype() != DType.F32
                    || !Arrays.equals(s.shape(), new int[] {shape[0]})) {
                  throw new IllegalArgumentException(
                      "int8 weight '"
                          + name
                          + "' "
                          + Arrays.toString(shape)
                          + " needs an F32 scale '"
                          + name
                          + ".scale' ["
                          + (shape.length > 0 ? shape[0] : 0)
                          + "], got "
                          + (s == null ? "none" : s.describe()));
                }
              }
            });
  }

  /**
   * A copy of these weights with {@code graph}'s weight matrices stored in {@code precision} (see
   * {@link Precision}; int8 adds a {@code <name>.scale} per matrix) and everything else, metadata
   * included, copied as it is. {@link Precision#F32} widens reduced weights back to f32.
   */
  public Weights toPrecision(Graph graph, Precision precision) {
    checkOpen();
    return Providers.get().convertWeights(graph, this, precision);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("weights are used after close");
    }
  }

  /** Closes every tensor. Idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      tensors.values().forEach(Tensor::close);
    }
  }
}
