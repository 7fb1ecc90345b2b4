package dev.jrnn.onnx;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Recurrent;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.IrValue;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * ONNX {@code LSTM}, {@code GRU} and {@code RNN} nodes as jrnn recurrent layers: the attributes
 * become a {@link Recurrent} spec, the optional inputs the layer's lengths and initial states, and
 * the jrnn outputs are reshaped and transposed into ONNX's Y, Y_h and Y_c for either layout. The
 * weights are converted by {@link RecurrentWeights}.
 */
final class RecurrentMapping {

  private static final int[] SWAP_01 = {1, 0, 2};

  private final ImportContext ctx;
  private final RecurrentWeights weights;

  RecurrentMapping(ImportContext ctx) {
    this.ctx = ctx;
    this.weights = new RecurrentWeights(ctx);
  }

  /** Adds the recurrent layer for {@code n} as node {@code name}. */
  void map(OnnxProto.Node n, String name) {
    String op = n.opType();
    Recurrent.Cell cell =
        switch (op) {
          case "LSTM" -> Recurrent.Cell.LSTM;
          case "GRU" -> Recurrent.Cell.GRU;
          default -> Recurrent.Cell.RNN;
        };
    int g = cell.gates();
    Set<String> known =
        new HashSet<>(
            List.of(
                "activation_alpha",
                "activation_beta",
                "activations",
                "clip",
                "direction",
                "hidden_size",
                "layout"));
    if (cell == Recurrent.Cell.LSTM) {
      known.add("input_forget");
    }
    if (cell == Recurrent.Cell.GRU) {
      known.add("linear_before_reset");
    }
    for (String a : n.attributes().keySet()) {
      if (!known.contains(a)) {
        throw new IllegalArgumentException("attribute '" + a + "' is not supported");
      }
    }
    String dirName =
        Attributes.has(n, "direction")
            ? Attributes.get(n, "direction", OnnxProto.ATTR_STRING).string()
            : "forward";
    Recurrent.Direction direction =
        switch (dirName) {
          case "forward" -> Recurrent.Direction.FORWARD;
          case "reverse" -> Recurrent.Direction.REVERSE;
          case "bidirectional" -> Recurrent.Direction.BIDIRECTIONAL;
          default ->
              throw new IllegalArgumentException(
                  "direction '" + dirName + "' is not one of forward, reverse, bidirectional");
        };
    int dirs = direction.count();
    long[] wDims = weightDims(n, 1, "W");
    long[] rDims = weightDims(n, 2, "R");
    long hiddenSize = Attributes.intValue(n, "hidden_size", rDims.length == 3 ? rDims[2] : -1);
    if (hiddenSize < 1 || hiddenSize > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "hidden_size (or R's last dimension) must be in [1, 2^31), got " + hiddenSize);
    }
    int hidden = (int) hiddenSize;
    long gh = (long) g * hidden;
    if (wDims.length != 3 || wDims[0] != dirs || wDims[1] != gh) {
      throw new IllegalArgumentException(
          "W must be [" + dirs + ", " + gh + ", input], got " + Arrays.toString(wDims));
    }
    if (rDims.length != 3 || rDims[0] != dirs || rDims[1] != gh || rDims[2] != hidden) {
      throw new IllegalArgumentException(
          "R must be [" + dirs + ", " + gh + ", " + hidden + "], got " + Arrays.toString(rDims));
    }
    if (wDims[2] > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("W's input size " + wDims[2] + " is beyond 32 bits");
    }
    int inputSize = (int) wDims[2];
    int layout = Attributes.int32Value(n, "layout", 0);
    if (layout != 0 && layout != 1) {
      throw new IllegalArgumentException("layout must be 0 or 1, got " + layout);
    }
    Recurrent spec =
        switch (cell) {
          case LSTM -> Recurrent.lstm(hidden);
          case GRU ->
              Recurrent.gru(hidden)
                  .linearBeforeReset(Attributes.intValue(n, "linear_before_reset", 0) != 0);
          case RNN -> Recurrent.rnn(hidden);
        };
    spec = spec.name(name).direction(direction).batchFirst(layout == 1);
    if (Attributes.has(n, "clip")) {
      spec = spec.clip(Attributes.floatValue(n, "clip", 0f));
    }
    if (cell == Recurrent.Cell.LSTM && Attributes.intValue(n, "input_forget", 0) != 0) {
      spec = spec.coupledInputForget();
    }
    boolean peep =
        cell == Recurrent.Cell.LSTM && n.inputs().size() > 7 && !n.inputs().get(7).isEmpty();
    if (peep) {
      spec = spec.peepholes();
    }
    List<Activation> acts = activations(n, cell, dirs);
    if (acts != null) {
      spec = spec.activations(acts);
    }
    // Inputs: X, W, R, B, sequence_lens, initial_h, initial_c (LSTM), P (LSTM).
    IrValue x = ctx.in(n, 0);
    Dim features = x.dims().isEmpty() ? null : x.dims().getLast();
    if (x.dims().size() != 3 || (features.isFixed() && features.size() != inputSize)) {
      throw new IllegalArgumentException(
          "X is "
              + x.type()
              + " but W ["
              + dirs
              + ", "
              + gh
              + ", "
              + inputSize
              + "] needs"
              + " a rank-3 X with "
              + inputSize
              + " features");
    }
    IrValue lengths = ctx.optional(n, 4);
    if (lengths != null && lengths.dtype() != DType.I32) {
      throw new IllegalArgumentException("sequence_lens must be int32");
    }
    IrValue h0 = ctx.optional(n, 5);
    IrValue c0 = cell == Recurrent.Cell.LSTM ? ctx.optional(n, 6) : null;
    if (layout == 1) { // ONNX [N, D, H] -> jrnn [D, N, H]
      h0 = h0 == null ? null : transpose(name + "_h0", SWAP_01, h0);
      c0 = c0 == null ? null : transpose(name + "_c0", SWAP_01, c0);
    }
    weights.convert(n, name, spec, cell, hidden, inputSize, dirs, peep);
    IrValue y = ctx.b.recurrent(x, spec, lengths, h0, c0);
    // Y: jrnn [T, N, D·H] or [N, T, D·H] -> ONNX [T, D, N, H] or [N, T, D, H].
    if (n.outputs().size() > 0 && !n.outputs().get(0).isEmpty()) {
      IrValue shape = ctx.b.constant(ctx.fresh(name + "_yshape"), Const.vector(0, 0, dirs, hidden));
      IrValue r = ctx.b.node(ctx.fresh(name + "_y4"), new DataOp.Reshape(false), y, shape)[0];
      ctx.define(n, 0, layout == 0 ? transpose(name + "_y", new int[] {0, 2, 1, 3}, r) : r);
    }
    for (int k = 1; k <= (cell == Recurrent.Cell.LSTM ? 2 : 1); k++) {
      if (n.outputs().size() > k && !n.outputs().get(k).isEmpty()) {
        IrValue s = k == 1 ? y.finalH() : y.finalC();
        ctx.define(n, k, layout == 0 ? s : transpose(name + (k == 1 ? "_yh" : "_yc"), SWAP_01, s));
      }
    }
  }

  /** A Transpose node named after {@code base}. */
  private IrValue transpose(String base, int[] perm, IrValue v) {
    return ctx.b.node(ctx.fresh(base), new DataOp.Transpose(perm.clone()), v)[0];
  }

  /** Declared dims of W or R: from the initializer or the graph input's declaration. */
  private long[] weightDims(OnnxProto.Node n, int i, String what) {
    if (i >= n.inputs().size() || n.inputs().get(i).isEmpty()) {
      throw new IllegalArgumentException(what + " is required");
    }
    String name = n.inputs().get(i);
    OnnxProto.TensorData t = ctx.initializer(name);
    if (t != null) {
      return t.dims();
    }
    OnnxProto.ValueInfo in = ctx.declaredInput(name);
    if (in == null) {
      throw new IllegalArgumentException(
          what
              + " '"
              + name
              + "' must be an initializer or a graph input (computed weights are not supported)");
    }
    long[] d = new long[in.dims().size()];
    for (int k = 0; k < d.length; k++) {
      if (!(in.dims().get(k) instanceof Long l)) {
        throw new IllegalArgumentException(
            what + " input '" + name + "' must have fixed dimensions");
      }
      d[k] = l;
    }
    return d;
  }

  /** The {@code activations} attribute with its alphas and betas, or null (the cell's defaults). */
  private static List<Activation> activations(OnnxProto.Node n, Recurrent.Cell cell, int dirs) {
    OnnxProto.Attribute a = Attributes.get(n, "activations", OnnxProto.ATTR_STRINGS);
    if (a == null) {
      return null;
    }
    int per = cell.activationCount();
    if (a.strings().size() != per * dirs) {
      throw new IllegalArgumentException(
          "activations lists "
              + a.strings().size()
              + " functions; "
              + n.opType()
              + " "
              + (dirs == 2 ? "bidirectional " : "")
              + "needs "
              + per * dirs);
    }
    List<Float> alphas =
        Attributes.has(n, "activation_alpha")
            ? Attributes.get(n, "activation_alpha", OnnxProto.ATTR_FLOATS).floats()
            : List.of();
    List<Float> betas =
        Attributes.has(n, "activation_beta")
            ? Attributes.get(n, "activation_beta", OnnxProto.ATTR_FLOATS).floats()
            : List.of();
    int ia = 0;
    int ib = 0;
    List<Activation> out = new ArrayList<>();
    for (byte[] s : a.strings()) {
      Activation.Kind k = Activation.kindByName(new String(s, StandardCharsets.UTF_8));
      // Defaults as ONNX Runtime has them: LeakyRelu 0.01, ThresholdedRelu and Elu 1,
      // HardSigmoid 0.2/0.5, and 0 for Affine and ScaledTanh.
      Activation def =
          k == Activation.Kind.AFFINE || k == Activation.Kind.SCALED_TANH
              ? Activation.of(k, 0f, 0f)
              : Activation.of(k);
      boolean usesAlpha =
          switch (k) {
            case AFFINE, LEAKY_RELU, THRESHOLDED_RELU, SCALED_TANH, HARD_SIGMOID, ELU -> true;
            default -> false;
          };
      boolean usesBeta =
          switch (k) {
            case AFFINE, SCALED_TANH, HARD_SIGMOID -> true;
            default -> false;
          };
      // As ONNX Runtime reads them: each list is consumed by the functions that take one.
      float alpha = usesAlpha ? (ia < alphas.size() ? alphas.get(ia++) : def.alpha()) : 0f;
      float beta = usesBeta ? (ib < betas.size() ? betas.get(ib++) : def.beta()) : 0f;
      out.add(Activation.of(k, alpha, beta));
    }
    return Collections.unmodifiableList(out);
  }
}
