package dev.jrnn.spark;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import java.io.Serializable;
import java.util.List;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * One graph output written to a column: where its batch axis is (each row gets its slice) and its
 * time axis, if any (cut to the row's length). A {@code [N, C]} output becomes {@code
 * array<float>}, {@code [N]} a {@code float}, {@code [T, N, H]} an {@code array<array<float>>} of
 * the row's steps, a final state {@code [L·D, N, H]} an {@code array<array<float>>}.
 */
final class OutputSlot implements Serializable {

  private static final long serialVersionUID = 1L;

  final String output;
  final String column;
  final boolean ints; // I32 output
  final int rank;
  final int batchAxis;
  final int timeAxis; // -1: none

  private OutputSlot(
      String output, String column, boolean ints, int rank, int batchAxis, int timeAxis) {
    this.output = output;
    this.column = column;
    this.ints = ints;
    this.rank = rank;
    this.batchAxis = batchAxis;
    this.timeAxis = timeAxis;
  }

  /** The slot of graph output {@code output}, whose batch axis is the feed's batch dimension. */
  static OutputSlot of(Graph graph, String output, String column, SequenceFeed feed) {
    Value v = graph.outputs().get(output);
    if (v == null) {
      throw new IllegalArgumentException(
          "'"
              + output
              + "' is not a graph output; outputs: "
              + String.join(", ", graph.outputs().keySet()));
    }
    if (v.dtype() != DType.F32 && v.dtype() != DType.I32) {
      throw new IllegalArgumentException(
          "output '" + output + "' is " + v.dtype() + "; only F32 and I32 outputs are written");
    }
    List<Dim> d = v.dims();
    int batch = -1;
    int time = -1;
    for (int i = 0; i < d.size(); i++) {
      Dim x = d.get(i);
      if (x.isFixed() || x.isDerived()) {
        continue;
      }
      if (x.name().equals(feed.batchDim) && batch < 0) {
        batch = i;
      } else if (x.name().equals(feed.timeDim) && time < 0) {
        time = i;
      }
    }
    if (batch < 0) {
      throw new IllegalArgumentException(
          "output '"
              + output
              + "' "
              + d
              + " has no batch axis "
              + feed.batchDim
              + " (the batch dimension of input "
              + feed.declared
              + "), so it cannot be split into rows");
    }
    return new OutputSlot(output, column, v.dtype() == DType.I32, d.size(), batch, time);
  }

  /** The column's type: the element type in one array per axis but the batch axis. */
  DataType sparkType() {
    DataType t = ints ? DataTypes.IntegerType : DataTypes.FloatType;
    for (int i = 1; i < rank; i++) {
      t = DataTypes.createArrayType(t, false);
    }
    return t;
  }

  /** A batch's output tensor, read once, from which each row's value is cut. */
  final class Batch {
    private final int[] shape;
    private final long[] strides;
    private final float[] floats;
    private final int[] intValues;

    Batch(Tensor t) {
      shape = t.shape();
      strides = new long[shape.length];
      long s = 1;
      for (int i = shape.length - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i];
      }
      floats = ints ? null : t.toFloatArray();
      intValues = ints ? t.toIntArray() : null;
    }

    /**
     * Row {@code n}'s value: nested arrays over every axis but the batch axis, the time axis cut to
     * {@code length} steps; a {@code Float}/{@code Integer} for a {@code [N]} output.
     */
    Object row(int n, int length) {
      return slice(0, n * strides[batchAxis], length);
    }

    private Object slice(int axis, long offset, int length) {
      if (axis == batchAxis) {
        return slice(axis + 1, offset, length);
      }
      if (axis == shape.length) {
        return ints ? (Object) intValues[(int) offset] : (Object) floats[(int) offset];
      }
      int size = axis == timeAxis ? Math.min(length, shape[axis]) : shape[axis];
      boolean innermost =
          axis == shape.length - 1 || (axis == shape.length - 2 && batchAxis == axis + 1);
      if (innermost) {
        if (ints) {
          int[] a = new int[size];
          for (int i = 0; i < size; i++) {
            a[i] = intValues[(int) (offset + i * strides[axis])];
          }
          return a;
        }
        float[] a = new float[size];
        for (int i = 0; i < size; i++) {
          a[i] = floats[(int) (offset + i * strides[axis])];
        }
        return a;
      }
      Object[] a = new Object[size];
      for (int i = 0; i < size; i++) {
        a[i] = slice(axis + 1, offset + i * strides[axis], length);
      }
      return a;
    }
  }
}
