package dev.jrnn.spark;

import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import java.io.Serializable;

/**
 * Named F32 tensors as plain arrays, so weights can be broadcast ({@link Weights} hold native
 * memory and are not serializable).
 *
 * @param names in the order of the weights they were made from
 * @param shapes one per name
 * @param values one row-major array per name
 */
record WeightsBlob(String[] names, int[][] shapes, float[][] values) implements Serializable {

  /** A copy of {@code w}'s tensors. */
  static WeightsBlob of(Weights w) {
    String[] names = w.names().toArray(String[]::new);
    int[][] shapes = new int[names.length][];
    float[][] values = new float[names.length][];
    for (int i = 0; i < names.length; i++) {
      Tensor t = w.get(names[i]);
      shapes[i] = t.shape();
      values[i] = t.toFloatArray();
    }
    return new WeightsBlob(names, shapes, values);
  }

  /** New weights holding these values; the caller closes them. */
  Weights toWeights() {
    Weights w = Weights.empty();
    for (int i = 0; i < names.length; i++) {
      w.put(names[i], Tensor.of(values[i], shapes[i]));
    }
    return w;
  }
}
