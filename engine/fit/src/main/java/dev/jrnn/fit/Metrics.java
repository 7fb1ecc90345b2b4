package dev.jrnn.fit;

import java.util.Locale;
import java.util.Objects;
import java.util.function.DoubleUnaryOperator;

/**
 * The built-in {@link Metric}s, each a fresh accumulator.
 *
 * <ul>
 *   <li>Classification over positions ({@link Predictions}): a position's prediction is the argmax
 *       of its logits when the output has {@code K >= 2} scores per position; with one score it is
 *       "positive" when the logit is {@code > 0} ({@link Scores#LOGITS}, the default, matching
 *       {@code Loss.binaryCrossEntropy}) or the probability is {@code > 0.5} ({@link
 *       Scores#PROBABILITIES}). A target is positive when its I32 id is 1 or its F32 value is
 *       {@code > 0.5}.
 *   <li>{@link Average#BINARY} precision, recall and F1 are of the positive class (class 1): {@code
 *       tp/(tp+fp)}, {@code tp/(tp+fn)}, {@code 2tp/(2tp+fp+fn)}, each 0 when its denominator is
 *       (no positive predictions: precision 0 and F1 0).
 *   <li>{@link Average#MACRO} ones are the unweighted mean over the classes that occur among the
 *       targets or the predictions (scikit-learn's default labels) of each class's value, 0 where
 *       undefined; macro F1 is the mean of the per-class F1s, not the F1 of the means.
 *   <li>Perplexity and bits per character come from the mean cross-entropy per counted token, in
 *       nats, of the logits against I32 ids, pooled over batches by tokens: {@code exp(mean)} and
 *       {@code mean / ln 2}.
 *   <li>MSE, MAE and RMSE of one value per position, optionally after an inverse transform applied
 *       to prediction and target alike (a de-normaliser), so errors are in the data's units.
 * </ul>
 *
 * <p>A metric that saw no counted position is NaN, except precision, recall and F1, which are 0.
 */
public final class Metrics {

  /** How one score per position is read. */
  public enum Scores {
    /** Logits: positive when {@code > 0}. */
    LOGITS,
    /** Probabilities: positive when {@code > 0.5}. */
    PROBABILITIES
  }

  /** How precision, recall and F1 treat classes. */
  public enum Average {
    /** Of the positive class (1) only. */
    BINARY,
    /** The mean over classes, each counted alike. */
    MACRO
  }

  private Metrics() {}

  /** Accuracy: the share of counted positions predicted right ({@code accuracy}); logits. */
  public static Metric accuracy() {
    return accuracy(Scores.LOGITS);
  }

  /** Accuracy with single scores read as {@code scores}. */
  public static Metric accuracy(Scores scores) {
    return new ClassificationMetric(ClassificationMetric.Kind.ACCURACY, Average.BINARY, scores);
  }

  /** Binary precision of class 1 ({@code precision}); single scores are logits. */
  public static Metric precision() {
    return precision(Average.BINARY, Scores.LOGITS);
  }

  /** Precision ({@code precision}), binary or macro. */
  public static Metric precision(Average average, Scores scores) {
    return new ClassificationMetric(ClassificationMetric.Kind.PRECISION, average, scores);
  }

  /** Binary recall of class 1 ({@code recall}); single scores are logits. */
  public static Metric recall() {
    return recall(Average.BINARY, Scores.LOGITS);
  }

  /** Recall ({@code recall}), binary or macro. */
  public static Metric recall(Average average, Scores scores) {
    return new ClassificationMetric(ClassificationMetric.Kind.RECALL, average, scores);
  }

  /** Binary F1 of class 1 ({@code f1}); single scores are logits. */
  public static Metric f1() {
    return f1(Average.BINARY, Scores.LOGITS);
  }

  /** F1 ({@code f1}), binary or macro. */
  public static Metric f1(Average average, Scores scores) {
    return new ClassificationMetric(ClassificationMetric.Kind.F1, average, scores);
  }

  /** Macro precision over the classes of an argmax ({@code precision}). */
  public static Metric macroPrecision() {
    return precision(Average.MACRO, Scores.LOGITS);
  }

  /** Macro recall over the classes of an argmax ({@code recall}). */
  public static Metric macroRecall() {
    return recall(Average.MACRO, Scores.LOGITS);
  }

  /** Macro F1 over the classes of an argmax ({@code f1}). */
  public static Metric macroF1() {
    return f1(Average.MACRO, Scores.LOGITS);
  }

  /** {@code exp} of the mean cross-entropy per counted token ({@code perplexity}). */
  public static Metric perplexity() {
    return new TokenCrossEntropy(false);
  }

  /** The mean cross-entropy per counted token in bits ({@code bits_per_char}). */
  public static Metric bitsPerChar() {
    return new TokenCrossEntropy(true);
  }

  /** Mean squared error ({@code mse}). */
  public static Metric mse() {
    return mse(DoubleUnaryOperator.identity());
  }

  /** Mean squared error after {@code inverse} of prediction and target ({@code mse}). */
  public static Metric mse(DoubleUnaryOperator inverse) {
    return new RegressionMetric(RegressionMetric.Kind.MSE, inverse);
  }

  /** Mean absolute error ({@code mae}). */
  public static Metric mae() {
    return mae(DoubleUnaryOperator.identity());
  }

  /** Mean absolute error after {@code inverse} of prediction and target ({@code mae}). */
  public static Metric mae(DoubleUnaryOperator inverse) {
    return new RegressionMetric(RegressionMetric.Kind.MAE, inverse);
  }

  /** Root mean squared error ({@code rmse}). */
  public static Metric rmse() {
    return rmse(DoubleUnaryOperator.identity());
  }

  /** Root mean squared error after {@code inverse} of prediction and target ({@code rmse}). */
  public static Metric rmse(DoubleUnaryOperator inverse) {
    return new RegressionMetric(RegressionMetric.Kind.RMSE, inverse);
  }

  /**
   * The metric called {@code name} (any case): {@code accuracy}, {@code precision}, {@code recall},
   * {@code f1} (binary, logits; {@code macro_precision}, {@code macro_recall}, {@code macro_f1} for
   * the macro ones, named without the prefix), {@code perplexity}, {@code bits_per_char}, {@code
   * mse}, {@code mae}, {@code rmse}.
   *
   * @throws IllegalArgumentException for another name, listing the known ones
   */
  public static Metric byName(String name) {
    Objects.requireNonNull(name, "name");
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "accuracy" -> accuracy();
      case "precision" -> precision();
      case "recall" -> recall();
      case "f1" -> f1();
      case "macro_precision" -> macroPrecision();
      case "macro_recall" -> macroRecall();
      case "macro_f1" -> macroF1();
      case "perplexity" -> perplexity();
      case "bits_per_char" -> bitsPerChar();
      case "mse" -> mse();
      case "mae" -> mae();
      case "rmse" -> rmse();
      default ->
          throw new IllegalArgumentException(
              "unknown metric '"
                  + name
                  + "'; known: accuracy, precision, recall, f1, macro_precision, macro_recall,"
                  + " macro_f1, perplexity, bits_per_char, mse, mae, rmse");
    };
  }

  /** Whether larger values of the metric called {@code name} (without {@code val_}) are better. */
  static boolean higherIsBetter(String name) {
    return switch (name) {
      case "accuracy", "precision", "recall", "f1" -> true;
      default -> false;
    };
  }
}
