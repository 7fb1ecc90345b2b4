package dev.jrnn.fit;

import dev.jrnn.DType;
import dev.jrnn.Loss;
import dev.jrnn.Tensor;

/**
 * One batch's {@link Predictions} read into arrays: {@code n} positions (target elements), {@code
 * k} scores each, and which positions count.
 */
final class Positions {

  final int n;
  final int k;
  final float[] scores; // [n, k]
  private final int[] ids; // I32 target, else null
  private final float[] values; // F32 target, else null
  private final boolean[] skip; // null: every position counts

  private Positions(int n, int k, float[] scores, int[] ids, float[] values, boolean[] skip) {
    this.n = n;
    this.k = k;
    this.scores = scores;
    this.ids = ids;
    this.values = values;
    this.skip = skip;
  }

  static Positions of(Predictions p) {
    Tensor out = p.output();
    Tensor target = p.target();
    int n = Math.toIntExact(target.size());
    if (n == 0) {
      return new Positions(0, 1, new float[0], new int[0], null, null);
    }
    if (out.size() % n != 0 || out.size() == 0) {
      throw new IllegalArgumentException(
          "output "
              + out.describe()
              + " does not hold a whole number of scores per target element of "
              + target.describe());
    }
    int k = Math.toIntExact(out.size() / n);
    int[] ids = target.dtype() == DType.I32 ? target.toIntArray() : null;
    float[] values = ids == null ? target.toFloatArray() : null;
    boolean[] skip = null;
    if (p.lengths() != null) {
      skip = paddingMask(target, p.lengths(), p.batchFirst());
    }
    if (p.ignoreIndex().isPresent() && ids != null) {
      int ignored = p.ignoreIndex().getAsInt();
      for (int i = 0; i < n; i++) {
        if (ids[i] == ignored) {
          if (skip == null) {
            skip = new boolean[n];
          }
          skip[i] = true;
        }
      }
    }
    return new Positions(n, k, out.toFloatArray(), ids, values, skip);
  }

  /**
   * True where {@code t >= lengths[n]} in a {@code [T, N, ...]} (or {@code [N, T, ...]}) target.
   */
  private static boolean[] paddingMask(Tensor target, Tensor lengths, boolean batchFirst) {
    if (target.rank() < 2) {
      throw new IllegalArgumentException(
          "lengths need a sequence target [T, N, ...] or [N, T, ...], got " + target.describe());
    }
    int steps = target.dim(batchFirst ? 1 : 0);
    int rows = target.dim(batchFirst ? 0 : 1);
    if (lengths.dim(0) != rows) {
      throw new IllegalArgumentException(
          "lengths " + lengths.describe() + " do not match the " + rows + " rows of the target");
    }
    int[] len = lengths.toIntArray();
    int inner = Math.toIntExact(target.size() / ((long) steps * rows));
    boolean[] skip = new boolean[Math.toIntExact(target.size())];
    for (int i = 0; i < skip.length; i++) {
      int outer = i / inner;
      int t = batchFirst ? outer % steps : outer / rows;
      int row = batchFirst ? outer / steps : outer % rows;
      skip[i] = t >= len[row];
    }
    return skip;
  }

  /**
   * What {@code loss}'s mean over one batch divides by, so that batch means pool into the mean over
   * all positions: the positions it counts (within the lengths, not the ignored id), each weighted
   * by its class weight when there are class weights. With {@link Loss.Reduction#SUM}, the batch's
   * sequences.
   */
  static double lossWeight(Loss loss, Tensor target, Tensor lengths, int sequences) {
    if (loss.reduction() == Loss.Reduction.SUM) {
      return sequences;
    }
    boolean[] skip = lengths != null ? paddingMask(target, lengths, loss.isBatchFirst()) : null;
    int[] ids = target.dtype() == DType.I32 ? target.toIntArray() : null;
    float[] w = loss.classWeights().orElse(null);
    int ignored = loss.ignoreIndex().orElse(Integer.MIN_VALUE);
    double total = 0;
    for (int i = 0; i < target.size(); i++) {
      if ((skip != null && skip[i]) || (ids != null && ids[i] == ignored)) {
        continue;
      }
      total += w != null && ids != null && ids[i] >= 0 && ids[i] < w.length ? w[ids[i]] : 1;
    }
    return total;
  }

  boolean counts(int i) {
    return skip == null || !skip[i];
  }

  boolean hasIds() {
    return ids != null;
  }

  /** The class id target of position {@code i} (I32 targets only). */
  int id(int i) {
    if (ids == null) {
      throw new IllegalArgumentException("this metric needs I32 class ids as targets, got F32");
    }
    return ids[i];
  }

  /** The target of position {@code i} as a number. */
  double target(int i) {
    return ids != null ? ids[i] : values[i];
  }

  /** The only score of position {@code i} ({@code k == 1}). */
  float score(int i) {
    return scores[i];
  }

  /** The class with the highest score at position {@code i}, the first on ties. */
  int argmax(int i) {
    int base = i * k;
    int best = 0;
    for (int c = 1; c < k; c++) {
      if (scores[base + c] > scores[base + best]) {
        best = c;
      }
    }
    return best;
  }
}
