package dev.jrnn.exec;

import dev.jrnn.Result;
import dev.jrnn.Tensor;
import java.util.Collections;
import java.util.Map;
import java.util.Set;

/** The outputs of one call, owned: closing the result closes them. */
final class LocalResult implements Result {

  private final Map<String, Tensor> outputs;
  private volatile boolean closed;

  LocalResult(Map<String, Tensor> outputs) {
    this.outputs = Collections.unmodifiableMap(outputs);
  }

  @Override
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

  @Override
  public Set<String> names() {
    return outputs.keySet();
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      outputs.values().forEach(Tensor::close);
    }
  }
}
