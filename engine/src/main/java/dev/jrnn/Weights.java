package dev.jrnn;

import dev.jrnn.io.SafeTensors;
import dev.jrnn.spi.WeightSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

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
    Weights w = empty();
    SplittableRandom rnd = new SplittableRandom(seed);
    for (WeightSpec s : graph.weights()) {
      Tensor t = Tensor.allocate(DType.F32, s.shape());
      for (long i = 0; i < t.size(); i++) {
        double v =
            switch (s.init()) {
              case UNIFORM -> (rnd.nextDouble() * 2 - 1) * s.scale();
              case NORMAL -> gaussian(rnd) * s.scale();
              case ZERO -> 0.0;
            };
        t.setFloat(i, (float) v);
      }
      w.put(s.name(), t);
    }
    return w;
  }

  private static double gaussian(SplittableRandom rnd) {
    double u1 = rnd.nextDouble();
    double u2 = rnd.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Loads every tensor of a safetensors file. */
  public static Weights load(Path file) {
    try {
      SafeTensors.Contents c = SafeTensors.read(file);
      return new Weights(new LinkedHashMap<>(c.tensors()), new LinkedHashMap<>(c.metadata()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read weights from " + file, e);
    }
  }

  /** Saves every tensor, and the metadata, as a safetensors file. */
  public void save(Path file) {
    checkOpen();
    try {
      SafeTensors.write(file, tensors, metadata);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write weights to " + file, e);
    }
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
    Tensor old = tensors.put(name, t);
    if (old != null && old != t) {
      old.close();
    }
    return this;
  }

  /** String metadata stored with the weights (saved in the safetensors header). */
  public Map<String, String> metadata() {
    checkOpen();
    return metadata;
  }

  /**
   * Checks that every weight {@code graph} needs is present, F32 and correctly shaped; throws
   * naming the first problem.
   */
  public void checkAgainst(Graph graph) {
    checkOpen();
    for (WeightSpec s : graph.weights()) {
      Tensor t = tensors.get(s.name());
      if (t == null) {
        throw new IllegalArgumentException(
            "missing weight '"
                + s.name()
                + "' "
                + Arrays.toString(s.shape())
                + "; weights given: "
                + (tensors.isEmpty() ? "none" : String.join(", ", tensors.keySet())));
      }
      if (t.dtype() != DType.F32) {
        throw new IllegalArgumentException(
            "weight '" + s.name() + "' must be F32, got " + t.describe());
      }
      if (!Arrays.equals(t.shape(), s.shape())) {
        throw new IllegalArgumentException(
            "weight '"
                + s.name()
                + "' has shape "
                + Arrays.toString(t.shape())
                + " but the graph needs "
                + Arrays.toString(s.shape()));
      }
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("weights are used after close");
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      tensors.values().forEach(Tensor::close);
    }
  }
}
