package dev.jrnn;

import java.util.Objects;

/**
 * How a {@link Trainer} trains: the loss, the optimizer and the seed of every random choice
 * (dropout masks, shuffling done by callers that ask {@link #seed}). Immutable.
 *
 * <pre>{@code
 * Training t = Training.of(Loss.crossEntropy("logits"), Optimizer.adam(1e-3).clipNorm(1)).seed(7);
 * }</pre>
 */
public final class Training {

  private final Loss loss;
  private final Optimizer optimizer;
  private final long seed;

  private Training(Loss loss, Optimizer optimizer, long seed) {
    this.loss = Objects.requireNonNull(loss, "loss");
    this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
    this.seed = seed;
  }

  /** A loss and an optimizer; seed 0. */
  public static Training of(Loss loss, Optimizer optimizer) {
    return new Training(loss, optimizer, 0);
  }

  /** A copy with another seed: the same seed, data and thread count give the same weights. */
  public Training seed(long s) {
    return new Training(loss, optimizer, s);
  }

  /** The loss. */
  public Loss loss() {
    return loss;
  }

  /** The optimizer. */
  public Optimizer optimizer() {
    return optimizer;
  }

  /** The seed. */
  public long seed() {
    return seed;
  }

  @Override
  public String toString() {
    return "Training[" + loss + ", " + optimizer + ", seed " + seed + "]";
  }
}
