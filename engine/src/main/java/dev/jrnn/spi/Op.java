package dev.jrnn.spi;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Recurrent;
import java.util.ArrayList;
import java.util.List;

/**
 * What a graph node computes. Each op infers its output types from its input types (symbolically
 * when the graph is built, concretely on every run) and lists the weights it needs.
 *
 * <p>{@code infer} receives {@code null} for an absent optional input and throws {@link
 * IllegalArgumentException} naming the offending input and the expected and actual shapes.
 */
public sealed interface Op {

  /** Short name of the operation, e.g. {@code "LSTM"}, {@code "Linear"}. */
  String kind();

  /** Output types from input types. */
  TensorType[] infer(TensorType[] in);

  /**
   * Output types when some input values are known ({@code values[i]} non-null: constants, or shape
   * computations the planner evaluated). Ops whose output shape depends on input values (Reshape,
   * Expand, Slice…) override this.
   */
  default TensorType[] infer(TensorType[] in, Const[] values) {
    return infer(in);
  }

  /**
   * The outputs computed on the host from known inputs, or null when this op cannot (an input value
   * is unknown, or the op is not foldable). Used to fold constants when a graph is built, shape
   * computations when a plan is made, and to run the small data-movement ops.
   */
  default Const[] fold(TensorType[] in, Const[] values) {
    return null;
  }

  /** Weights this node needs, given its input types. */
  default List<WeightSpec> weights(String node, TensorType[] in) {
    return List.of();
  }

  /** How many leading inputs must be present (the rest are optional). */
  default int requiredInputs() {
    return 1;
  }

  /** Input names, for error messages. */
  default String inputName(int i) {
    return "input " + i;
  }

  /** A graph input. */
  record Input(String name, DType dtype, List<Dim> dims) implements Op {
    public Input {
      dims = List.copyOf(dims);
    }

    @Override
    public String kind() {
      return "Input";
    }

    @Override
    public int requiredInputs() {
      return 0;
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      return new TensorType[] {new TensorType(dtype, dims)};
    }
  }

  /** Looks up rows of {@code weight [vocab, dim]} for I32 ids of any shape. */
  record Embedding(int vocab, int dim) implements Op {
    @Override
    public String kind() {
      return "Embedding";
    }

    @Override
    public String inputName(int i) {
      return "ids";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      Shapes.requireType(in[0], DType.I32, "ids");
      List<Dim> d = new ArrayList<>(in[0].dims());
      d.add(Dim.of(dim));
      return new TensorType[] {new TensorType(DType.F32, d)};
    }

    @Override
    public List<WeightSpec> weights(String node, TensorType[] in) {
      return List.of(
          new WeightSpec(node + ".weight", new int[] {vocab, dim}, WeightSpec.Init.NORMAL, 1.0));
    }

    /**
     * Throws, naming the position, the input and {@code node}, when {@code id} is outside the
     * vocabulary. Every backend's embedding calls this for every id.
     */
    public void checkId(int id, long position, dev.jrnn.Node node) {
      if (id < 0 || id >= vocab) {
        throw new IllegalArgumentException(
            "token id "
                + id
                + " at position "
                + position
                + " of '"
                + node.input(0).name()
                + "' (node '"
                + node.name()
                + "') is outside the vocabulary [0, "
                + vocab
                + ")");
      }
    }
  }

  /**
   * {@code y = x · weightᵀ + bias} over the last axis; {@code weight [out, in]}, {@code bias
   * [out]}.
   */
  record Linear(int in, int out, boolean bias) implements Op {
    @Override
    public String kind() {
      return "Linear";
    }

    @Override
    public TensorType[] infer(TensorType[] x) {
      Shapes.requireType(x[0], DType.F32, "input");
      if (x[0].rank() < 1) {
        throw new IllegalArgumentException("input must have rank >= 1, got " + x[0]);
      }
      Shapes.requireDim(x[0], -1, in, "input", "features");
      List<Dim> d = new ArrayList<>(x[0].dims());
      d.set(d.size() - 1, Dim.of(out));
      return new TensorType[] {new TensorType(DType.F32, d)};
    }

    @Override
    public List<WeightSpec> weights(String node, TensorType[] x) {
      double bound = 1.0 / Math.sqrt(in);
      List<WeightSpec> w = new ArrayList<>();
      w.add(new WeightSpec(node + ".weight", new int[] {out, in}, WeightSpec.Init.UNIFORM, bound));
      if (bias) {
        w.add(new WeightSpec(node + ".bias", new int[] {out}, WeightSpec.Init.UNIFORM, bound));
      }
      return w;
    }
  }

  /** Element-wise functions. */
  enum UnaryKind {
    TANH,
    SIGMOID,
    RELU
  }

  /** An element-wise function of one F32 tensor. */
  record Unary(UnaryKind fn) implements Op {
    @Override
    public String kind() {
      return switch (fn) {
        case TANH -> "Tanh";
        case SIGMOID -> "Sigmoid";
        case RELU -> "Relu";
      };
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      Shapes.requireType(in[0], DType.F32, "input");
      return new TensorType[] {in[0]};
    }
  }

  /** Softmax (or log-softmax) along {@code axis} (negative counts from the end). */
  record Softmax(int axis, boolean log) implements Op {
    @Override
    public String kind() {
      return log ? "LogSoftmax" : "Softmax";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      Shapes.requireType(in[0], DType.F32, "input");
      Shapes.axis(axis, in[0].rank());
      return new TensorType[] {in[0]};
    }
  }

  /** Element-wise binary functions. */
  enum BinaryKind {
    ADD,
    SUB,
    MUL,
    DIV
  }

  /**
   * An element-wise function of two tensors with NumPy broadcasting: F32 at run time; I32 (shape
   * arithmetic) only when both values are known so it folds.
   */
  record Binary(BinaryKind fn) implements Op {
    @Override
    public String kind() {
      return switch (fn) {
        case ADD -> "Add";
        case SUB -> "Sub";
        case MUL -> "Mul";
        case DIV -> "Div";
      };
    }

    @Override
    public int requiredInputs() {
      return 2;
    }

    @Override
    public String inputName(int i) {
      return i == 0 ? "A" : "B";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      Shapes.requireType(in[0], DType.F32, "A");
      Shapes.requireType(in[1], DType.F32, "B");
      return new TensorType[] {new TensorType(DType.F32, Shapes.broadcast(in[0], in[1]))};
    }

    @Override
    public TensorType[] infer(TensorType[] in, Const[] values) {
      if (in[0].dtype() == DType.I32 || in[1].dtype() == DType.I32) {
        if (in[0].dtype() != in[1].dtype()) {
          throw new IllegalArgumentException("A is " + in[0] + " but B is " + in[1]);
        }
        if (values[0] == null || values[1] == null) {
          throw new IllegalArgumentException(
              "integer arithmetic is supported on constants and shapes only, not on run-time"
                  + " values");
        }
        return new TensorType[] {new TensorType(DType.I32, Shapes.broadcast(in[0], in[1]))};
      }
      return infer(in);
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      if (v[0] == null || v[1] == null) {
        return null;
      }
      return new Const[] {Folding.binary(fn, v[0], v[1])};
    }
  }

  /** Joins tensors along {@code axis}; all other dimensions must agree. */
  record Concat(int axis) implements Op {
    @Override
    public String kind() {
      return "Concat";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      if (in.length == 0) {
        throw new IllegalArgumentException("Concat needs at least one input");
      }
      int rank = in[0].rank();
      int ax = Shapes.axis(axis, rank);
      List<Dim> out = new ArrayList<>(in[0].dims());
      for (int k = 1; k < in.length; k++) {
        if (in[k].dtype() != in[0].dtype() || in[k].rank() != rank) {
          throw new IllegalArgumentException(
              "input " + k + " is " + in[k] + " but input 0 is " + in[0]);
        }
        for (int i = 0; i < rank; i++) {
          if (i == ax) {
            Dim a = out.get(i);
            Dim b = in[k].dim(i);
            out.set(i, a.isFixed() && b.isFixed() ? Dim.of(a.size() + b.size()) : Shapes.derived());
          } else {
            out.set(i, Shapes.unify(out.get(i), in[k].dim(i), "dimension " + i + " of input " + k));
          }
        }
      }
      return new TensorType[] {new TensorType(in[0].dtype(), out)};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      for (Const c : v) {
        if (c == null) {
          return null;
        }
      }
      return new Const[] {Folding.concat(axis, v)};
    }
  }

  /**
   * Each batch row's output at its last valid step: {@code [T, N, C]} (or {@code [N, T, C]}) and
   * optional lengths {@code [N]} give {@code [N, C]}.
   */
  record LastStep(boolean batchFirst) implements Op {
    @Override
    public String kind() {
      return "LastStep";
    }

    @Override
    public String inputName(int i) {
      return i == 0 ? "sequence" : "lengths";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      Shapes.requireType(in[0], DType.F32, "sequence");
      Shapes.requireRank(in[0], 3, "sequence", batchFirst ? "[N, T, C]" : "[T, N, C]");
      Dim n = in[0].dim(batchFirst ? 0 : 1);
      if (in.length > 1 && in[1] != null) {
        Shapes.requireType(in[1], DType.I32, "lengths");
        Shapes.requireRank(in[1], 1, "lengths", "[N]");
        n = Shapes.unify(n, in[1].dim(0), "lengths' N");
      }
      return new TensorType[] {new TensorType(DType.F32, List.of(n, in[0].dim(2)))};
    }
  }

  /**
   * A stack of recurrent layers. Inputs: {@code x}, optional {@code lengths [N]}, {@code h0 [L·D,
   * N, Hout]}, {@code c0 [L·D, N, H]} (LSTM). Outputs: {@code y}, {@code hN}, and {@code cN} for
   * LSTM.
   */
  record RecurrentLayer(Recurrent spec, int inputSize) implements Op {

    /** Input slots. */
    public static final int X = 0, LENGTHS = 1, H0 = 2, C0 = 3;

    /** Output slots. */
    public static final int Y = 0, HN = 1, CN = 2;

    @Override
    public String kind() {
      return spec.cell().name();
    }

    @Override
    public String inputName(int i) {
      return switch (i) {
        case X -> "x";
        case LENGTHS -> "sequence lengths";
        case H0 -> "initial h";
        case C0 -> "initial c";
        default -> "input " + i;
      };
    }

    /** Number of outputs: 3 for LSTM (y, hN, cN), else 2. */
    public int outputCount() {
      return spec.cell() == Recurrent.Cell.LSTM ? 3 : 2;
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      boolean bf = spec.isBatchFirst();
      Shapes.requireType(in[X], DType.F32, "x");
      Shapes.requireRank(in[X], 3, "x", bf ? "[N, T, I]" : "[T, N, I]");
      Shapes.requireDim(in[X], 2, inputSize, "x", "features I");
      Dim t = in[X].dim(bf ? 1 : 0);
      Dim n = in[X].dim(bf ? 0 : 1);
      int ld = spec.layers() * spec.directions();
      if (in.length > LENGTHS && in[LENGTHS] != null) {
        Shapes.requireType(in[LENGTHS], DType.I32, "sequence lengths");
        Shapes.requireRank(in[LENGTHS], 1, "sequence lengths", "[N]");
        n = Shapes.unify(n, in[LENGTHS].dim(0), "sequence lengths' N");
      }
      if (in.length > H0 && in[H0] != null) {
        Shapes.requireType(in[H0], DType.F32, "initial h");
        n = checkState(in[H0], "initial h", ld, n, spec.outputHidden());
      }
      if (in.length > C0 && in[C0] != null) {
        if (spec.cell() != Recurrent.Cell.LSTM) {
          throw new IllegalArgumentException("initial c applies to LSTM only, this is " + kind());
        }
        Shapes.requireType(in[C0], DType.F32, "initial c");
        n = checkState(in[C0], "initial c", ld, n, spec.hidden());
      }
      TensorType y =
          new TensorType(
              DType.F32,
              bf
                  ? List.of(n, t, Dim.of(spec.outputSize()))
                  : List.of(t, n, Dim.of(spec.outputSize())));
      TensorType h = new TensorType(DType.F32, List.of(Dim.of(ld), n, Dim.of(spec.outputHidden())));
      if (spec.cell() == Recurrent.Cell.LSTM) {
        TensorType c = new TensorType(DType.F32, List.of(Dim.of(ld), n, Dim.of(spec.hidden())));
        return new TensorType[] {y, h, c};
      }
      return new TensorType[] {y, h};
    }

    private static Dim checkState(TensorType s, String what, int ld, Dim n, int size) {
      Shapes.requireRank(s, 3, what, "[L·D=" + ld + ", N, " + size + "]");
      Shapes.requireDim(s, 0, ld, what, "layers×directions");
      Shapes.requireDim(s, 2, size, what, "state size");
      return Shapes.unify(n, s.dim(1), what + "'s N");
    }

    @Override
    public List<WeightSpec> weights(String node, TensorType[] in) {
      int g = spec.cell().gates();
      int h = spec.hidden();
      int hout = spec.outputHidden();
      double bound = 1.0 / Math.sqrt(h);
      WeightSpec.Init u = WeightSpec.Init.UNIFORM;
      List<WeightSpec> w = new ArrayList<>();
      for (int l = 0; l < spec.layers(); l++) {
        int inSize = spec.layerInputSize(l, inputSize);
        for (int d = 0; d < spec.directions(); d++) {
          String p = weightPrefix(node, l, d);
          w.add(new WeightSpec(p + "W", new int[] {g * h, inSize}, u, bound));
          w.add(new WeightSpec(p + "R", new int[] {g * h, hout}, u, bound));
          w.add(new WeightSpec(p + "bW", new int[] {g * h}, u, bound));
          w.add(new WeightSpec(p + "bR", new int[] {g * h}, u, bound));
          if (spec.hasPeepholes()) {
            w.add(new WeightSpec(p + "P", new int[] {3 * h}, u, bound));
          }
          if (spec.projection() > 0) {
            w.add(new WeightSpec(p + "Wp", new int[] {hout, h}, u, bound));
          }
        }
      }
      return w;
    }

    /** Whether direction slot {@code d} of this stack runs in reverse. */
    public boolean isReverse(int d) {
      return spec.direction() == Recurrent.Direction.REVERSE || d == 1;
    }

    /** {@code node.l<l>.<fwd|rev>.} */
    public String weightPrefix(String node, int l, int d) {
      return node + ".l" + l + "." + (isReverse(d) ? "rev" : "fwd") + ".";
    }
  }

  // ------------------------------------------------------------------ ONNX data-movement ops

  /** Runs an op whose inputs are all given, via its fold: for the small data-movement ops. */
  static Const[] evaluate(Op op, TensorType[] in, Const[] values) {
    Const[] out = op.fold(in, values);
    if (out == null) {
      throw new IllegalStateException(op.kind() + " could not be evaluated");
    }
    return out;
  }

  /** A value stored in the graph. */
  record Constant(Const value) implements Op {
    @Override
    public String kind() {
      return "Constant";
    }

    @Override
    public int requiredInputs() {
      return 0;
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      return new TensorType[] {value.type()};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] values) {
      return new Const[] {value};
    }
  }

  /** The shape of the input as an I32 vector, dimensions {@code [start, end)} (ONNX Shape-15). */
  record Shape(int start, int end) implements Op {
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
  record Gather(int axis) implements Op {
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
  record Transpose(int[] perm) implements Op {
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
            "perm " + java.util.Arrays.toString(p) + " does not match rank " + rank);
      }
      boolean[] seen = new boolean[rank];
      for (int a : p) {
        if (a < 0 || a >= rank || seen[a]) {
          throw new IllegalArgumentException(
              "perm " + java.util.Arrays.toString(p) + " is not a permutation");
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
  record Reshape(boolean allowZero) implements Op {
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
      Shapes.requireType(in[1], DType.I32, "shape");
      if (values[1] == null) {
        Dim n = in[1].dim(0);
        if (!n.isFixed()) {
          throw new IllegalArgumentException("the length of shape must be known, got " + in[1]);
        }
        List<Dim> d = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
          d.add(Shapes.derived());
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
  record Squeeze(int[] axes) implements Op {
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
  record Unsqueeze(int[] axes) implements Op {
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
  record Slice() implements Op {
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
          d.add(Shapes.derived());
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
  record ConstantOfShape(Const value) implements Op {
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
      Shapes.requireType(in[0], DType.I32, "shape");
      if (values[0] == null) {
        List<Dim> d = new ArrayList<>();
        for (int i = 0; i < in[0].dim(0).size(); i++) {
          d.add(Shapes.derived());
        }
        return new TensorType[] {new TensorType(value.dtype(), d)};
      }
      return new TensorType[] {TensorType.fixed(value.dtype(), values[0].ints())};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      return v[0] == null ? null : new Const[] {Folding.fill(value, v[0].ints())};
    }
  }

  /** Broadcasts the input to the I32 {@code shape} input (NumPy rules, ONNX Expand). */
  record Expand() implements Op {
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
      Shapes.requireType(in[1], DType.I32, "shape");
      if (values[1] == null) {
        throw new IllegalArgumentException("Expand needs a shape known when the graph is planned");
      }
      TensorType target = TensorType.fixed(in[0].dtype(), values[1].ints());
      return new TensorType[] {new TensorType(in[0].dtype(), Shapes.broadcast(in[0], target))};
    }

    @Override
    public Const[] fold(TensorType[] in, Const[] v) {
      if (v[0] == null || v[1] == null) {
        return null;
      }
      return new Const[] {Folding.expand(v[0], Shapes.broadcast(v[0].shape(), v[1].ints()))};
    }
  }

  /** Converts between F32 and I32 (floats truncate toward zero). */
  record Cast(DType to) implements Op {
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
  record Identity() implements Op {
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
  record Flatten(int axis) implements Op {
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
  record MatMul() implements Op {
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
