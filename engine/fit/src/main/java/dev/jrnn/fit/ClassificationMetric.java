package dev.jrnn.fit;

import java.util.Arrays;
import java.util.Locale;

/** Accuracy, precision, recall and F1: binary or macro (see {@link Metrics}). */
final class ClassificationMetric implements Metric {

  enum Kind {
    ACCURACY,
    PRECISION,
    RECALL,
    F1
  }

  private final Kind kind;
  private final Metrics.Average average;
  private final Metrics.Scores scores;
  private long correct;
  private long total;
  private long[] tp = new long[2]; // per class; binary uses class 1
  private long[] fp = new long[2];
  private long[] fn = new long[2];

  ClassificationMetric(Kind kind, Metrics.Average average, Metrics.Scores scores) {
    this.kind = kind;
    this.average = average;
    this.scores = scores;
  }

  @Override
  public String name() {
    return kind.name().toLowerCase(Locale.ROOT);
  }

  @Override
  public void reset() {
    correct = 0;
    total = 0;
    tp = new long[2];
    fp = new long[2];
    fn = new long[2];
  }

  @Override
  public void update(Predictions batch) {
    Positions p = Positions.of(batch);
    for (int i = 0; i < p.n; i++) {
      if (!p.counts(i)) {
        continue;
      }
      int predicted = predicted(p, i);
      int actual = actual(p, i);
      total++;
      if (predicted == actual) {
        correct++;
      }
      grow(Math.max(predicted, actual) + 1);
      if (predicted == actual) {
        tp[actual]++;
      } else {
        fp[predicted]++;
        fn[actual]++;
      }
    }
  }

  private int predicted(Positions p, int i) {
    if (p.k > 1) {
      return p.argmax(i);
    }
    float s = p.score(i);
    return (scores == Metrics.Scores.LOGITS ? s > 0 : s > 0.5f) ? 1 : 0;
  }

  private static int actual(Positions p, int i) {
    if (p.k > 1) {
      int id = p.id(i);
      if (id < 0 || id >= p.k) {
        throw new IllegalArgumentException(
            "target class " + id + " at position " + i + " is outside [0, " + p.k + ")");
      }
      return id;
    }
    return p.hasIds() ? (p.id(i) == 1 ? 1 : 0) : (p.target(i) > 0.5 ? 1 : 0);
  }

  private void grow(int classes) {
    if (classes > tp.length) {
      tp = Arrays.copyOf(tp, classes);
      fp = Arrays.copyOf(fp, classes);
      fn = Arrays.copyOf(fn, classes);
    }
  }

  @Override
  public double value() {
    if (kind == Kind.ACCURACY) {
      return total == 0 ? Double.NaN : (double) correct / total;
    }
    if (average == Metrics.Average.BINARY) {
      return of(1);
    }
    double sum = 0;
    int classes = 0;
    for (int c = 0; c < tp.length; c++) {
      if (tp[c] + fp[c] + fn[c] > 0) {
        sum += of(c);
        classes++;
      }
    }
    return classes == 0 ? 0 : sum / classes;
  }

  /** This metric's value for class {@code c} alone, 0 where its denominator is 0. */
  private double of(int c) {
    long num =
        switch (kind) {
          case F1 -> 2 * tp[c];
          default -> tp[c];
        };
    long den =
        switch (kind) {
          case PRECISION -> tp[c] + fp[c];
          case RECALL -> tp[c] + fn[c];
          case F1 -> 2 * tp[c] + fp[c] + fn[c];
          case ACCURACY -> throw new AssertionError();
        };
    return den == 0 ? 0 : (double) num / den;
  }

  @Override
  public String toString() {
    return (average == Metrics.Average.MACRO ? "macro " : "") + name();
  }
}
