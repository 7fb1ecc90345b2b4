package dev.jrnn;

import java.util.Objects;

/**
 * A learning-rate schedule: the factor the optimizer's base learning rate is multiplied by at each
 * step. Immutable; {@link #warmup} returns a copy.
 *
 * <pre>{@code
 * Schedule.cosine(10_000, 0.01).warmup(500)
 * Schedule.step(1_000, 0.5)
 * }</pre>
 *
 * <p>Steps count optimizer updates from 0: {@code factor(0)} scales the first update. This is the
 * learning rate PyTorch uses for the {@code k}-th {@code optimizer.step()} when the scheduler's
 * {@code step()} is called once after each of them ({@code last_epoch = k}).
 */
public final class Schedule {

  /** The shape of a schedule, before warm-up. */
  public enum Kind {
    /** Factor 1 at every step. */
    CONSTANT,
    /** {@code gamma^floor(step / everySteps)}: PyTorch's {@code StepLR}. */
    STEP,
    /** Half a cosine from 1 down to {@code minFactor}: PyTorch's {@code CosineAnnealingLR}. */
    COSINE
  }

  private final Kind kind;
  private final int everySteps;
  private final double gamma;
  private final int totalSteps;
  private final double minFactor;
  private final int warmupSteps;

  private Schedule(
      Kind kind, int everySteps, double gamma, int totalSteps, double minFactor, int warmupSteps) {
    this.kind = kind;
    this.everySteps = everySteps;
    this.gamma = gamma;
    this.totalSteps = totalSteps;
    this.minFactor = minFactor;
    this.warmupSteps = warmupSteps;
  }

  /** Factor 1 at every step (no schedule). */
  public static Schedule constant() {
    return new Schedule(Kind.CONSTANT, 0, 1, 0, 0, 0);
  }

  /**
   * Multiplies the learning rate by {@code gamma} every {@code everySteps} steps: factor {@code
   * gamma^floor(step / everySteps)}, as PyTorch's {@code StepLR(step_size=everySteps, gamma)}.
   *
   * @param everySteps steps between decays, at least 1
   * @param gamma decay factor, finite and {@code > 0}
   */
  public static Schedule step(int everySteps, double gamma) {
    if (everySteps < 1) {
      throw new IllegalArgumentException(
          "step schedule: everySteps must be >= 1, got " + everySteps);
    }
    if (!(gamma > 0) || Double.isInfinite(gamma)) {
      throw new IllegalArgumentException(
          "step schedule: gamma must be finite and > 0, got " + gamma);
    }
    return new Schedule(Kind.STEP, everySteps, gamma, 0, 0, 0);
  }

  /**
   * Cosine annealing from factor 1 at step 0 to {@code minFactor} at step {@code totalSteps}:
   * {@code minFactor + (1 - minFactor)(1 + cos(π step / totalSteps)) / 2}, the closed form of
   * PyTorch's {@code CosineAnnealingLR(T_max=totalSteps, eta_min=minFactor·lr)}. After {@code
   * totalSteps} the factor stays at {@code minFactor}, where PyTorch's formula would rise again.
   *
   * @param totalSteps steps from 1 down to {@code minFactor}, at least 1
   * @param minFactor the final factor, in {@code [0, 1]}
   */
  public static Schedule cosine(int totalSteps, double minFactor) {
    if (totalSteps < 1) {
      throw new IllegalArgumentException(
          "cosine schedule: totalSteps must be >= 1, got " + totalSteps);
    }
    if (!(minFactor >= 0 && minFactor <= 1)) {
      throw new IllegalArgumentException(
          "cosine schedule: minFactor must be in [0, 1], got " + minFactor);
    }
    return new Schedule(Kind.COSINE, 0, 1, totalSteps, minFactor, 0);
  }

  /**
   * A copy with a linear warm-up over the first {@code steps} steps, multiplied into this schedule:
   * {@code factor(k) = min(k, steps) / steps · base(k)}. The warm-up is the closed form of
   * PyTorch's {@code LinearLR(start_factor=0, end_factor=1, total_iters=steps)} and the product is
   * what {@code ChainedScheduler} of it and this schedule gives; the first step has factor 0.
   * {@code 0} removes the warm-up.
   *
   * @param steps warm-up length, {@code >= 0}
   */
  public Schedule warmup(int steps) {
    if (steps < 0) {
      throw new IllegalArgumentException("warmup steps must be >= 0, got " + steps);
    }
    return new Schedule(kind, everySteps, gamma, totalSteps, minFactor, steps);
  }

  /**
   * The learning-rate factor of the update numbered {@code step} (0 for the first).
   *
   * @throws IllegalArgumentException if {@code step} is negative
   */
  public double factor(long step) {
    if (step < 0) {
      throw new IllegalArgumentException("step must be >= 0, got " + step);
    }
    double f =
        switch (kind) {
          case CONSTANT -> 1;
          case STEP -> Math.pow(gamma, step / everySteps);
          case COSINE ->
              step >= totalSteps
                  ? minFactor
                  : minFactor + (1 - minFactor) * (1 + Math.cos(Math.PI * step / totalSteps)) / 2;
        };
    if (step < warmupSteps) {
      f *= (double) step / warmupSteps;
    }
    return f;
  }

  /** The schedule's shape. */
  public Kind kind() {
    return kind;
  }

  /** Steps between decays of a {@link Kind#STEP} schedule; 0 for the other kinds. */
  public int everySteps() {
    return everySteps;
  }

  /** Decay factor of a {@link Kind#STEP} schedule; 1 for the other kinds. */
  public double gamma() {
    return gamma;
  }

  /** Length of a {@link Kind#COSINE} schedule; 0 for the other kinds. */
  public int totalSteps() {
    return totalSteps;
  }

  /** Final factor of a {@link Kind#COSINE} schedule; 0 for the other kinds. */
  public double minFactor() {
    return minFactor;
  }

  /** Warm-up length in steps; 0 without warm-up. */
  public int warmupSteps() {
    return warmupSteps;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Schedule s
        && kind == s.kind
        && everySteps == s.everySteps
        && Double.compare(gamma, s.gamma) == 0
        && totalSteps == s.totalSteps
        && Double.compare(minFactor, s.minFactor) == 0
        && warmupSteps == s.warmupSteps;
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, everySteps, gamma, totalSteps, minFactor, warmupSteps);
  }

  @Override
  public String toString() {
    String base =
        switch (kind) {
          case CONSTANT -> "constant";
          case STEP -> "step(every=" + everySteps + ", gamma=" + gamma + ")";
          case COSINE -> "cosine(total=" + totalSteps + ", min=" + minFactor + ")";
        };
    return "Schedule." + base + (warmupSteps > 0 ? ".warmup(" + warmupSteps + ")" : "");
  }
}
