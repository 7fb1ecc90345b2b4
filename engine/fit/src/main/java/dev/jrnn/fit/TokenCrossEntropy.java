package dev.jrnn.fit;

/** Perplexity and bits per character from the token-pooled mean cross-entropy (nats). */
final class TokenCrossEntropy implements Metric {

  private static final double LN2 = Math.log(2);

  private final boolean bits;
  private double nats; // sum over counted tokens
  private long tokens;

  TokenCrossEntropy(boolean bits) {
    this.bits = bits;
  }

  @Override
  public String name() {
    return bits ? "bits_per_char" : "perplexity";
  }

  @Override
  public void reset() {
    nats = 0;
    tokens = 0;
  }

  @Override
  public void update(Predictions batch) {
    Positions p = Positions.of(batch);
    if (p.n > 0 && p.k < 2) {
      throw new IllegalArgumentException(
          name() + " needs logits over a vocabulary per token, got one score per position");
    }
    for (int i = 0; i < p.n; i++) {
      if (!p.counts(i)) {
        continue;
      }
      int y = p.id(i);
      if (y < 0 || y >= p.k) {
        throw new IllegalArgumentException(
            "target token " + y + " at position " + i + " is outside [0, " + p.k + ")");
      }
      int base = i * p.k;
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < p.k; c++) {
        max = Math.max(max, p.scores[base + c]);
      }
      double sum = 0;
      for (int c = 0; c < p.k; c++) {
        sum += Math.exp(p.scores[base + c] - max);
      }
      nats += max + Math.log(sum) - p.scores[base + y];
      tokens++;
    }
  }

  @Override
  public double value() {
    if (tokens == 0) {
      return Double.NaN;
    }
    double mean = nats / tokens;
    return bits ? mean / LN2 : Math.exp(mean);
  }
}
