package dev.jrnn.data;

import dev.jrnn.Weights;
import java.util.Map;
import java.util.Objects;

/**
 * Z-score normalisation, {@code (x − mean) / std}, with the mean and the population standard
 * deviation of the values it was fitted on. Fit it on the training part only, so no statistic of
 * validation or test data leaks into training. A constant training part (std 0) gets scale 1: it is
 * only centred, and {@link #invert} still undoes {@link #apply}. Immutable.
 */
public final class Normalizer {

  /** The {@link Weights#metadata() metadata} key under which {@link #storeIn} saves it. */
  public static final String METADATA_KEY = "jrnn.normalizer";

  private final double mean;
  private final double std;
  private final double scale; // std, or 1 when std is 0

  private Normalizer(double mean, double std) {
    this.mean = mean;
    this.std = std;
    this.scale = std == 0 ? 1 : std;
  }

  /** A normaliser with the given statistics; {@code std} finite and {@code >= 0}. */
  public static Normalizer of(double mean, double std) {
    if (!Double.isFinite(mean)) {
      throw new IllegalArgumentException("mean must be finite, got " + mean);
    }
    if (!Double.isFinite(std) || std < 0) {
      throw new IllegalArgumentException("std must be finite and >= 0, got " + std);
    }
    return new Normalizer(mean, std);
  }

  /** Fitted on all of {@code values}. */
  public static Normalizer fit(double[] values) {
    return fit(values, 0, Objects.requireNonNull(values, "values").length);
  }

  /**
   * Fitted on {@code values[from, to)}: the training part of a series.
   *
   * @throws IllegalArgumentException if the range is empty or outside the array, or a value in it
   *     is not finite (naming its index)
   */
  public static Normalizer fit(double[] values, int from, int to) {
    Objects.requireNonNull(values, "values");
    if (from < 0 || to > values.length || from >= to) {
      throw new IllegalArgumentException(
          "cannot fit on values ["
              + from
              + ", "
              + to
              + ") of "
              + values.length
              + ": the range must be non-empty and inside the array");
    }
    double sum = 0;
    for (int i = from; i < to; i++) {
      if (!Double.isFinite(values[i])) {
        throw new IllegalArgumentException("value " + i + " is not finite: " + values[i]);
      }
      sum += values[i];
    }
    double mean = sum / (to - from);
    double ss = 0; // two passes: no cancellation for large means
    for (int i = from; i < to; i++) {
      double d = values[i] - mean;
      ss += d * d;
    }
    return new Normalizer(mean, Math.sqrt(ss / (to - from)));
  }

  /** The mean subtracted. */
  public double mean() {
    return mean;
  }

  /** The population standard deviation of the fitted values (0 for a constant part). */
  public double std() {
    return std;
  }

  /** {@code (x − mean) / std}; {@code x − mean} when std is 0. */
  public double apply(double x) {
    return (x - mean) / scale;
  }

  /** {@link #apply(double)} of each value (a new array). */
  public double[] apply(double[] xs) {
    double[] out = new double[xs.length];
    for (int i = 0; i < xs.length; i++) {
      out[i] = (xs[i] - mean) / scale;
    }
    return out;
  }

  /** {@code z · std + mean}: the inverse of {@link #apply(double)}. */
  public double invert(double z) {
    return z * scale + mean;
  }

  /** {@link #invert(double)} of each value (a new array). */
  public double[] invert(double[] zs) {
    double[] out = new double[zs.length];
    for (int i = 0; i < zs.length; i++) {
      out[i] = zs[i] * scale + mean;
    }
    return out;
  }

  /** {@link #invert(double)} of each value, e.g. of a model output's {@code toFloatArray()}. */
  public double[] invert(float[] zs) {
    double[] out = new double[zs.length];
    for (int i = 0; i < zs.length; i++) {
      out[i] = zs[i] * scale + mean;
    }
    return out;
  }

  /** {@code {"mean":…,"std":…}}, exact: {@link #fromJson} gives back equal statistics. */
  public String toJson() {
    return "{\"mean\":" + mean + ",\"std\":" + std + "}";
  }

  /** Reads {@link #toJson}'s output; malformed JSON or a missing or bad member is an error. */
  public static Normalizer fromJson(String json) {
    String what = "normalizer JSON";
    Map<String, Object> o = Json.parseObject(Objects.requireNonNull(json, "json"), what);
    try {
      return of(Json.number(o, "mean", what), Json.number(o, "std", what));
    } catch (IllegalArgumentException e) {
      if (e.getMessage().startsWith(what)) {
        throw e;
      }
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    }
  }

  /** Saves this normaliser in {@code weights}' metadata under {@link #METADATA_KEY}. */
  public void storeIn(Weights weights) {
    weights.putMetadata(METADATA_KEY, toJson());
  }

  /**
   * The normaliser saved in {@code weights}' metadata by {@link #storeIn}; an error naming {@link
   * #METADATA_KEY} and the keys present if there is none.
   */
  public static Normalizer from(Weights weights) {
    return fromJson(Metadata.require(weights, METADATA_KEY, "normalizer", "Normalizer.storeIn"));
  }

  /** Equal when mean and std are. */
  @Override
  public boolean equals(Object o) {
    return o instanceof Normalizer n
        && Double.compare(mean, n.mean) == 0
        && Double.compare(std, n.std) == 0;
  }

  @Override
  public int hashCode() {
    return Double.hashCode(mean) * 31 + Double.hashCode(std);
  }

  /** "Normalizer(mean=…, std=…)". */
  @Override
  public String toString() {
    return "Normalizer(mean=" + mean + ", std=" + std + ")";
  }
}
