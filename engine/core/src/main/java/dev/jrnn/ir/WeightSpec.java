package dev.jrnn.ir;

import java.util.Arrays;

/**
 * A named parameter tensor a node needs, with its shape and how {@code Weights.random} fills it.
 *
 * @param name canonical name, e.g. {@code lstm.l0.fwd.W}
 * @param shape required shape
 * @param init how to initialise it randomly
 * @param scale bound of the uniform distribution, or standard deviation of the normal one
 */
public record WeightSpec(String name, int[] shape, Init init, double scale) {

  /** Random initialisation scheme. */
  public enum Init {
    UNIFORM,
    NORMAL,
    ZERO
  }

  public WeightSpec {
    shape = shape.clone();
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
        && Double.compare(scale, w.scale) == 0;
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
