package dev.jrnn;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What training minimizes: a loss of one graph output against a target fed with the batch.
 * Immutable; every setter returns a copy.
 *
 * <pre>{@code
 * Loss.crossEntropy("logits").ignoreIndex(0).lengths("lengths")
 * Loss.huber("y", 0.5).sum()
 * }</pre>
 *
 * <p>The losses are PyTorch's, element by element and in their reductions:
 *
 * <ul>
 *   <li>{@link #crossEntropy}: softmax cross-entropy of logits over the output's last axis ({@code
 *       C} classes) against I32 class ids shaped like the output without its last axis ({@code
 *       nn.CrossEntropyLoss} with the class axis moved last). With {@link #classWeights} the mean
 *       is the weighted mean, {@code Σ w[y]·loss / Σ w[y]}; positions whose target is the {@link
 *       #ignoreIndex} add nothing to either sum.
 *   <li>{@link #binaryCrossEntropy}: sigmoid cross-entropy of logits against F32 targets of the
 *       output's shape ({@code nn.BCEWithLogitsLoss}).
 *   <li>{@link #mse}, {@link #mae}, {@link #huber}: squared, absolute and Huber error against F32
 *       targets of the output's shape ({@code nn.MSELoss}, {@code nn.L1Loss}, {@code
 *       nn.HuberLoss}).
 * </ul>
 *
 * <p>With {@link #lengths}, the output is a padded sequence, {@code [T, N, ...]} or with {@link
 * #batchFirst} {@code [N, T, ...]}, and only time steps {@code t < lengths[n]} count: padded
 * positions add nothing to the loss, get a zero gradient and are left out of the mean (the loss of
 * the packed sequence). Their targets are not looked at.
 *
 * <p>The mean of no counted position (everything padded or ignored) is NaN, as in PyTorch.
 */
public final class Loss {

  /** The loss function. */
  public enum Kind {
    /** Softmax cross-entropy over logits on the last axis, against class ids. */
    CROSS_ENTROPY,
    /** Sigmoid cross-entropy of logits, against targets in [0, 1]. */
    BINARY_CROSS_ENTROPY,
    /** Squared error. */
    MSE,
    /** Absolute error. */
    MAE,
    /** Huber error: squared within {@code delta}, linear beyond. */
    HUBER
  }

  /** How per-element losses combine into one number. */
  public enum Reduction {
    /** The (weighted) mean over counted positions. */
    MEAN,
    /** The (weighted) sum over counted positions. */
    SUM
  }

  private final Kind kind;
  private final String output;
  private final double delta;
  private final float[] classWeights; // null: all 1
  private final Integer ignoreIndex; // null: none
  private final String lengths; // null: no lengths input
  private final boolean batchFirst;
  private final Reduction reduction;

  private Loss(
      Kind kind,
      String output,
      double delta,
      float[] classWeights,
      Integer ignoreIndex,
      String lengths,
      boolean batchFirst,
      Reduction reduction) {
    this.kind = kind;
    this.output = output;
    this.delta = delta;
    this.classWeights = classWeights;
    this.ignoreIndex = ignoreIndex;
    this.lengths = lengths;
    this.batchFirst = batchFirst;
    this.reduction = reduction;
  }

  private static Loss of(Kind kind, String output, double delta) {
    if (output == null || output.isBlank()) {
      throw new IllegalArgumentException("loss output name must not be blank");
    }
    return new Loss(kind, output, delta, null, null, null, false, Reduction.MEAN);
  }

  /** Softmax cross-entropy of logits {@code output} over its last axis, against I32 class ids. */
  public static Loss crossEntropy(String output) {
    return of(Kind.CROSS_ENTROPY, output, 1);
  }

  /** Sigmoid cross-entropy of logits {@code output} against F32 targets of its shape. */
  public static Loss binaryCrossEntropy(String output) {
    return of(Kind.BINARY_CROSS_ENTROPY, output, 1);
  }

  /** Mean squared error of {@code output} against F32 targets of its shape. */
  public static Loss mse(String output) {
    return of(Kind.MSE, output, 1);
  }

  /** Mean absolute error of {@code output} against F32 targets of its shape. */
  public static Loss mae(String output) {
    return of(Kind.MAE, output, 1);
  }

  /**
   * Huber loss of {@code output}: {@code d²/2} where {@code |d| < delta}, else {@code delta·(|d| -
   * delta/2)}, {@code d} the difference from the target.
   *
   * @param delta where the loss turns linear, finite and {@code > 0}
   */
  public static Loss huber(String output, double delta) {
    return of(Kind.HUBER, output, checkDelta(delta));
  }

  /**
   * The loss named {@code ce}, {@code bce}, {@code mse}, {@code mae} or {@code huber} (delta 1),
   * any case, of {@code output}.
   *
   * @throws IllegalArgumentException for another name, listing the known ones
   */
  public static Loss byName(String name, String output) {
    Objects.requireNonNull(name, "name");
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "ce" -> crossEntropy(output);
      case "bce" -> binaryCrossEntropy(output);
      case "mse" -> mse(output);
      case "mae" -> mae(output);
      case "huber" -> huber(output, 1);
      default ->
          throw new IllegalArgumentException(
              "unknown loss '" + name + "'; known: ce, bce, mse, mae, huber");
    };
  }

  private static double checkDelta(double delta) {
    if (!(delta > 0) || Double.isInfinite(delta)) {
      throw new IllegalArgumentException("huber delta must be finite and > 0, got " + delta);
    }
    return delta;
  }

  private void crossEntropyOnly(String option) {
    if (kind != Kind.CROSS_ENTROPY) {
      throw new IllegalArgumentException(
          option
              + " applies to cross-entropy only, not to "
              + kind.name().toLowerCase(Locale.ROOT));
    }
  }

  /**
   * A copy weighting each class's loss (cross-entropy): {@code w[c]} for targets of class {@code
   * c}, one finite weight {@code >= 0} per class; the mean becomes the weighted mean.
   */
  public Loss classWeights(float... w) {
    crossEntropyOnly("classWeights");
    Objects.requireNonNull(w, "class weights");
    if (w.length == 0) {
      throw new IllegalArgumentException("classWeights needs one weight per class, got none");
    }
    for (int c = 0; c < w.length; c++) {
      if (!(w[c] >= 0) || Float.isInfinite(w[c])) {
        throw new IllegalArgumentException(
            "class weight " + c + " is " + w[c] + "; weights must be finite and >= 0");
      }
    }
    return new Loss(kind, output, delta, w.clone(), ignoreIndex, lengths, batchFirst, reduction);
  }

  /**
   * A copy in which positions whose target is {@code id} add nothing to the loss and are left out
   * of the mean (cross-entropy; PyTorch's {@code ignore_index}). Any int, a class id or not.
   */
  public Loss ignoreIndex(int id) {
    crossEntropyOnly("ignoreIndex");
    return new Loss(kind, output, delta, classWeights, id, lengths, batchFirst, reduction);
  }

  /** A copy with another Huber {@code delta}, finite and {@code > 0}. */
  public Loss delta(double d) {
    if (kind != Kind.HUBER) {
      throw new IllegalArgumentException(
          "delta applies to huber only, not to " + kind.name().toLowerCase(Locale.ROOT));
    }
    return new Loss(
        kind, output, checkDelta(d), classWeights, ignoreIndex, lengths, batchFirst, reduction);
  }

  /**
   * A copy that treats the output as a padded sequence whose per-row lengths come from the I32
   * {@code [N]} graph input {@code inputName}: only steps {@code t < lengths[n]} count.
   */
  public Loss lengths(String inputName) {
    if (inputName == null || inputName.isBlank()) {
      throw new IllegalArgumentException("lengths input name must not be blank");
    }
    return new Loss(
        kind, output, delta, classWeights, ignoreIndex, inputName, batchFirst, reduction);
  }

  /**
   * A copy stating the sequence layout for {@link #lengths}: {@code [N, T, ...]} when true, {@code
   * [T, N, ...]} (the default) when false. Without lengths the layout does not matter.
   */
  public Loss batchFirst(boolean on) {
    return new Loss(kind, output, delta, classWeights, ignoreIndex, lengths, on, reduction);
  }

  /** A copy that sums the per-position losses. */
  public Loss sum() {
    return new Loss(
        kind, output, delta, classWeights, ignoreIndex, lengths, batchFirst, Reduction.SUM);
  }

  /** A copy that averages the per-position losses (the default). */
  public Loss mean() {
    return new Loss(
        kind, output, delta, classWeights, ignoreIndex, lengths, batchFirst, Reduction.MEAN);
  }

  /** The loss function. */
  public Kind kind() {
    return kind;
  }

  /** The name of the graph output the loss is taken of. */
  public String output() {
    return output;
  }

  /** The Huber delta (1 for the other kinds, where it is unused). */
  public double delta() {
    return delta;
  }

  /** A copy of the class weights, or empty when every class weighs 1. */
  public Optional<float[]> classWeights() {
    return Optional.ofNullable(classWeights).map(float[]::clone);
  }

  /** The ignored target id, if any. */
  public OptionalInt ignoreIndex() {
    return ignoreIndex == null ? OptionalInt.empty() : OptionalInt.of(ignoreIndex);
  }

  /** The name of the lengths input, if the output is a padded sequence. */
  public Optional<String> lengthsInput() {
    return Optional.ofNullable(lengths);
  }

  /** Whether the sequence layout is {@code [N, T, ...]}. */
  public boolean isBatchFirst() {
    return batchFirst;
  }

  /** Mean (the default) or sum. */
  public Reduction reduction() {
    return reduction;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Loss l
        && kind == l.kind
        && output.equals(l.output)
        && Double.compare(delta, l.delta) == 0
        && Arrays.equals(classWeights, l.classWeights)
        && Objects.equals(ignoreIndex, l.ignoreIndex)
        && Objects.equals(lengths, l.lengths)
        && batchFirst == l.batchFirst
        && reduction == l.reduction;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        kind,
        output,
        delta,
        Arrays.hashCode(classWeights),
        ignoreIndex,
        lengths,
        batchFirst,
        reduction);
  }

  @Override
  public String toString() {
    StringBuilder b =
        new StringBuilder("Loss.")
            .append(kind.name().toLowerCase(Locale.ROOT))
            .append("(")
            .append(output);
    if (kind == Kind.HUBER) {
      b.append(", delta=").append(delta);
    }
    if (classWeights != null) {
      b.append(", classWeights=").append(Arrays.toString(classWeights));
    }
    if (ignoreIndex != null) {
      b.append(", ignoreIndex=").append(ignoreIndex);
    }
    if (lengths != null) {
      b.append(", lengths=").append(lengths).append(batchFirst ? ", batchFirst" : "");
    }
    return b.append(", ").append(reduction.name().toLowerCase(Locale.ROOT)).append(')').toString();
  }
}
