package dev.jrnn.ir;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Recurrent;
import dev.jrnn.kernels.Arith;
import java.util.ArrayList;
import java.util.List;

/**
 * What a graph node computes. Each op infers its output types from its input types (symbolically
 * when the graph is built, concretely on every run) and lists the weights it needs.
 *
 * <p>{@code infer} receives {@code null} for an absent optional input and throws {@link
 * IllegalArgumentException} naming the offending input and the expected and actual shapes.
 *
 * <p>The network ops are here; the shape and data-movement ops that ONNX exporters put around them
 * are {@link DataOp}s, which every backend may run through their {@link #fold}.
 */
public sealed interface Op
    permits Op.Input,
        Op.Constant,
        Op.Embedding,
        Op.Linear,
        Op.Unary,
        Op.Softmax,
        Op.Binary,
        Op.Concat,
        Op.LastStep,
        Op.Dropout,
        Op.RecurrentLayer,
        DataOp {

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
    public void checkId(int id, long position, Node node) {
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
      w.add(
          new WeightSpec(
              node + ".weight", new int[] {out, in}, WeightSpec.Init.UNIFORM, bound, true));
      if (bias) {
        w.add(new WeightSpec(node + ".bias", new int[] {out}, WeightSpec.Init.UNIFORM, bound));
      }
      return w;
    }
  }

  /** An element-wise activation of one F32 tensor. */
  record Unary(Activation fn) implements Op {
    @Override
    public String kind() {
      return fn.onnxName();
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

  /**
   * An element-wise function of two tensors with NumPy broadcasting: F32 at run time; I32 (shape
   * arithmetic) only when both values are known so it folds.
   */
  record Binary(Arith fn) implements Op {
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
            out.set(i, a.isFixed() && b.isFixed() ? Dim.of(a.size() + b.size()) : Dim.derived());
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

    /** Input slot of the optional lengths. */
    public static final int LENGTHS = 1;

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
   * Dropout with probability {@code p}: the identity at inference; in a training forward each
   * element is kept with probability {@code 1 − p} and scaled by {@code 1 / (1 − p)}, the mask
   * drawn from the call's seed ({@link dev.jrnn.spi.DropoutStreams}).
   */
  record Dropout(float p) implements Op {
    public Dropout {
      if (!(p >= 0 && p < 1)) {
        throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
      }
    }

    @Override
    public String kind() {
      return "Dropout";
    }

    @Override
    public TensorType[] infer(TensorType[] in) {
      Shapes.requireType(in[0], DType.F32, "input");
      return new TensorType[] {in[0]};
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
        int inSize = layerInputSize(l);
        for (int d = 0; d < spec.directions(); d++) {
          String p = weightPrefix(node, l, d);
          w.add(new WeightSpec(p + "W", new int[] {g * h, inSize}, u, bound, true));
          w.add(new WeightSpec(p + "R", new int[] {g * h, hout}, u, bound, true));
          w.add(new WeightSpec(p + "bW", new int[] {g * h}, u, bound));
          w.add(new WeightSpec(p + "bR", new int[] {g * h}, u, bound));
          if (spec.hasPeepholes()) {
            w.add(new WeightSpec(p + "P", new int[] {3 * h}, u, bound));
          }
          if (spec.projection() > 0) {
            w.add(new WeightSpec(p + "Wp", new int[] {hout, h}, u, bound, true));
          }
        }
      }
      return w;
    }

    /** Input features of layer {@code l}: the stack's input, then the previous layer's output. */
    public int layerInputSize(int l) {
      return l == 0 ? inputSize : spec.outputSize();
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

  /** Runs an op whose inputs are all given, through its fold; throws if it cannot. */
  static Const[] evaluate(Op op, TensorType[] in, Const[] values) {
    Const[] out = op.fold(in, values);
    if (out == null) {
      throw new IllegalStateException(op.kind() + " could not be evaluated");
    }
    return out;
  }
}
