package dev.jrnn;

import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * How weights are updated from their gradients: the rule (SGD, Adam, AdamW, RMSprop) with its
 * hyper-parameters, weight decay, a learning-rate {@link Schedule} and gradient clipping.
 * Immutable; every setter returns a copy.
 *
 * <pre>{@code
 * Optimizer.adamW(1e-3).schedule(Schedule.cosine(10_000, 0.1).warmup(500)).clipNorm(1.0)
 * Optimizer.sgd(0.1).momentum(0.9).nesterov(true).weightDecay(1e-4)
 * }</pre>
 *
 * <p>The rules and defaults are PyTorch 1.13's ({@code torch.optim.SGD}, {@code Adam}, {@code
 * AdamW}, {@code RMSprop}, without {@code amsgrad} or {@code maximize}). Each update first clips
 * the gradients, element-wise to {@code [-clipValue, clipValue]} ({@code clip_grad_value_}), then
 * by their global L2 norm over all weights ({@code clip_grad_norm_(max_norm=clipNorm)}, which
 * scales by {@code clipNorm / (norm + 1e-6)} when that is below 1), then applies the rule with the
 * learning rate {@code lr · schedule.factor(step)}.
 *
 * <p>Options that belong to other rules are refused ({@code betas} on SGD, say), so a typo in a
 * configuration fails at once rather than being ignored.
 */
public final class Optimizer {

  /** The update rule. */
  public enum Kind {
    /** Stochastic gradient descent with optional (Nesterov) momentum: {@code torch.optim.SGD}. */
    SGD,
    /** Adam with L2 weight decay added to the gradient: {@code torch.optim.Adam}. */
    ADAM,
    /** Adam with decoupled weight decay: {@code torch.optim.AdamW}. */
    ADAMW,
    /** RMSprop, optionally centered and with momentum: {@code torch.optim.RMSprop}. */
    RMSPROP
  }

  private final Kind kind;
  private final double lr;
  private final double momentum;
  private final double dampening;
  private final boolean nesterov;
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double alpha;
  private final boolean centered;
  private final double weightDecay;
  private final Schedule schedule;
  private final double clipNorm;
  private final double clipValue;

  /** The fields while a copy is made; initialized to PyTorch's defaults. */
  private static final class Fields {
    Kind kind;
    double lr;
    double momentum;
    double dampening;
    boolean nesterov;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double alpha = 0.99;
    boolean centered;
    double weightDecay;
    Schedule schedule = Schedule.constant();
    double clipNorm = Double.POSITIVE_INFINITY;
    double clipValue = Double.POSITIVE_INFINITY;
  }

  private Optimizer(Fields f) {
    this.kind = f.kind;
    this.lr = f.lr;
    this.momentum = f.momentum;
    this.dampening = f.dampening;
    this.nesterov = f.nesterov;
    this.beta1 = f.beta1;
    this.beta2 = f.beta2;
    this.eps = f.eps;
    this.alpha = f.alpha;
    this.centered = f.centered;
    this.weightDecay = f.weightDecay;
    this.schedule = f.schedule;
    this.clipNorm = f.clipNorm;
    this.clipValue = f.clipValue;
  }

  /** A copy with {@code change} applied to its fields. */
  private Optimizer with(Consumer<Fields> change) {
    Fields f = new Fields();
    f.kind = kind;
    f.lr = lr;
    f.momentum = momentum;
    f.dampening = dampening;
    f.nesterov = nesterov;
    f.beta1 = beta1;
    f.beta2 = beta2;
    f.eps = eps;
    f.alpha = alpha;
    f.centered = centered;
    f.weightDecay = weightDecay;
    f.schedule = schedule;
    f.clipNorm = clipNorm;
    f.clipValue = clipValue;
    change.accept(f);
    return new Optimizer(f);
  }

  private static Optimizer of(Kind kind, double lr, double weightDecay) {
    checkLr(lr);
    Fields f = new Fields();
    f.kind = kind;
    f.lr = lr;
    f.weightDecay = weightDecay;
    return new Optimizer(f);
  }

  /**
   * SGD with learning rate {@code lr}; no momentum, dampening or weight decay (PyTorch's defaults).
   */
  public static Optimizer sgd(double lr) {
    return of(Kind.SGD, lr, 0);
  }

  /** Adam with learning rate {@code lr}; betas (0.9, 0.999), eps 1e-8, no weight decay. */
  public static Optimizer adam(double lr) {
    return of(Kind.ADAM, lr, 0);
  }

  /** AdamW with learning rate {@code lr}; betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
  public static Optimizer adamW(double lr) {
    return of(Kind.ADAMW, lr, 0.01);
  }

  /** RMSprop with learning rate {@code lr}; alpha 0.99, eps 1e-8, no momentum, not centered. */
  public static Optimizer rmsprop(double lr) {
    return of(Kind.RMSPROP, lr, 0);
  }

  /**
   * The optimizer named {@code sgd}, {@code adam}, {@code adamw} or {@code rmsprop} (any case),
   * with its defaults and learning rate {@code lr}.
   *
   * @throws IllegalArgumentException for another name, listing the known ones
   */
  public static Optimizer byName(String name, double lr) {
    Objects.requireNonNull(name, "name");
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "sgd" -> sgd(lr);
      case "adam" -> adam(lr);
      case "adamw" -> adamW(lr);
      case "rmsprop" -> rmsprop(lr);
      default ->
          throw new IllegalArgumentException(
              "unknown optimizer '" + name + "'; known: sgd, adam, adamw, rmsprop");
    };
  }

  private static void checkLr(double lr) {
    if (!(lr >= 0) || Double.isInfinite(lr)) {
      throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
    }
  }

  private void only(String option, Kind... kinds) {
    for (Kind k : kinds) {
      if (k == kind) {
        return;
      }
    }
    StringBuilder names = new StringBuilder();
    for (Kind k : kinds) {
      names.append(names.isEmpty() ? "" : ", ").append(k.name().toLowerCase(Locale.ROOT));
    }
    throw new IllegalArgumentException(
        option + " applies to " + names + ", not to " + kind.name().toLowerCase(Locale.ROOT));
  }

  private static void unit(String option, double v) {
    if (!(v >= 0 && v < 1)) {
      throw new IllegalArgumentException(option + " must be in [0, 1), got " + v);
    }
  }

  /** A copy with another base learning rate, finite and {@code >= 0}. */
  public Optimizer learningRate(double lr) {
    checkLr(lr);
    return with(f -> f.lr = lr);
  }

  /** A copy with momentum {@code m} in {@code [0, 1)} (SGD, RMSprop); 0 turns it off. */
  public Optimizer momentum(double m) {
    only("momentum", Kind.SGD, Kind.RMSPROP);
    unit("momentum", m);
    return with(f -> f.momentum = m);
  }

  /**
   * A copy with Nesterov momentum on or off (SGD). Nesterov needs a momentum {@code > 0} and zero
   * dampening, checked when the optimizer is put to use.
   */
  public Optimizer nesterov(boolean on) {
    only("nesterov", Kind.SGD);
    return with(f -> f.nesterov = on);
  }

  /** A copy with momentum dampening {@code d} in {@code [0, 1]} (SGD). */
  public Optimizer dampening(double d) {
    only("dampening", Kind.SGD);
    if (!(d >= 0 && d <= 1)) {
      throw new IllegalArgumentException("dampening must be in [0, 1], got " + d);
    }
    return with(f -> f.dampening = d);
  }

  /** A copy with the moment decay rates {@code b1}, {@code b2}, each in {@code [0, 1)} (Adam). */
  public Optimizer betas(double b1, double b2) {
    only("betas", Kind.ADAM, Kind.ADAMW);
    unit("beta1", b1);
    unit("beta2", b2);
    return with(
        f -> {
          f.beta1 = b1;
          f.beta2 = b2;
        });
  }

  /** A copy with the denominator term {@code e}, finite and {@code >= 0} (Adam, AdamW, RMSprop). */
  public Optimizer eps(double e) {
    only("eps", Kind.ADAM, Kind.ADAMW, Kind.RMSPROP);
    if (!(e >= 0) || Double.isInfinite(e)) {
      throw new IllegalArgumentException("eps must be finite and >= 0, got " + e);
    }
    return with(f -> f.eps = e);
  }

  /** A copy with the squared-gradient decay {@code a} in {@code [0, 1)} (RMSprop). */
  public Optimizer alpha(double a) {
    only("alpha", Kind.RMSPROP);
    unit("alpha", a);
    return with(f -> f.alpha = a);
  }

  /** A copy that normalizes by the gradient's estimated variance rather than its second moment. */
  public Optimizer centered(boolean on) {
    only("centered", Kind.RMSPROP);
    return with(f -> f.centered = on);
  }

  /**
   * A copy with weight decay {@code w}, finite and {@code >= 0}: added to the gradient as {@code w
   * · weight} (L2, PyTorch's semantics) for SGD, Adam and RMSprop; for AdamW decoupled, each step
   * multiplying the weights by {@code 1 - lr · w} before the Adam update.
   */
  public Optimizer weightDecay(double w) {
    if (!(w >= 0) || Double.isInfinite(w)) {
      throw new IllegalArgumentException("weight decay must be finite and >= 0, got " + w);
    }
    return with(f -> f.weightDecay = w);
  }

  /** A copy with a learning-rate schedule ({@link Schedule#constant()} by default). */
  public Optimizer schedule(Schedule s) {
    Objects.requireNonNull(s, "schedule");
    return with(f -> f.schedule = s);
  }

  /**
   * A copy that scales all gradients together when their global L2 norm exceeds {@code maxNorm}
   * ({@code > 0}; {@code Double.POSITIVE_INFINITY} turns it off), as {@code
   * torch.nn.utils.clip_grad_norm_}.
   */
  public Optimizer clipNorm(double maxNorm) {
    if (!(maxNorm > 0)) {
      throw new IllegalArgumentException("clipNorm must be > 0, got " + maxNorm);
    }
    return with(f -> f.clipNorm = maxNorm);
  }

  /**
   * A copy that clamps every gradient element to {@code [-v, v]} ({@code v > 0}; {@code
   * Double.POSITIVE_INFINITY} turns it off), as {@code torch.nn.utils.clip_grad_value_}.
   */
  public Optimizer clipValue(double v) {
    if (!(v > 0)) {
      throw new IllegalArgumentException("clipValue must be > 0, got " + v);
    }
    return with(f -> f.clipValue = v);
  }

  /** The update rule. */
  public Kind kind() {
    return kind;
  }

  /** The base learning rate, before the schedule's factor. */
  public double learningRate() {
    return lr;
  }

  /** Momentum (SGD, RMSprop); 0 when off. */
  public double momentum() {
    return momentum;
  }

  /** Momentum dampening (SGD). */
  public double dampening() {
    return dampening;
  }

  /** Whether SGD uses Nesterov momentum. */
  public boolean isNesterov() {
    return nesterov;
  }

  /** First-moment decay rate (Adam, AdamW). */
  public double beta1() {
    return beta1;
  }

  /** Second-moment decay rate (Adam, AdamW). */
  public double beta2() {
    return beta2;
  }

  /** The denominator term (Adam, AdamW, RMSprop). */
  public double eps() {
    return eps;
  }

  /** Squared-gradient decay (RMSprop). */
  public double alpha() {
    return alpha;
  }

  /** Whether RMSprop is centered. */
  public boolean isCentered() {
    return centered;
  }

  /** Weight decay: L2 for SGD, Adam and RMSprop, decoupled for AdamW. */
  public double weightDecay() {
    return weightDecay;
  }

  /** The learning-rate schedule. */
  public Schedule schedule() {
    return schedule;
  }

  /** Global gradient-norm limit; {@code Double.POSITIVE_INFINITY} when off. */
  public double clipNorm() {
    return clipNorm;
  }

  /** Element-wise gradient limit; {@code Double.POSITIVE_INFINITY} when off. */
  public double clipValue() {
    return clipValue;
  }

  /** Whether gradients are clipped by their global norm. */
  public boolean clipsNorm() {
    return clipNorm != Double.POSITIVE_INFINITY;
  }

  /** Whether gradients are clamped element-wise. */
  public boolean clipsValue() {
    return clipValue != Double.POSITIVE_INFINITY;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Optimizer p
        && kind == p.kind
        && Double.compare(lr, p.lr) == 0
        && Double.compare(momentum, p.momentum) == 0
        && Double.compare(dampening, p.dampening) == 0
        && nesterov == p.nesterov
        && Double.compare(beta1, p.beta1) == 0
        && Double.compare(beta2, p.beta2) == 0
        && Double.compare(eps, p.eps) == 0
        && Double.compare(alpha, p.alpha) == 0
        && centered == p.centered
        && Double.compare(weightDecay, p.weightDecay) == 0
        && schedule.equals(p.schedule)
        && Double.compare(clipNorm, p.clipNorm) == 0
        && Double.compare(clipValue, p.clipValue) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        kind,
        lr,
        momentum,
        dampening,
        nesterov,
        beta1,
        beta2,
        eps,
        alpha,
        centered,
        weightDecay,
        schedule,
        clipNorm,
        clipValue);
  }

  @Override
  public String toString() {
    StringBuilder b =
        new StringBuilder("Optimizer.")
            .append(kind.name().toLowerCase(Locale.ROOT))
            .append("(lr=")
            .append(lr);
    switch (kind) {
      case SGD -> {
        if (momentum != 0) {
          b.append(", momentum=").append(momentum);
        }
        if (dampening != 0) {
          b.append(", dampening=").append(dampening);
        }
        if (nesterov) {
          b.append(", nesterov");
        }
      }
      case ADAM, ADAMW ->
          b.append(", betas=(")
              .append(beta1)
              .append(", ")
              .append(beta2)
              .append("), eps=")
              .append(eps);
      case RMSPROP -> {
        b.append(", alpha=").append(alpha).append(", eps=").append(eps);
        if (momentum != 0) {
          b.append(", momentum=").append(momentum);
        }
        if (centered) {
          b.append(", centered");
        }
      }
    }
    if (weightDecay != 0) {
      b.append(", weightDecay=").append(weightDecay);
    }
    if (!schedule.equals(Schedule.constant())) {
      b.append(", ").append(schedule);
    }
    if (clipsNorm()) {
      b.append(", clipNorm=").append(clipNorm);
    }
    if (clipsValue()) {
      b.append(", clipValue=").append(clipValue);
    }
    return b.append(')').toString();
  }
}
