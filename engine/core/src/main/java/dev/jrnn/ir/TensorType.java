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

  public TensorType {
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

  /** Dimension {@code i}; negative counts from the end. */
  public Dim dim(int i) {
    return dims.get(i < 0 ? dims.size() + i : i);
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
