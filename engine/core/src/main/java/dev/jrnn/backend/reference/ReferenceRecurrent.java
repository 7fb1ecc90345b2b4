package dev.jrnn.backend.reference;

import dev.jrnn.Activation;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.DropoutMask;
import dev.jrnn.spi.DropoutStreams;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The recurrent layer stack in plain loops on a {@link Tape}: one batch row at a time, one time
 * step at a time, in double precision. Inference reads the values; training records the tape and
 * walks it back. Slow and obviously right; every other backend is tested against it.
 */
final class ReferenceRecurrent {

  private final Op.RecurrentLayer op;
  private final Recurrent spec;
  private final String node;
  // Canonical weights by name: W [G·H, I], R [G·H, Hout], bW, bR [G·H], P [3H] (i, f, o),
  // Wp [Hout, H] per layer and direction.
  private final Map<String, float[]> weights = new LinkedHashMap<>();

  ReferenceRecurrent(Op.RecurrentLayer op, String node, Map<String, Tensor> weights) {
    this.op = op;
    this.spec = op.spec();
    this.node = node;
    update(weights);
  }

  /** The node's name. */
  String node() {
    return node;
  }

  /** Takes new weight values (same names). */
  void update(Map<String, Tensor> w) {
    for (int l = 0; l < spec.layers(); l++) {
      for (int d = 0; d < spec.directions(); d++) {
        for (String k : names()) {
          String name = op.weightPrefix(node, l, d) + k;
          weights.put(name, w.get(name).toFloatArray());
        }
      }
    }
  }

  private String[] names() {
    String[] n = {"W", "R", "bW", "bR"};
    if (spec.hasPeepholes()) {
      n = Arrays.copyOf(n, n.length + 1);
      n[n.length - 1] = "P";
    }
    if (spec.projection() > 0) {
      n = Arrays.copyOf(n, n.length + 1);
      n[n.length - 1] = "Wp";
    }
    return n;
  }

  /** Tape nodes of one pass: inputs and weights (leaves) and outputs, in tensor order. */
  static final class Trace {
    int[] x;
    int[] h0; // null when not given
    int[] c0;
    final Map<String, int[]> weights = new LinkedHashMap<>();
    int[] y;
    int[] hN;
    int[] cN;
  }

  /** Runs the stack on {@code t} for inference: no dropout. */
  Trace trace(Tape t, Tensor[] in) {
    return trace(t, in, false, 0);
  }

  /**
   * Runs the stack on {@code t}; in {@code training} the spec's dropout masks are drawn from {@code
   * stream} ({@link DropoutStreams}) and scale what they cover.
   */
  Trace trace(Tape t, Tensor[] in, boolean training, long stream) {
    boolean bf = spec.isBatchFirst();
    int[] xs = in[Op.RecurrentLayer.X].shape();
    int steps = bf ? xs[1] : xs[0];
    int batch = bf ? xs[0] : xs[1];
    int inSize = xs[2];
    Trace tr = new Trace();
    tr.x = t.leaves(in[Op.RecurrentLayer.X].toFloatArray());
    int[] len = new int[batch];
    if (in[Op.RecurrentLayer.LENGTHS] != null) {
      len = in[Op.RecurrentLayer.LENGTHS].toIntArray();
    } else {
      Arrays.fill(len, steps);
    }
    if (in.length > Op.RecurrentLayer.H0 && in[Op.RecurrentLayer.H0] != null) {
      tr.h0 = t.leaves(in[Op.RecurrentLayer.H0].toFloatArray());
    }
    if (in.length > Op.RecurrentLayer.C0 && in[Op.RecurrentLayer.C0] != null) {
      tr.c0 = t.leaves(in[Op.RecurrentLayer.C0].toFloatArray());
    }
    weights.forEach((k, v) -> tr.weights.put(k, t.leaves(v)));
    int zero = t.leaf(0);
    int hid = spec.hidden();
    int hout = spec.outputHidden();
    int dirs = spec.directions();

    // cur[t][n]: the current layer's input feature vector at time t for batch row n.
    int[][][] cur = new int[steps][batch][];
    for (int s = 0; s < steps; s++) {
      for (int n = 0; n < batch; n++) {
        int base = (bf ? n * steps + s : s * batch + n) * inSize;
        cur[s][n] = Arrays.copyOfRange(tr.x, base, base + inSize);
      }
    }
    int slots = spec.layers() * dirs;
    tr.hN = new int[slots * batch * hout];
    tr.cN = new int[slots * batch * hid];
    boolean layerDrop = training && spec.dropout() > 0;
    boolean recDrop = training && spec.recurrentDropout() > 0;
    for (int l = 0; l < spec.layers(); l++) {
      if (l > 0 && layerDrop) {
        cur = drop(t, cur, DropoutStreams.betweenLayers(stream, l), spec.dropout());
      }
      int[][][][] ys = new int[dirs][steps][batch][];
      for (int d = 0; d < dirs; d++) {
        boolean rev = op.isReverse(d);
        int s = l * dirs + d;
        Cell cell = new Cell(t, tr.weights, op.weightPrefix(node, l, d), d);
        float[] rmask = null; // [N, Hout]
        if (recDrop) {
          rmask = new float[batch * hout];
          DropoutMask.fill(
              DropoutStreams.recurrent(stream, l, d),
              spec.recurrentDropout(),
              0,
              rmask,
              0,
              rmask.length);
        }
        for (int n = 0; n < batch; n++) {
          int[] h = new int[hout];
          int[] c = new int[hid];
          for (int j = 0; j < hout; j++) {
            h[j] = tr.h0 != null ? tr.h0[(s * batch + n) * hout + j] : zero;
          }
          for (int j = 0; j < hid; j++) {
            c[j] = tr.c0 != null ? tr.c0[(s * batch + n) * hid + j] : zero;
          }
          for (int k = 0; k < len[n]; k++) {
            int step = rev ? len[n] - 1 - k : k;
            int[] hr = h; // what the recurrent weights see
            if (rmask != null) {
              hr = new int[hout];
              for (int j = 0; j < hout; j++) {
                hr[j] = t.scale(h[j], rmask[n * hout + j]);
              }
            }
            h = cell.step(cur[step][n], h, hr, c);
            ys[d][step][n] = h;
          }
          for (int step = len[n]; step < steps; step++) {
            int[] z = new int[hout];
            Arrays.fill(z, zero);
            ys[d][step][n] = z;
          }
          System.arraycopy(h, 0, tr.hN, (s * batch + n) * hout, hout);
          System.arraycopy(c, 0, tr.cN, (s * batch + n) * hid, hid);
        }
      }
      cur = merge(t, ys, steps, batch, hout);
    }
    int c = spec.outputSize();
    tr.y = new int[steps * batch * c];
    for (int s = 0; s < steps; s++) {
      for (int n = 0; n < batch; n++) {
        System.arraycopy(cur[s][n], 0, tr.y, (bf ? n * steps + s : s * batch + n) * c, c);
      }
    }
    return tr;
  }

  /** Each element times its mask value: a fresh mask per step, row and feature. */
  private static int[][][] drop(Tape t, int[][][] cur, long stream, float p) {
    int steps = cur.length;
    int[][][] out = new int[steps][][];
    float[] m = null;
    for (int s = 0; s < steps; s++) {
      int batch = cur[s].length;
      out[s] = new int[batch][];
      for (int n = 0; n < batch; n++) {
        int c = cur[s][n].length;
        if (m == null || m.length != c) {
          m = new float[c];
        }
        DropoutMask.fill(stream, p, ((long) s * batch + n) * c, m, 0, c);
        out[s][n] = new int[c];
        for (int k = 0; k < c; k++) {
          out[s][n][k] = t.scale(cur[s][n][k], m[k]);
        }
      }
    }
    return out;
  }

  /** Writes a trace's output values. */
  static void write(Tape t, Trace tr, Tensor[] out) {
    copy(t, tr.y, out[Op.RecurrentLayer.Y]);
    copy(t, tr.hN, out[Op.RecurrentLayer.HN]);
    if (out.length > Op.RecurrentLayer.CN) {
      copy(t, tr.cN, out[Op.RecurrentLayer.CN]);
    }
  }

  private static void copy(Tape t, int[] ids, Tensor into) {
    if (into == null) {
      return;
    }
    float[] v = new float[ids.length];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) t.val(ids[i]);
    }
    into.copyFrom(v);
  }

  /** Both directions' outputs at each step, concatenated (forward first) or summed. */
  private int[][][] merge(Tape t, int[][][][] ys, int steps, int batch, int hout) {
    if (ys.length == 1) {
      return ys[0];
    }
    int[][][] m = new int[steps][batch][];
    for (int s = 0; s < steps; s++) {
      for (int n = 0; n < batch; n++) {
        if (spec.merge() == Recurrent.Merge.SUM) {
          m[s][n] = new int[hout];
          for (int j = 0; j < hout; j++) {
            m[s][n][j] = t.add(ys[0][s][n][j], ys[1][s][n][j]);
          }
        } else {
          m[s][n] = new int[2 * hout];
          System.arraycopy(ys[0][s][n], 0, m[s][n], 0, hout);
          System.arraycopy(ys[1][s][n], 0, m[s][n], hout, hout);
        }
      }
    }
    return m;
  }

  /** One layer and direction's weights and activations; {@link #step} advances one row. */
  private final class Cell {
    final Tape t;
    final int[] w; // W [G·H, I]
    final int[] r; // R [G·H, Hout]
    final int[] bw;
    final int[] br;
    final int[] p; // P [3H] or null
    final int[] wp; // Wp [Hout, H] or null
    final Activation f;
    final Activation g;
    final Activation ha;

    Cell(Tape t, Map<String, int[]> ids, String prefix, int d) {
      this.t = t;
      w = ids.get(prefix + "W");
      r = ids.get(prefix + "R");
      bw = ids.get(prefix + "bW");
      br = ids.get(prefix + "bR");
      p = ids.get(prefix + "P");
      wp = ids.get(prefix + "Wp");
      int acts = spec.cell() == Recurrent.Cell.LSTM ? 3 : spec.cell() == Recurrent.Cell.GRU ? 2 : 1;
      f = spec.activation(d, 0);
      g = acts > 1 ? spec.activation(d, 1) : null;
      ha = acts > 2 ? spec.activation(d, 2) : null;
    }

    /**
     * One time step; updates {@code c} (LSTM), returns the new h. The recurrent weights read {@code
     * hr} ({@code h} under recurrent dropout's mask); GRU's carry {@code z ⊙ h} reads {@code h}.
     */
    int[] step(int[] x, int[] h, int[] hr, int[] c) {
      return switch (spec.cell()) {
        case RNN -> rnn(x, hr);
        case GRU -> gru(x, h, hr);
        case LSTM -> lstm(x, hr, c);
      };
    }

    /** Row {@code k} of W·x + bW + (R·h + bR when {@code withR}). */
    private int gate(int k, int[] x, int[] h, boolean withR) {
      int wx = t.dot(w, k * x.length, x, 0, x.length);
      return withR ? t.sum(bw[k], br[k], wx, t.dot(r, k * h.length, h, 0, h.length)) : wx;
    }

    private int clip(int v) {
      return spec.hasClip() ? t.clip(v, spec.clip()) : v;
    }

    private int[] rnn(int[] x, int[] h) {
      int[] out = new int[spec.hidden()];
      for (int j = 0; j < out.length; j++) {
        out[j] = t.act(f, clip(gate(j, x, h, true)));
      }
      return out;
    }

    private int[] gru(int[] x, int[] h, int[] hr) {
      int hid = spec.hidden();
      int[] z = new int[hid];
      int[] rg = new int[hid];
      for (int j = 0; j < hid; j++) {
        z[j] = t.act(f, clip(gate(j, x, hr, true)));
        rg[j] = t.act(f, clip(gate(hid + j, x, hr, true)));
      }
      int[] resetH = null; // r ⊙ h, for the linear-after-reset variant
      if (!spec.isLinearBeforeReset()) {
        resetH = new int[hid];
        for (int j = 0; j < hid; j++) {
          resetH[j] = t.mul(rg[j], hr[j]);
        }
      }
      int[] out = new int[hid];
      for (int j = 0; j < hid; j++) {
        int k = 2 * hid + j;
        int xn = t.add(bw[k], gate(k, x, h, false));
        int rh =
            spec.isLinearBeforeReset()
                ? t.mul(rg[j], t.add(t.dot(r, k * hid, hr, 0, hid), br[k]))
                : t.add(t.dot(r, k * hid, resetH, 0, hid), br[k]);
        int n = t.act(g, clip(t.add(xn, rh)));
        out[j] = t.add(t.mul(t.affine(z[j], -1, 1), n), t.mul(z[j], h[j]));
      }
      return out;
    }

    private int[] lstm(int[] x, int[] h, int[] c) {
      int hid = spec.hidden();
      int[] hRaw = new int[hid];
      for (int j = 0; j < hid; j++) {
        int cPrev = c[j];
        int pi = gate(j, x, h, true);
        int i = t.act(f, clip(p != null ? t.add(pi, t.mul(p[j], cPrev)) : pi));
        int fg;
        if (spec.isCoupledInputForget()) {
          fg = t.affine(i, -1, 1);
        } else {
          int pf = gate(hid + j, x, h, true);
          fg = t.act(f, clip(p != null ? t.add(pf, t.mul(p[hid + j], cPrev)) : pf));
        }
        int gg = t.act(g, clip(gate(2 * hid + j, x, h, true)));
        int cNew = t.add(t.mul(fg, cPrev), t.mul(i, gg));
        int po = gate(3 * hid + j, x, h, true);
        int o = t.act(f, clip(p != null ? t.add(po, t.mul(p[2 * hid + j], cNew)) : po));
        c[j] = cNew;
        hRaw[j] = t.mul(o, t.act(ha, cNew));
      }
      if (wp == null) {
        return hRaw;
      }
      int[] out = new int[spec.projection()];
      for (int q = 0; q < out.length; q++) {
        out[q] = t.dot(wp, q * hid, hRaw, 0, hid);
      }
      return out;
    }
  }
}
