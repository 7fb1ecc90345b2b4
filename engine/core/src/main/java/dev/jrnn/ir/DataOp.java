package dev.jrnn.ir;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The shape and data-movement ops ONNX exporters put around the network (ONNX semantics: negative
 * axes count from the end, slices clamp). They are evaluated on host values by {@link Folding}:
 * when their inputs are known they fold away while the graph is built or planned, and a backend
 * without a kernel for one runs it through its fold ({@code spi.FoldKernel}).
 */
public sealed interface DataOp extends Op
    permits DataOp.Shape,
        DataOp.Gather,
        DataOp.Transpose,
        DataOp.Reshape,
        DataOp.Squeeze,
        DataOp.Unsqueeze,
        DataOp.Slice,
        DataOp.ConstantOfShape,
        DataOp.Expand,
        DataOp.Cast,
        DataOp.Identity,
        DataOp.Flatten,
        DataOp.MatMul {

  /** The shape of the input as an I32 vector, dimensions {@code [start, end)} (ONNX Shape-15). */
  record Shape(int start, int end) implements DataOp {
    /** Every dimension. */
    public static final int ALL = Integer.MAX_VALUE;

    @Override
    public String kind() {
      return "Shape";
    }

    private int[] range(int rank) {
      int s = start < 0 ? Math.max(0, start + rank) : Math.min(start, rank);
      int e = end == ALL ? rank : (end < 0 ? Math.max(0, end + rank) : Math.min(end, rank));
      return new int[] {s, Math.max(s, e)};
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      int[] r = range(in[0].rank());
      return new TensorType[] {TensorType.fixed(DType.I32, r[1] - r[0])};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] values) {
      if (!in[0].isFullyFixed()) {
        return null;
      }
      int[] shape = in[0].shape();
      int[] r = range(shape.length);
      long[] v = new long[r[1] - r[0]];
      for (int i = 0; i < v.length; i++) {
        v[i] = shape[r[0] + i];
      }
      return new Const[] {Const.vector(v)};
    }
  }

  /** Gathers slices of {@code data} along {@code axis} at I32 {@code indices} (negative wrap). */
  record Gather(int axis) implements DataOp {
    @Override
    public String kind() {
      return "Gather";
    }

    @Override
    public int requiredInputs() {
      return 2;
    }

    @Override
    public String inputName(int i) {
      return i == 0 ? "data" : "indices";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      Shapes.requireType(in[1], DType.I32, "indices");
      int ax = Shapes.axis(axis, in[0].rank());
      List<Dim> d = new ArrayList<>(in[0].dims().subList(0, ax));
      d.addAll(in[1].dims());
      d.addAll(in[0].dims().subList(ax + 1, in[0].rank()));
      return new TensorType[] {new TensorType(in[0].dtype(), d)};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      return v[0] == null || v[1] == null ? null : new Const[] {Folding.gather(axis, v[0], v[1])};
    }
  }

  /** Permutes dimensions ({@code perm} null: reverse them). */
  record Transpose(int[] perm) implements DataOp {
    @Override
    public String kind() {
      return "Transpose";
    }

    /** The permutation for a tensor of {@code rank} axes (reversed when {@code perm} is null). */
    public int[] permutation(int rank) {
      int[] p = perm;
      if (p == null) {
        p = new int[rank];
        for (int i = 0; i < rank; i++) {
          p[i] = rank - 1 - i;
        }
      }
      if (p.length != rank) {
        throw new IllegalArgumentException(
            "perm " + Arrays.toString(p) + " does not match rank " + rank);
      }
      boolean[] seen = new boolean[rank];
      for (int a : p) {
        if (a < 0 || a >= rank || seen[a]) {
          throw new IllegalArgumentException(
              "perm " + Arrays.toString(p) + " is not a permutation");
        }
        seen[a] = true;
      }
      return p;
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      int[] p = permutation(in[0].rank());
      List<Dim> d = new ArrayList<>();
      for (int a : p) {
        d.add(in[0].dim(a));
      }
      return new TensorType[] {new TensorType(in[0].dtype(), d)};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      return v[0] == null ? null : new Const[] {Folding.transpose(permutation(v[0].rank()), v[0])};
    }
  }

  /** Reshape to the I32 {@code shape} input (0 copies a dimension unless {@code allowZero}). */
  record Reshape(boolean allowZero) implements DataOp {
    @Override
    public String kind() {
      return "Reshape";
    }

    @Override
    public int requiredInputs() {
      return 2;
    }

    @Override
    public String inputName(int i) {
      return i == 0 ? "data" : "shape";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      return infer(in, new Const[in.length]);
    }

    @Override
    public TensorType[] infer(TensorType[] in, Const[] values) {
      Dim n = Shapes.requireShapeVector(in[1], "shape");
      if (values[1] == null) {
        if (!n.isFixed()) {
          throw new IllegalArgumentException("the length of shape must be known, got " + in[1]);
        }
        List<Dim> d = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
          d.add(Dim.derived());
        }
        return new TensorType[] {new TensorType(in[0].dtype(), d)};
      }
      return new TensorType[] {
        new TensorType(
            in[0].dtype(), Folding.reshapeDims(in[0], Folding.asLongs(values[1]), allowZero))
      };
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      if (v[0] == null || v[1] == null) {
        return null;
      }
      int[] shape =
          new TensorType(
                  v[0].dtype(), Folding.reshapeDims(v[0].type(), Folding.asLongs(v[1]), allowZero))
              .shape();
      return new Const[] {Folding.withShape(v[0], shape)};
    }
  }

  /**
   * Removes dimensions of size 1: {@code axes}, or (null) the optional I32 input 1, or every unit
   * dimension.
   */
  record Squeeze(int[] axes) implements DataOp {
    @Override
    public String kind() {
      return "Squeeze";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      return infer(in, new Const[in.length]);
    }

    int[] axes(TensorType[] in, Const[] values) {
      if (axes != null) {
        return axes;
      }
      if (in.length > 1 && in[1] != null) {
        if (values[1] == null) {
          throw new IllegalArgumentException("Squeeze axes must be constant");
        }
        return values[1].ints();
      }
      return null;
    }

    @Override
    public TensorType[] infer(TensorType[] in, Const[] values) {
      return new TensorType[] {
        new TensorType(in[0].dtype(), Folding.squeezeDims(in[0], axes(in, values)))
      };
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      if (v[0] == null) {
        return null;
      }
      List<Dim> d = Folding.squeezeDims(v[0].type(), axes(in, v));
      return new Const[] {Folding.withShape(v[0], new TensorType(v[0].dtype(), d).shape())};
    }
  }

  /** Inserts dimensions of size 1 at {@code axes} (or the I32 input 1) of the output. */
  record Unsqueeze(int[] axes) implements DataOp {
    @Override
    public String kind() {
      return "Unsqueeze";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      return infer(in, new Const[in.length]);
    }

    int[] axes(TensorType[] in, Const[] values) {
      if (axes != null) {
        return axes;
      }
      if (in.length < 2 || in[1] == null || values[1] == null) {
        throw new IllegalArgumentException("Unsqueeze axes must be constant");
      }
      return values[1].ints();
    }

    @Override
    public TensorType[] infer(TensorType[] in, Const[] values) {
      return new TensorType[] {
        new TensorType(in[0].dtype(), Folding.unsqueezeDims(in[0], axes(in, values)))
      };
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      if (v[0] == null) {
        return null;
      }
      List<Dim> d = Folding.unsqueezeDims(v[0].type(), axes(in, v));
      return new Const[] {Folding.withShape(v[0], new TensorType(v[0].dtype(), d).shape())};
    }
  }

  /** ONNX Slice: inputs data, starts, ends and optional axes, steps (I32, known when planned). */
  record Slice() implements DataOp {
    @Override
    public String kind() {
      return "Slice";
    }

    @Override
    public int requiredInputs() {
      return 3;
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      return infer(in, new Const[in.length]);
    }

    @Override
    public TensorType[] infer(TensorType[] in, Const[] values) {
      int[][] p = params(in, values);
      if (p == null) {
        List<Dim> d = new ArrayList<>();
        for (int i = 0; i < in[0].rank(); i++) {
          d.add(Dim.derived());
        }
        return new TensorType[] {new TensorType(in[0].dtype(), d)};
      }
      return new TensorType[] {new TensorType(in[0].dtype(), Folding.sliceDims(in[0], p))};
    }

    /** {starts, ends, axes, steps} or null when a value is unknown. */
    public static int[][] params(TensorType[] in, Const[] v) {
      for (int i = 1; i < Math.min(in.length, 5); i++) {
        if (in[i] != null && v[i] == null) {
          return null;
        }
      }
      long[] starts = Folding.asLongs(v[1]);
      long[] ends = Folding.asLongs(v[2]);
      if (starts.length != ends.length) {
        throw new IllegalArgumentException("starts and ends differ in length");
      }
      int n = starts.length;
      if (n > in[0].rank()) {
        throw new IllegalArgumentException(
            "Slice has " + n + " starts and ends for " + in[0] + ", more than its dimensions");
      }
      long[] axes = in.length > 3 && in[3] != null ? Folding.asLongs(v[3]) : null;
      long[] steps = in.length > 4 && in[4] != null ? Folding.asLongs(v[4]) : null;
      if ((axes != null && axes.length != n) || (steps != null && steps.length != n)) {
        throw new IllegalArgumentException(
            "starts, ends, axes and steps must have one entry per sliced axis, got "
                + n
                + " starts, "
                + (axes == null ? "no" : axes.length)
                + " axes and "
                + (steps == null ? "no" : steps.length)
                + " steps");
      }
      int[][] p = new int[4][n];
      for (int i = 0; i < n; i++) {
        p[0][i] = clampToInt(starts[i]);
        p[1][i] = clampToInt(ends[i]);
        p[2][i] = axes != null ? clampToInt(axes[i]) : i;
        p[3][i] = steps != null ? clampToInt(steps[i]) : 1;
        if (p[3][i] == 0) {
          throw new IllegalArgumentException("Slice step must not be 0");
        }
      }
      return p;
    }

    private static int clampToInt(long v) {
      return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      if (v[0] == null) {
        return null;
      }
      int[][] p = params(in, v);
      return p == null ? null : new Const[] {Folding.slice(v[0], p)};
    }
  }

  /** A tensor of the I32 {@code shape} input's value filled with {@code value} (a scalar). */
  record ConstantOfShape(Const value) implements DataOp {
    @Override
    public String kind() {
      return "ConstantOfShape";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      return infer(in, new Const[in.length]);
    }

    @Override
    public TensorType[] infer(TensorType[] in, Const[] values) {
      if (value.size() != 1) {
        throw new IllegalArgumentException(
            "ConstantOfShape value must hold one element, got " + value);
      }
      Dim n = Shapes.requireShapeVector(in[0], "shape");
      if (values[0] == null) {
        if (!n.isFixed()) {
          throw new IllegalArgumentException("the length of shape must be known, got " + in[0]);
        }
        List<Dim> d = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
          d.add(Dim.derived());
        }
        return new TensorType[] {new TensorType(value.dtype(), d)};
      }
      return new TensorType[] {
        TensorType.fixed(value.dtype(), Shapes.shapeValue(values[0], "shape"))
      };
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      return v[0] == null
          ? null
          : new Const[] {Folding.fill(value, Shapes.shapeValue(v[0], "shape"))};
    }
  }

  /** Broadcasts the input to the I32 {@code shape} input (NumPy rules, ONNX Expand). */
  record Expand() implements DataOp {
    @Override
    public String kind() {
      return "Expand";
    }

    @Override
    public int requiredInputs() {
      return 2;
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      return infer(in, new Const[in.length]);
    }

    @Override
    public TensorType[] infer(TensorType[] in, Const[] values) {
      Shapes.requireShapeVector(in[1], "shape");
      if (values[1] == null) {
        throw new IllegalArgumentException("Expand needs a shape known when the graph is planned");
      }
      TensorType target = TensorType.fixed(in[0].dtype(), Shapes.shapeValue(values[1], "shape"));
      return new TensorType[] {new TensorType(in[0].dtype(), Shapes.broadcast(in[0], target))};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      if (v[0] == null || v[1] == null) {
        return null;
      }
      return new Const[] {
        Folding.expand(v[0], Shapes.broadcast(v[0].shape(), Shapes.shapeValue(v[1], "shape")))
      };
    }
  }

  /** Converts between F32 and I32 (floats truncate toward zero). */
  record Cast(DType to) implements DataOp {
    @Override
    public String kind() {
      return "Cast";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      return new TensorType[] {new TensorType(to, in[0].dims())};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      return v[0] == null ? null : new Const[] {Folding.cast(v[0], to)};
    }
  }

  /** The input unchanged. */
  record Identity() implements DataOp {
    @Override
    public String kind() {
      return "Identity";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      return new TensorType[] {in[0]};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      return v[0] == null ? null : new Const[] {v[0]};
    }
  }

  /** Flattens to 2-D: dimensions before {@code axis} and from it on. */
  record Flatten(int axis) implements DataOp {
    @Override
    public String kind() {
      return "Flatten";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      int rank = in[0].rank();
      int ax = axis < 0 ? axis + rank : axis;
      if (ax < 0 || ax > rank) {
        throw new IllegalArgumentException("axis " + axis + " is out of range for rank " + rank);
      }
      return new TensorType[] {
        new TensorType(
            in[0].dtype(),
            List.of(
                Folding.product(in[0].dims().subList(0, ax)),
                Folding.product(in[0].dims().subList(ax, rank))))
      };
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      if (v[0] == null) {
        return null;
      }
      return new Const[] {
        Folding.withShape(v[0], infer(new TensorType[] {v[0].type()})[0].shape())
      };
    }
  }

  /** NumPy matmul of two F32 tensors (batch dimensions broadcast). */
  record MatMul() implements DataOp {
    @Override
    public String kind() {
      return "MatMul";
    }

    @Override
    public int requiredInputs() {
      return 2;
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      Shapes.requireType(in[0], DType.F32, "A");
      Shapes.requireType(in[1], DType.F32, "B");
      return new TensorType[] {new TensorType(DType.F32, Folding.matmulDims(in[0], in[1]))};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      return v[0] == null || v[1] == null ? null : new Const[] {Folding.matmul(v[0], v[1])};
    }
  }
}
