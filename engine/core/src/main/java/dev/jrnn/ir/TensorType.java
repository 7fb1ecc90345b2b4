package dev.jrnn.ir;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Element type and (possibly symbolic) shape of a graph value.
 *
 * @param dtype element type
 * @param dims dimensions, fixed or dynamic
 */
public record TensorType(DType dtype, List<Dim> dims) {

  /**
   * The most dimensions a tensor may have (NumPy's limit). Shapes can come from a model's values (a
   * Reshape to a folded vector), and every shape check, message and loop over dimensions is sized
   * by the rank; the limit keeps a few bytes of model from making types of millions of dimensions.
   */
  public static final int MAX_RANK = 64;

  public TensorType {
    if (dims.size() > MAX_RANK) {
      throw new IllegalArgumentException(
          "a tensor may have at most " + MAX_RANK + " dimensions, got " + dims.size());
    }
    dims = List.copyOf(dims);
  }

  /** A type with all dimensions fixed. */
  public static TensorType fixed(DType dtype, int... shape) {
    Dim[] d = new Dim[shape.length];
    for (int i = 0; i < shape.length; i++) {
      d[i] = Dim.of(shape[i]);
    }
    return new TensorType(dtype, List.of(d));
  }

  public int rank() {
    return dims.size();
  }

  /** Dimension {@code i}; negative counts from the end. Throws if there is no such dimension. */
  public Dim dim(int i) {
    int k = i < 0 ? dims.size() + i : i;
    if (k < 0 || k >= dims.size()) {
      throw new IllegalArgumentException("dimension " + i + " is out of range for " + this);
    }
    return dims.get(k);
  }

  /** The concrete shape; every dimension must be fixed. */
  public int[] shape() {
    int[] s = new int[dims.size()];
    for (int i = 0; i < s.length; i++) {
      Dim d = dims.get(i);
      if (!d.isFixed()) {
        throw new IllegalStateException("dimension " + i + " of " + this + " is dynamic");
      }
      s[i] = d.size();
    }
    return s;
  }

  public boolean isFullyFixed() {
    return dims.stream().allMatch(Dim::isFixed);
  }

  @Override
  public String toString() {
    return dtype
        + " "
        + dims.stream().map(Dim::toString).collect(Collectors.joining(", ", "[", "]"));
  }
}
