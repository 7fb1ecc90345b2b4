package dev.jrnn.fit;

/**
 * An accumulator over the batches of one evaluation: {@link #reset()}, then {@link #update} with
 * each batch's {@link Predictions}, then {@link #value()}. A fit resets its metrics at the start of
 * every validation pass and reports each as {@code val_<name>}. {@link Metrics} makes the built-in
 * ones; an implementation is used by one thread at a time.
 */
public interface Metric {

  /** The name, e.g. {@code accuracy}; a fit reports it as {@code val_<name>}. */
  String name();

  /** Forgets every batch seen so far. */
  void reset();

  /** Adds one batch; the tensors are read during the call only. */
  void update(Predictions batch);

  /** The value over the batches since the last {@link #reset()}. */
  double value();
}
