package dev.jrnn.ir;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import java.util.ArrayList;
import java.util.List;

/** Shape checks shared by the ops' type inference; each throws a message naming the input. */
public final class Shapes {

  private Shapes() {}

  public static void requireType(TensorType t, DType dtype, String what) {
    if (t == null) {
      throw new IllegalArgumentException(what + " is missing");
    }
    if (t.dtype() != dtype) {
      throw new IllegalArgumentException(what + " must be " + dtype + ", got " + t);
    }
  }

  public static void requireRank(TensorType t, int rank, String what, String layout) {
    if (t.rank() != rank) {
      throw new IllegalArgumentException(
          what + " must have rank " + rank + " " + layout + ", got " + t);
    }
  }

  /**
   * Dimension {@code axis} of {@code t} must be {@code size} (fixed, or dynamic until run time).
   */
  public static void requireDim(TensorType t, int axis, int size, String what, String dimName) {
    Dim d = t.dim(axis);
    if (d.isFixed() && d.size() != size) {
      throw new IllegalArgumentException(
          what + " must have " + dimName + " = " + size + " (dimension " + axis + "), got " + t);
    }
  }

  /** Two dimensions that must be equal: the fixed one if either is fixed. */
  public static Dim unify(Dim a, Dim b, String what) {
    if (a.isFixed() && b.isFixed()) {
      if (a.size() != b.size()) {
        throw new IllegalArgumentException(what + " is " + b + " but must be " + a);
      }
      return a;
    }
    if (a.isFixed()) {
      return a;
    }
    if (b.isFixed()) {
      return b;
    }
    return a.isDerived() ? b : a;
  }

  /**
   * A shape input (of Reshape, Expand, ConstantOfShape): an I32 vector of at most {@link
   * TensorType#MAX_RANK} entries. Returns its length, which may be dynamic.
   */
  public static Dim requireShapeVector(TensorType t, String what) {
    requireType(t, DType.I32, what);
    if (t.rank() != 1) {
      throw new IllegalArgumentException(what + " must be a 1-D vector, got " + t);
    }
    Dim n = t.dim(0);
    if (n.isFixed() && n.size() > TensorType.MAX_RANK) {
      throw new IllegalArgumentException(
          what
              + " has "
              + n.size()
              + " entries, but a tensor may have at most "
              + TensorType.MAX_RANK
              + " dimensions");
    }
    return n;
  }

  /** The dimensions a known shape value gives; each must be a size ({@code >= 0}, 32 bits). */
  public static int[] shapeValue(Const v, String what) {
    requireShapeVector(v.type(), what);
    int[] d = new int[(int) v.size()];
    for (int i = 0; i < d.length; i++) {
      long x = v.longAt(i);
      if (x < 0 || x > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            what + " " + v + " has dimension " + x + "; sizes must be in [0, 2^31)");
      }
      d[i] = (int) x;
    }
    return d;
  }

  /** Normalizes a possibly negative axis. */
  public static int axis(int axis, int rank) {
    int a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      throw new IllegalArgumentException("axis " + axis + " is out of range for rank " + rank);
    }
    return a;
  }

  /** NumPy broadcasting of two shapes. */
  public static List<Dim> broadcast(TensorType a, TensorType b) {
    int rank = Math.max(a.rank(), b.rank());
    List<Dim> out = new ArrayList<>(rank);
    for (int i = 0; i < rank; i++) {
      int ia = i - (rank - a.rank());
      int ib = i - (rank - b.rank());
      Dim da = ia >= 0 ? a.dim(ia) : Dim.of(1);
      Dim db = ib >= 0 ? b.dim(ib) : Dim.of(1);
      if (da.isFixed() && da.size() == 1) {
        out.add(db);
      } else if (db.isFixed() && db.size() == 1) {
        out.add(da);
      } else if (da.isFixed() && db.isFixed() && da.size() != db.size()) {
        throw new IllegalArgumentException("shapes " + a + " and " + b + " do not broadcast");
      } else {
        out.add(Shapes.unify(da, db, "broadcast dimension " + i));
      }
    }
    return out;
  }

  /** Concrete NumPy broadcasting of two shapes. */
  public static int[] broadcast(int[] a, int[] b) {
    int rank = Math.max(a.length, b.length);
    int[] out = new int[rank];
    for (int i = 0; i < rank; i++) {
      int ia = i - (rank - a.length);
      int ib = i - (rank - b.length);
      int da = ia >= 0 ? a[ia] : 1;
      int db = ib >= 0 ? b[ib] : 1;
      if (da != db && da != 1 && db != 1) {
        throw new IllegalArgumentException(
            "shapes "
                + java.util.Arrays.toString(a)
                + " and "
                + java.util.Arrays.toString(b)
                + " do not broadcast");
      }
      out[i] = da == 1 ? db : da;
    }
    return out;
  }
}
