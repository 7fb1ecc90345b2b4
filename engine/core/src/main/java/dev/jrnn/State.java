package dev.jrnn;

import java.nio.file.Path;

/**
 * The recurrent state of one stream: h (and c) of every layer of every recurrent node, advanced by
 * {@link Session#step}. A state takes its batch size from its first step. Different states may be
 * stepped concurrently; one state is stepped by one thread at a time. Implemented by jrnn only.
 */
public interface State extends AutoCloseable {

  /** Batch size, or -1 before the first step. */
  int batchSize();

  /** Sets every state back to zero (keeping the batch size). */
  void reset();

  /** An independent copy of this state. */
  State copy();

  /** Makes this state equal to {@code other}, a state of the same session. */
  void copyFrom(State other);

  /** Hidden state {@code [L, N, Hout]} of recurrent node {@code node}, a live view. */
  Tensor hidden(String node);

  /** Cell state {@code [L, N, H]} of LSTM node {@code node}, a live view. */
  Tensor cell(String node);

  /** Saves the state as safetensors ({@code <node>.h}, {@code <node>.c}). */
  void save(Path file);

  /** Replaces this state with one saved by {@link #save}; shapes must fit this session. */
  void load(Path file);

  /** Frees the state's tensors (once a step in progress ends). Idempotent. */
  @Override
  void close();
}
