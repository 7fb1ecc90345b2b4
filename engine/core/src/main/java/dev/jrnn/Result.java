package dev.jrnn;

import java.util.Set;

/**
 * The named outputs of one {@link Session#run} or {@link Session#step}. Owns its tensors: {@link
 * #close()} frees them (copy one with {@link Tensor#copy()} to keep it longer).
 */
public interface Result extends AutoCloseable {

  /** The output called {@code name}; throws listing the output names if there is none. */
  Tensor get(String name);

  /** Output names in the graph's order. */
  Set<String> names();

  /** Frees the output tensors. Idempotent. */
  @Override
  void close();
}
