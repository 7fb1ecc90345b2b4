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

  /**
   * Sets every state to zero with batch size {@code batchSize ≥ 1}, allocated now (a fresh state
   * otherwise takes its batch size from its first step), so that rows can be written before a step.
   */
  void reset(int batchSize);

  /**
   * Floats in one batch row of the state: for each recurrent node in graph order, its h for every
   * layer (and direction), then, for an LSTM, its c for every layer. Known before the first step.
   */
  int rowSize();

  /**
   * Copies batch row {@code row} ({@link #rowSize()} floats, in that order) into {@code dst} from
   * {@code offset}: one stream's whole state, e.g. to keep it in a key-value store between steps.
   */
  void readRow(int row, float[] dst, int offset);

  /**
   * Overwrites batch row {@code row} with {@link #rowSize()} floats of {@code src} from {@code
   * offset}, as {@link #readRow} wrote them; the other rows are left alone.
   */
  void writeRow(int row, float[] src, int offset);

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
