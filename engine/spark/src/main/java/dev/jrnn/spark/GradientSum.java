package dev.jrnn.spark;

import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import java.io.Serializable;

/**
 * Partitions' gradients on their shares of one batch, summed in double: {@code Σ c·g} and {@code Σ
 * c·loss}, where {@code c} is a share's weight in the batch's loss (its row count, or the sum of
 * its rows' class weights; see {@link Targets#weight}) for a mean loss, and 1 for a summed loss.
 * What the tree aggregation of a step carries and combines.
 */
final class GradientSum implements Serializable {

  private static final long serialVersionUID = 1L;

  double weight; // Σ of the shares' weights in the loss
  double loss; // Σ c · loss
  long rows; // rows that contributed
  int shares; // partitions that contributed
  double[][] sums; // Σ c · gradient, per name of the blob; null while nothing is added

  /**
   * Adds one share's loss and gradients ({@code grads} holds every name of {@code names}).
   *
   * @param coefficient c: the share's weight for a mean loss, 1 for a summed one
   */
  GradientSum add(
      double shareWeight,
      double coefficient,
      int shareRows,
      double shareLoss,
      Weights grads,
      String[] names) {
    if (sums == null) {
      sums = new double[names.length][];
    }
    for (int i = 0; i < names.length; i++) {
      Tensor g = grads.get(names[i]);
      if (sums[i] == null) {
        sums[i] = new double[(int) g.size()];
      }
      double[] s = sums[i];
      float[] v = g.toFloatArray();
      for (int j = 0; j < v.length; j++) {
        s[j] += coefficient * v[j];
      }
    }
    weight += shareWeight;
    loss += coefficient * shareLoss;
    rows += shareRows;
    shares++;
    return this;
  }

  /** This sum with {@code other}'s added (either may be empty). */
  GradientSum merge(GradientSum other) {
    if (other.sums != null) {
      if (sums == null) {
        sums = new double[other.sums.length][];
      }
      for (int i = 0; i < sums.length; i++) {
        if (other.sums[i] == null) {
          continue;
        }
        if (sums[i] == null) {
          sums[i] = other.sums[i].clone();
        } else {
          double[] s = sums[i];
          double[] o = other.sums[i];
          for (int j = 0; j < s.length; j++) {
            s[j] += o[j];
          }
        }
      }
    }
    weight += other.weight;
    loss += other.loss;
    rows += other.rows;
    shares += other.shares;
    return this;
  }

  /**
   * The batch's gradients: the sums divided by the total weight (a mean loss) or as they are (a
   * summed loss), as F32 weights named and shaped as {@code like}; the caller closes them.
   */
  Weights gradients(WeightsBlob like, boolean mean) {
    Weights w = Weights.empty();
    for (int i = 0; i < like.names().length; i++) {
      double[] s = sums[i];
      float[] v = new float[s.length];
      for (int j = 0; j < v.length; j++) {
        v[j] = (float) (mean ? s[j] / weight : s[j]);
      }
      w.put(like.names()[i], Tensor.of(v, like.shapes()[i]));
    }
    return w;
  }

  /** The batch's loss: the mean over the shares' weights, or the sum. */
  double batchLoss(boolean mean) {
    return mean ? loss / weight : loss;
  }
}
