package dev.jrnn.fit;

import java.util.Locale;
import java.util.Objects;
import java.util.function.DoubleUnaryOperator;

/** MSE, MAE and RMSE, optionally of inverse-transformed values. */
final class RegressionMetric implements Metric {

  enum Kind {
    MSE,
    MAE,
    RMSE
  }

  private final Kind kind;
  private final DoubleUnaryOperator inverse;
  private double sum; // of squared or absolute errors
  private long count;

  RegressionMetric(Kind kind, DoubleUnaryOperator inverse) {
    this.kind = kind;
    this.inverse = Objects.requireNonNull(inverse, "inverse");
  }

  @Override
  public String name() {
    return kind.name().toLowerCase(Locale.ROOT);
  }

  @Override
  public void reset() {
    sum = 0;
    count = 0;
  }

  @Override
  public void update(Predictions batch) {
    Positions p = Positions.of(batch);
    if (p.n > 0 && p.k != 1) {
      throw new IllegalArgumentException(
          name() + " needs one predicted value per target element, got " + p.k);
    }
    for (int i = 0; i < p.n; i++) {
      if (p.counts(i)) {
        double e = inverse.applyAsDouble(p.score(i)) - inverse.applyAsDouble(p.target(i));
        sum += kind == Kind.MAE ? Math.abs(e) : e * e;
        count++;
      }
    }
  }

  @Override
  public double value() {
    if (count == 0) {
      return Double.NaN;
    }
    double mean = sum / count;
    return kind == Kind.RMSE ? Math.sqrt(mean) : mean;
  }
}
