package dev.jrnn.onednn;

import dev.jrnn.DType;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.Precisions;
import dev.jrnn.onednn.ffi.Dnnl;
import dev.jrnn.spi.ExecContext;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.StampedLock;

/**
 * A recurrent layer stack compiled for oneDNN, what inference ({@link OneDnnRecurrent}) and
 * training ({@link OneDnnTrainable}) share: its sizes, its weight groups, the primitives of one
 * shape, the state slices each group reads and writes, and the weight lock.
 *
 * <p>Layers whose channel sizes allow it share one primitive (oneDNN's multi-layer RNN needs the
 * same input size for every layer); otherwise layer 0 runs alone and the rest together. A
 * bidirectional stack runs one primitive per layer: oneDNN's multi-layer bidirectional RNN is two
 * independent stacks (layer l + 1 of a direction reads that direction's layer l, so it takes H
 * input channels and only merges at the end), while jrnn's layer l + 1 reads both directions'
 * merged output (measured: bidirectional-sum, 2 layers, I = H = 64 in one primitive was off by
 * 0.094 from reference; bidirectional-concat with I = 2H was refused with invalid_arguments).
 * Canonical weights are given to oneDNN once and reordered into whatever layout each primitive
 * chose. Tensors reach oneDNN zero-copy as data handles.
 */
final class RnnStack implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger("dev.jrnn");

  final Op.RecurrentLayer op;
  final String node;
  final Recurrent spec;
  final OneDnnBackend.OneDnnContext ctx;
  final MemorySegment engine;
  final int dirs;
  final int gates;
  final int hidden; // DHC
  final int hout; // DIC
  final boolean lstm;
  final boolean lbr; // GRU with linear before reset: a fourth bias slot
  final Precision precision; // of the weight matrices, and so of the activations (see Reduced)
  final List<WeightGroup> groups = new ArrayList<>();
  // Calls read the weights (shared), updates rewrite them (exclusive).
  private final StampedLock weightLock = new StampedLock();

  RnnStack(
      Op.RecurrentLayer op,
      String node,
      Map<String, Tensor> weights,
      OneDnnBackend.OneDnnContext ctx) {
    this.op = op;
    this.node = node;
    this.spec = op.spec();
    this.ctx = ctx;
    this.engine = ctx.engine;
    this.dirs = spec.directions();
    this.gates = spec.cell().gates();
    this.hidden = spec.hidden();
    this.hout = spec.outputHidden();
    this.lstm = spec.cell() == Recurrent.Cell.LSTM;
    this.lbr = spec.cell() == Recurrent.Cell.GRU && spec.isLinearBeforeReset();
    int layers = spec.layers();
    int later = op.layerInputSize(1); // input size of layers > 0
    Precision p = precisionOf(op, node, weights);
    List<Tensor> widened = new ArrayList<>(); // mixed precisions: f32 copies, freed below
    if (p == null) {
      weights = widened(op, node, weights, widened);
      p = Precision.F32;
    }
    this.precision = p;
    try {
      if (dirs == 2 && layers > 1) { // one primitive per layer: see the class comment
        for (int l = 0; l < layers; l++) {
          groups.add(new WeightGroup(this, l, l + 1, op.layerInputSize(l), weights));
        }
      } else if (layers == 1 || op.inputSize() == later) {
        groups.add(new WeightGroup(this, 0, layers, op.inputSize(), weights));
      } else {
        groups.add(new WeightGroup(this, 0, 1, op.inputSize(), weights));
        groups.add(new WeightGroup(this, 1, layers, later, weights));
      }
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    } finally {
      widened.forEach(Tensor::close); // the groups hold copies
    }
  }

  /** The names of the stack's weight matrices. */
  private static List<String> matrices(Op.RecurrentLayer op, String node) {
    Recurrent s = op.spec();
    List<String> names = new ArrayList<>();
    for (int l = 0; l < s.layers(); l++) {
      for (int d = 0; d < s.directions(); d++) {
        String pre = op.weightPrefix(node, l, d);
        names.add(pre + "W");
        names.add(pre + "R");
        if (s.projection() > 0) {
          names.add(pre + "Wp");
        }
      }
    }
    return names;
  }

  /**
   * The one precision of every weight matrix of the stack ({@code W}, {@code R}, {@code Wp}), or
   * null when they differ (a stored model mixing precisions within a layer); throws when it is one
   * onednn does not run the layer in (a session never gives it so).
   */
  private static Precision precisionOf(
      Op.RecurrentLayer op, String node, Map<String, Tensor> weights) {
    Precision p = matrixPrecision(op, node, weights);
    if (p == null) {
      return null;
    }
    Recurrent s = op.spec();
    if (p != Precision.F32) {
      String why = Reduced.primitiveWhyNot(s, p);
      if (why != null) {
        throw new IllegalArgumentException(
            "onednn cannot run '" + node + "' with " + p + " weights: " + why);
      }
    }
    return p;
  }

  /**
   * The one precision of every weight matrix of the stack ({@code W}, {@code R}, {@code Wp}), or
   * null when they differ.
   */
  static Precision matrixPrecision(Op.RecurrentLayer op, String node, Map<String, Tensor> weights) {
    Precision p = null;
    for (String m : matrices(op, node)) {
      Tensor t = weights.get(m);
      if (t == null) {
        throw new IllegalArgumentException("missing weight '" + m + "'");
      }
      Precision q = Precisions.of(t.dtype());
      if (p == null) {
        p = q;
      } else if (q != p) {
        return null;
      }
    }
    return p;
  }

  /**
   * {@code weights} with every matrix in f32 (their values widened), the new tensors added to
   * {@code owned}: a layer whose matrices come in more than one precision runs in f32, logged once.
   */
  private static Map<String, Tensor> widened(
      Op.RecurrentLayer op, String node, Map<String, Tensor> weights, List<Tensor> owned) {
    Map<String, Tensor> w = new HashMap<>(weights);
    Map<DType, String> first = new LinkedHashMap<>(); // the first matrix of each type, for the log
    for (String m : matrices(op, node)) {
      Tensor t = weights.get(m);
      first.putIfAbsent(t.dtype(), m);
      if (t.dtype() != DType.F32) {
        Tensor f =
            Tensor.of(Precisions.floats(m, t, weights.get(Precisions.scaleName(m))), t.shape());
        owned.add(f);
        w.put(m, f);
      }
    }
    StringBuilder kinds = new StringBuilder();
    first.forEach((d, m) -> kinds.append(kinds.isEmpty() ? "" : ", ").append(m + " " + d));
    LOG.log(
        System.Logger.Level.INFO,
        "jrnn: onednn runs '"
            + node
            + "' in f32 over its widened weights: its matrices come in more than one precision ("
            + kinds
            + ")");
    return w;
  }

  /**
   * The data type of data argument {@code a} ({@code SRC_*}, {@code DST_*}) of a group whose output
   * is the stack's ({@code last}) or not.
   */
  int dataType(Arg a, boolean last) {
    return switch (precision) {
      case F32 -> Dnnl.dnnl_f32();
      case BF16 ->
          switch (a) {
            case SRC_ITER_C, DST_ITER_C -> Dnnl.dnnl_f32();
            default -> Dnnl.dnnl_bf16();
          };
      case INT8 ->
          switch (a) {
            case SRC_LAYER -> Dnnl.dnnl_u8();
            case DST_LAYER -> last ? Dnnl.dnnl_f32() : Dnnl.dnnl_u8();
            default -> Dnnl.dnnl_f32();
          };
    };
  }

  /** The data type of weight argument {@code a}. */
  int weightType(Arg a) {
    boolean matrix = a == Arg.WEIGHTS_LAYER || a == Arg.WEIGHTS_ITER || a == Arg.WEIGHTS_PROJECTION;
    return !matrix
        ? Dnnl.dnnl_f32()
        : switch (precision) {
          case F32 -> Dnnl.dnnl_f32();
          case BF16 -> Dnnl.dnnl_bf16();
          case INT8 -> Dnnl.dnnl_s8();
        };
  }

  /** Bytes per activation of a layer input or output between groups (bf16: 2, u8: 1). */
  int activationBytes() {
    return switch (precision) {
      case F32 -> 4;
      case BF16 -> 2;
      case INT8 -> 1;
    };
  }

  int biasGates() {
    return lbr ? gates + 1 : gates;
  }

  int steps(Tensor x) {
    return x.dim(spec.isBatchFirst() ? 1 : 0);
  }

  int batch(Tensor x) {
    return x.dim(spec.isBatchFirst() ? 0 : 1);
  }

  /** Bytes of full-stack states {@code [L·D, N, size]}. */
  long stateBytes(int batch, int size) {
    return (long) spec.layers() * dirs * batch * size * 4;
  }

  /** Bytes of a layer output {@code [T, N, C]}. */
  long layerBytes(int steps, int batch) {
    return layerBytes(steps, batch, 4);
  }

  /** Bytes of a layer output {@code [T, N, C]} of {@code bytes}-byte elements. */
  long layerBytes(int steps, int batch, int bytes) {
    return (long) steps * batch * spec.outputSize() * bytes;
  }

  /** The primitives of every group for shape (T, N); {@code hints} are the forward ones. */
  Primitives[] create(int steps, int batch, RnnDescriptors.Prop prop, Primitives[] hints) {
    return create(steps, batch, 0, prop, hints);
  }

  /**
   * The primitives of every group for shape (T, N) and, for int8, data range [-2^e, 2^e] ({@code
   * range} = e; 0 otherwise).
   */
  Primitives[] create(
      int steps, int batch, int range, RnnDescriptors.Prop prop, Primitives[] hints) {
    Primitives[] all = new Primitives[groups.size()];
    try {
      for (int i = 0; i < all.length; i++) {
        all[i] =
            new Primitives(
                this,
                groups.get(i),
                steps,
                batch,
                i == 0,
                i == all.length - 1,
                range,
                prop,
                hints == null ? null : hints[i]);
      }
    } catch (RuntimeException | Error e) {
      close(all);
      throw e;
    }
    return all;
  }

  /** Destroys primitives, last group first. */
  static void close(Primitives[] all) {
    for (int i = all.length - 1; i >= 0; i--) {
      if (all[i] != null) {
        all[i].close();
      }
    }
  }

  /** The group's slices of full-stack states {@code [L·D, N, ·]} under {@code h} and {@code c}. */
  void states(
      WeightGroup g,
      int batch,
      EnumMap<Arg, MemorySegment> data,
      MemorySegment h,
      MemorySegment c,
      Arg hArg,
      Arg cArg) {
    long rows = (long) g.layers() * dirs * batch;
    long first = (long) g.l0 * dirs * batch;
    int hb = precision == Precision.BF16 ? 2 : 4; // h is bf16 there, the cell state always f32
    data.put(hArg, h.asSlice(first * hout * hb, rows * hout * hb));
    if (lstm) {
      data.put(cArg, c.asSlice(first * hidden * 4, rows * hidden * 4));
    }
  }

  /** This call's stream: one per workspace (calls on a workspace never overlap). */
  MemorySegment stream(ExecContext ec) {
    return ec.cache(ctx, ctx::newStream);
  }

  /**
   * A call with T = 0 or N = 0, which never reaches oneDNN (it divides by both and dies with
   * SIGFPE): {@code y} is empty, and {@code hN} and {@code cN} are {@code h0} and {@code c0}, or
   * zeros without them, as no step ran (what {@code reference} computes).
   */
  void runEmpty(Call c) {
    passThrough(c.h0(), c.hN());
    if (lstm) {
      passThrough(c.c0(), c.cN());
    }
  }

  /** One call's tensors by slot (absent ones null) and its sizes. */
  record Call(
      Tensor x, Tensor h0, Tensor c0, Tensor y, Tensor hN, Tensor cN, int steps, int batch) {
    /** Whether T or N is 0: such a call never reaches oneDNN. */
    boolean empty() {
      return steps == 0 || batch == 0;
    }
  }

  Call call(Tensor[] in, Tensor[] out) {
    Tensor x = in[Op.RecurrentLayer.X];
    return new Call(
        x,
        in.length > Op.RecurrentLayer.H0 ? in[Op.RecurrentLayer.H0] : null,
        in.length > Op.RecurrentLayer.C0 ? in[Op.RecurrentLayer.C0] : null,
        out[Op.RecurrentLayer.Y],
        out.length > Op.RecurrentLayer.HN ? out[Op.RecurrentLayer.HN] : null,
        out.length > Op.RecurrentLayer.CN ? out[Op.RecurrentLayer.CN] : null,
        steps(x),
        batch(x));
  }

  /** {@code dst = src}, or zeros when there is no {@code src}; nothing without {@code dst}. */
  static void passThrough(Tensor src, Tensor dst) {
    if (dst == null) {
      return;
    }
    if (src == null) {
      dst.zero();
    } else {
      dst.copyFrom(src);
    }
  }

  /** Keeps {@link #updateWeights} out until {@link #endCall}; calls may overlap each other. */
  long beginCall() {
    return weightLock.readLock();
  }

  void endCall(long stamp) {
    weightLock.unlockRead(stamp);
  }

  /** New canonical weights, rewritten in place into every layout in use, between calls. */
  void updateWeights(Map<String, Tensor> weights) {
    long stamp = weightLock.writeLock();
    try {
      for (WeightGroup g : groups) {
        g.load(weights);
      }
    } finally {
      weightLock.unlockWrite(stamp);
    }
  }

  /** Frees the weights; primitives over them must be closed first. */
  @Override
  public void close() {
    RuntimeException first = null;
    for (WeightGroup g : groups) { // every group, even if one fails
      try {
        g.close();
      } catch (RuntimeException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
