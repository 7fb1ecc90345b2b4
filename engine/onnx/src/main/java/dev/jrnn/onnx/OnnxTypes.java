package dev.jrnn.onnx;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.ModelFormatException;
import dev.jrnn.ir.Const;

/** ONNX element types, declared dimensions and tensors as jrnn types and constants. */
final class OnnxTypes {

  private OnnxTypes() {}

  /** The jrnn element type of ONNX type {@code onnx}; {@code what} names its user in errors. */
  static DType dtype(int onnx, String what) {
    return switch (onnx) {
      case OnnxProto.FLOAT, OnnxProto.DOUBLE, OnnxProto.FLOAT16 -> DType.F32;
      case OnnxProto.INT32, OnnxProto.INT64, OnnxProto.INT8, OnnxProto.UINT8, OnnxProto.BOOL ->
          DType.I32;
      default ->
          throw new ModelFormatException(
              what + " has ONNX element type " + onnx + ", which jrnn does not support");
    };
  }

  /** A graph input's declared dimensions: fixed sizes, named or (unnamed, "?") derived ones. */
  static Dim[] dims(OnnxProto.ValueInfo in, String where) {
    Dim[] d = new Dim[in.dims().size()];
    for (int i = 0; i < d.length; i++) {
      Object o = in.dims().get(i);
      if (o instanceof Long l) {
        if (l < 0 || l > Integer.MAX_VALUE) {
          throw new ModelFormatException(
              where + ": input '" + in.name() + "' declares dimension " + l);
        }
        d[i] = Dim.of((int) (long) l);
      } else {
        String name = (String) o;
        d[i] = name.isEmpty() || name.equals("?") ? Dim.derived() : Dim.dyn(name);
      }
    }
    return d;
  }

  /** An initializer or attribute tensor as a constant. */
  static Const constant(OnnxProto.TensorData t, String where) {
    int[] shape = new int[t.dims().length];
    for (int i = 0; i < shape.length; i++) {
      if (t.dims()[i] > Integer.MAX_VALUE) {
        throw new ModelFormatException(where + ": tensor '" + t.name() + "' is too large");
      }
      shape[i] = (int) t.dims()[i];
    }
    return t.floats() != null ? Const.floats(t.floats(), shape) : Const.longs(t.longs(), shape);
  }

  /** {@code v} widened to longs. */
  static long[] toLongs(int[] v) {
    long[] l = new long[v.length];
    for (int i = 0; i < v.length; i++) {
      l[i] = v[i];
    }
    return l;
  }

  /** A 2-D float constant transposed. */
  static Const transpose2(Const m) {
    int r = m.shape()[0];
    int c = m.shape()[1];
    float[] t = new float[r * c];
    if (t.length == 0) { // (the loop below would still walk r, which may be huge)
      return Const.floats(t, c, r);
    }
    for (int i = 0; i < r; i++) {
      for (int j = 0; j < c; j++) {
        t[j * r + i] = m.floats()[i * c + j];
      }
    }
    return Const.floats(t, c, r);
  }
}
