package dev.jrnn.onednn;

import static dev.jrnn.onednn.OneDnn.check;
import static dev.jrnn.onednn.OneDnn.typedMd;

import dev.jrnn.Recurrent;
import dev.jrnn.onednn.ffi.Dnnl;
import dev.jrnn.onednn.ffi.dnnl_rnn_desc_t;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.EnumMap;

/**
 * The oneDNN operation descriptor of one weight group for one shape and propagation kind: plain
 * data descriptors ({@code tnc}, or {@code ntc} at a batch-first end of the stack), weight
 * descriptors in layout "any" so oneDNN picks theirs, and the cell's {@code *_desc_init}.
 */
final class RnnDescriptors {

  private RnnDescriptors() {}

  /** Which primitive: inference, training forward (keeps a workspace), or backward. */
  enum Prop {
    INFERENCE,
    TRAINING,
    BACKWARD
  }

  /**
   * The descriptor of {@code g} at shape (T = {@code steps}, N = {@code batch}); {@code first} and
   * {@code last} say whether the group's input and output are the stack's. Every size is at least
   * 1: oneDNN divides by them.
   */
  static MemorySegment describe(
      Arena tmp,
      RnnStack s,
      WeightGroup g,
      int steps,
      int batch,
      boolean first,
      boolean last,
      Prop prop) {
    if (steps < 1 || batch < 1) {
      throw new IllegalArgumentException(
          "oneDNN cannot take T = " + steps + ", N = " + batch + " (zero sizes never reach it)");
    }
    int l = g.layers();
    int dirs = s.dirs;
    int gates = s.gates;
    int hidden = s.hidden;
    int hout = s.hout;
    boolean bf = s.spec.isBatchFirst();
    int any = Dnnl.dnnl_format_tag_any();
    EnumMap<Arg, MemorySegment> m = new EnumMap<>(Arg.class);
    for (boolean diff :
        prop == Prop.BACKWARD ? new boolean[] {false, true} : new boolean[] {false}) {
      // Gradients are f32; data and weights in the stack's precision (see Reduced).
      ArgType dt = a -> diff ? Dnnl.dnnl_f32() : s.dataType(a, last);
      ArgType wt = a -> diff ? Dnnl.dnnl_f32() : s.weightType(a);
      m.put(
          pick(Arg.SRC_LAYER, diff),
          typedMd(
              tmp,
              dt.of(Arg.SRC_LAYER),
              first && bf ? Dnnl.dnnl_ntc() : Dnnl.dnnl_tnc(),
              steps,
              batch,
              g.slc));
      m.put(
          pick(Arg.SRC_ITER, diff),
          typedMd(tmp, dt.of(Arg.SRC_ITER), Dnnl.dnnl_ldnc(), l, dirs, batch, hout));
      m.put(
          pick(Arg.SRC_ITER_C, diff),
          typedMd(tmp, dt.of(Arg.SRC_ITER_C), Dnnl.dnnl_ldnc(), l, dirs, batch, hidden));
      m.put(
          pick(Arg.WEIGHTS_LAYER, diff),
          typedMd(tmp, wt.of(Arg.WEIGHTS_LAYER), any, l, dirs, g.slc, gates, hidden));
      m.put(
          pick(Arg.WEIGHTS_ITER, diff),
          typedMd(tmp, wt.of(Arg.WEIGHTS_ITER), any, l, dirs, hout, gates, hidden));
      m.put(
          pick(Arg.BIAS, diff), typedMd(tmp, wt.of(Arg.BIAS), any, l, dirs, s.biasGates(), hidden));
      if (s.spec.hasPeepholes()) {
        m.put(
            pick(Arg.WEIGHTS_PEEPHOLE, diff),
            typedMd(tmp, wt.of(Arg.WEIGHTS_PEEPHOLE), any, l, dirs, 3, hidden));
      }
      if (s.spec.projection() > 0) {
        m.put(
            pick(Arg.WEIGHTS_PROJECTION, diff),
            typedMd(tmp, wt.of(Arg.WEIGHTS_PROJECTION), any, l, dirs, hidden, hout));
      }
      m.put(
          pick(Arg.DST_LAYER, diff),
          typedMd(
              tmp,
              dt.of(Arg.DST_LAYER),
              last && bf ? Dnnl.dnnl_ntc() : Dnnl.dnnl_tnc(),
              steps,
              batch,
              s.spec.outputSize()));
      m.put(
          pick(Arg.DST_ITER, diff),
          typedMd(tmp, dt.of(Arg.DST_ITER), Dnnl.dnnl_ldnc(), l, dirs, batch, hout));
      m.put(
          pick(Arg.DST_ITER_C, diff),
          typedMd(tmp, dt.of(Arg.DST_ITER_C), Dnnl.dnnl_ldnc(), l, dirs, batch, hidden));
    }
    return describe(tmp, s.spec, s.lbr, m, prop);
  }

  /** The data type of an argument. */
  @FunctionalInterface
  private interface ArgType {
    int of(Arg a);
  }

  private static Arg pick(Arg a, boolean diff) {
    return diff ? a.diff() : a;
  }

  /** The RNN operation descriptor for the cell, direction and propagation. */
  private static MemorySegment describe(
      Arena tmp, Recurrent spec, boolean lbr, EnumMap<Arg, MemorySegment> m, Prop prop) {
    MemorySegment d = dnnl_rnn_desc_t.allocate(tmp);
    MemorySegment nul = MemorySegment.NULL;
    int dir = direction(spec);
    int kind =
        switch (prop) {
          case INFERENCE -> Dnnl.dnnl_forward_inference();
          case TRAINING -> Dnnl.dnnl_forward_training();
          case BACKWARD -> Dnnl.dnnl_backward();
        };
    boolean back = prop == Prop.BACKWARD;
    switch (spec.cell()) {
      case LSTM -> {
        MemorySegment peep = m.getOrDefault(Arg.WEIGHTS_PEEPHOLE, nul);
        MemorySegment proj = m.getOrDefault(Arg.WEIGHTS_PROJECTION, nul);
        if (!back) {
          check(
              Dnnl.dnnl_lstm_forward_desc_init_v3(
                  d,
                  kind,
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.SRC_ITER_C),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  peep,
                  proj,
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  m.get(Arg.DST_ITER_C),
                  0),
              "dnnl_lstm_forward_desc_init_v3");
        } else {
          check(
              Dnnl.dnnl_lstm_backward_desc_init_v3(
                  d,
                  kind,
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.SRC_ITER_C),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  peep,
                  proj,
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  m.get(Arg.DST_ITER_C),
                  m.get(Arg.DIFF_SRC_LAYER),
                  m.get(Arg.DIFF_SRC_ITER),
                  m.get(Arg.DIFF_SRC_ITER_C),
                  m.get(Arg.DIFF_WEIGHTS_LAYER),
                  m.get(Arg.DIFF_WEIGHTS_ITER),
                  m.getOrDefault(Arg.DIFF_WEIGHTS_PEEPHOLE, nul),
                  m.getOrDefault(Arg.DIFF_WEIGHTS_PROJECTION, nul),
                  m.get(Arg.DIFF_BIAS),
                  m.get(Arg.DIFF_DST_LAYER),
                  m.get(Arg.DIFF_DST_ITER),
                  m.get(Arg.DIFF_DST_ITER_C),
                  0),
              "dnnl_lstm_backward_desc_init_v3");
        }
      }
      case GRU -> {
        // The lbr and plain GRU descriptors take the same arguments.
        if (!back) {
          GruForward init =
              lbr ? Dnnl::dnnl_lbr_gru_forward_desc_init : Dnnl::dnnl_gru_forward_desc_init;
          check(
              init.apply(
                  d,
                  kind,
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  0),
              lbr ? "dnnl_lbr_gru_forward_desc_init" : "dnnl_gru_forward_desc_init");
        } else {
          GruBackward init =
              lbr ? Dnnl::dnnl_lbr_gru_backward_desc_init : Dnnl::dnnl_gru_backward_desc_init;
          check(
              init.apply(
                  d,
                  kind,
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  m.get(Arg.DIFF_SRC_LAYER),
                  m.get(Arg.DIFF_SRC_ITER),
                  m.get(Arg.DIFF_WEIGHTS_LAYER),
                  m.get(Arg.DIFF_WEIGHTS_ITER),
                  m.get(Arg.DIFF_BIAS),
                  m.get(Arg.DIFF_DST_LAYER),
                  m.get(Arg.DIFF_DST_ITER),
                  0),
              lbr ? "dnnl_lbr_gru_backward_desc_init" : "dnnl_gru_backward_desc_init");
        }
      }
      case RNN -> {
        float[] act = OneDnnBackend.rnnActivation(spec);
        if (!back) {
          check(
              Dnnl.dnnl_vanilla_rnn_forward_desc_init(
                  d,
                  kind,
                  (int) act[0],
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  0,
                  act[1],
                  0f),
              "dnnl_vanilla_rnn_forward_desc_init");
        } else {
          check(
              Dnnl.dnnl_vanilla_rnn_backward_desc_init(
                  d,
                  kind,
                  (int) act[0],
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  m.get(Arg.DIFF_SRC_LAYER),
                  m.get(Arg.DIFF_SRC_ITER),
                  m.get(Arg.DIFF_WEIGHTS_LAYER),
                  m.get(Arg.DIFF_WEIGHTS_ITER),
                  m.get(Arg.DIFF_BIAS),
                  m.get(Arg.DIFF_DST_LAYER),
                  m.get(Arg.DIFF_DST_ITER),
                  0,
                  act[1],
                  0f),
              "dnnl_vanilla_rnn_backward_desc_init");
        }
      }
    }
    return d;
  }

  /** {@code dnnl_gru_forward_desc_init} and its lbr twin. */
  @FunctionalInterface
  private interface GruForward {
    int apply(
        MemorySegment desc,
        int kind,
        int direction,
        MemorySegment srcLayer,
        MemorySegment srcIter,
        MemorySegment weightsLayer,
        MemorySegment weightsIter,
        MemorySegment bias,
        MemorySegment dstLayer,
        MemorySegment dstIter,
        int flags);
  }

  /** {@code dnnl_gru_backward_desc_init} and its lbr twin. */
  @FunctionalInterface
  private interface GruBackward {
    int apply(
        MemorySegment desc,
        int kind,
        int direction,
        MemorySegment srcLayer,
        MemorySegment srcIter,
        MemorySegment weightsLayer,
        MemorySegment weightsIter,
        MemorySegment bias,
        MemorySegment dstLayer,
        MemorySegment dstIter,
        MemorySegment diffSrcLayer,
        MemorySegment diffSrcIter,
        MemorySegment diffWeightsLayer,
        MemorySegment diffWeightsIter,
        MemorySegment diffBias,
        MemorySegment diffDstLayer,
        MemorySegment diffDstIter,
        int flags);
  }

  private static int direction(Recurrent spec) {
    return switch (spec.direction()) {
      case FORWARD -> Dnnl.dnnl_unidirectional_left2right();
      case REVERSE -> Dnnl.dnnl_unidirectional_right2left();
      case BIDIRECTIONAL ->
          spec.merge() == Recurrent.Merge.SUM
              ? Dnnl.dnnl_bidirectional_sum()
              : Dnnl.dnnl_bidirectional_concat();
    };
  }
}
