package dev.jrnn;

import java.util.Collections;
import java.util.Map;
import java.util.Set;

/**
 * The named outputs of one {@link Session#run} or {@link Session#step}. Owns its tensors: they are
 * freed by {@link #close()} (copy one with {@link Tensor#copy()} to keep it longer).
 */
public final class Result implements AutoCloseable {

  private final Map<String, Tensor> outputs;
  private final boolean owns;
  private volatile boolean closed;

  Result(Map<String, Tensor> outputs, boolean owns) {
    this.outputs = Collections.unmodifiableMap(outputs);
    this.owns = owns;
  }

  /** The output called {@code name}; throws listing the output names if there is none. */
  public Tensor get(String name) {
    if (closed) {
      throw new IllegalStateException("result is used after close");
    }
    Tensor t = outputs.get(name);
    if (t == null) {
      throw new IllegalArgumentException(
          "no output named '" + name + "'; outputs: " + String.join(", ", outputs.keySet()));
    }
    return t;
  }

  /** Output names in the graph's order. */
  public Set<String> names() {
    return outputs.keySet();
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      if (owns) {
        outputs.values().forEach(Tensor::close);
      }
    }
  }
}
