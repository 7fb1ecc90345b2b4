package dev.jrnn.ir;

import dev.jrnn.DType;
import dev.jrnn.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A named parameter tensor a node needs, with its shape and how {@code Weights.random} fills it.
 *
 * @param name canonical name, e.g. {@code lstm.l0.fwd.W}
 * @param shape required shape
 * @param init how to initialise it randomly
 * @param scale bound of the uniform distribution, or standard deviation of the normal one
 * @param matrix whether this is a weight matrix that reduced precisions apply to (see {@link
 *     dev.jrnn.Precision}): recurrent {@code W}, {@code R}, {@code Wp} and {@code Linear} weights
 */
public record WeightSpec(String name, int[] shape, Init init, double scale, boolean matrix) {

  /** Random initialisation scheme. */
  public enum Init {
    UNIFORM,
    NORMAL,
    ZERO
  }

  public WeightSpec {
    shape = shape.clone();
    if (matrix && shape.length != 2) {
      throw new IllegalArgumentException(name + ": a weight matrix needs rank 2");
    }
  }

  /** A parameter that always stays f32 (biases, peepholes, embeddings). */
  public WeightSpec(String name, int[] shape, Init init, double scale) {
    this(name, shape, init, scale, false);
  }

  /** A new tensor of this shape, filled from {@code rnd} as {@link #init} says. */
  public Tensor random(SplittableRandom rnd) {
    Tensor t = Tensor.allocate(DType.F32, shape);
    for (long i = 0; i < t.size(); i++) {
      double v =
          switch (init) {
            case UNIFORM -> (rnd.nextDouble() * 2 - 1) * scale;
            case NORMAL -> gaussian(rnd) * scale;
            case ZERO -> 0.0;
          };
      t.setFloat(i, (float) v);
    }
    return t;
  }

  /** Box–Muller: one standard normal sample. */
  private static double gaussian(SplittableRandom rnd) {
    double u1 = rnd.nextDouble();
    double u2 = rnd.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }

  @Override
  public int[] shape() {
    return shape.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WeightSpec w
        && name.equals(w.name)
        && Arrays.equals(shape, w.shape)
        && init == w.init
        && Double.compare(scale, w.scale) == 0
        && matrix == w.matrix;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + " " + Arrays.toString(shape);
  }
}
