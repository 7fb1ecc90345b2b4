package dev.jrnn.backend.reference;

import dev.jrnn.Activation;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.ExecContext;
import java.util.Arrays;
import java.util.Map;

/**
 * The recurrent layer stack in plain loops: one batch row at a time, one time step at a time, in
 * double precision. Slow and obviously right; every other backend is tested against it.
 */
final class ReferenceRecurrent implements CompiledNode {

  private final Op.RecurrentLayer op;
  private final Recurrent spec;
  // Canonical weights per [layer][direction]: W [G·H, I], R [G·H, Hout], bW, bR [G·H],
  // P [3H] (i, f, o), Wp [Hout, H].
  private final float[][][] w;
  private final float[][][] r;
  private final float[][][] bw;
  private final float[][][] br;
  private final float[][][] p;
  private final float[][][] wp;

  ReferenceRecurrent(Op.RecurrentLayer op, String node, Map<String, Tensor> weights) {
    this.op = op;
    this.spec = op.spec();
    int layers = spec.layers();
    int dirs = spec.directions();
    w = new float[layers][dirs][];
    r = new float[layers][dirs][];
    bw = new float[layers][dirs][];
    br = new float[layers][dirs][];
    p = new float[layers][dirs][];
    wp = new float[layers][dirs][];
    for (int l = 0; l < layers; l++) {
      for (int d = 0; d < dirs; d++) {
        String pre = op.weightPrefix(node, l, d);
        w[l][d] = weights.get(pre + "W").toFloatArray();
        r[l][d] = weights.get(pre + "R").toFloatArray();
        bw[l][d] = weights.get(pre + "bW").toFloatArray();
        br[l][d] = weights.get(pre + "bR").toFloatArray();
        if (spec.hasPeepholes()) {
          p[l][d] = weights.get(pre + "P").toFloatArray();
        }
        if (spec.projection() > 0) {
          wp[l][d] = weights.get(pre + "Wp").toFloatArray();
        }
      }
    }
  }

  @Override
  public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
    boolean bf = spec.isBatchFirst();
    int[] xs = in[Op.RecurrentLayer.X].shape();
    int steps = bf ? xs[1] : xs[0];
    int batch = bf ? xs[0] : xs[1];
    int inSize = xs[2];
    float[] x = in[Op.RecurrentLayer.X].toFloatArray();
    int[] len = new int[batch];
    if (in[Op.RecurrentLayer.LENGTHS] != null) {
      len = in[Op.RecurrentLayer.LENGTHS].toIntArray();
    } else {
      Arrays.fill(len, steps);
    }
    float[] h0 = in.length > 2 && in[2] != null ? in[Op.RecurrentLayer.H0].toFloatArray() : null;
    float[] c0 = in.length > 3 && in[3] != null ? in[Op.RecurrentLayer.C0].toFloatArray() : null;
    int hid = spec.hidden();
    int hout = spec.outputHidden();
    int dirs = spec.directions();

    // cur[t][n]: the current layer's input feature vector at time t for batch row n.
    double[][][] cur = new double[steps][batch][];
    for (int t = 0; t < steps; t++) {
      for (int n = 0; n < batch; n++) {
        int base = (bf ? n * steps + t : t * batch + n) * inSize;
        cur[t][n] = new double[inSize];
        for (int i = 0; i < inSize; i++) {
          cur[t][n][i] = x[base + i];
        }
      }
    }
    int slots = spec.layers() * dirs;
    float[] hN = new float[slots * batch * hout];
    float[] cN = new float[slots * batch * hid];
    for (int l = 0; l < spec.layers(); l++) {
      double[][][][] ys = new double[dirs][steps][batch][hout]; // zero past each row's length
      for (int d = 0; d < dirs; d++) {
        boolean rev = op.isReverse(d);
        int s = l * dirs + d;
        for (int n = 0; n < batch; n++) {
          double[] h = new double[hout];
          double[] c = new double[hid];
          for (int j = 0; j < hout && h0 != null; j++) {
            h[j] = h0[(s * batch + n) * hout + j];
          }
          for (int j = 0; j < hid && c0 != null; j++) {
            c[j] = c0[(s * batch + n) * hid + j];
          }
          for (int k = 0; k < len[n]; k++) {
            int t = rev ? len[n] - 1 - k : k;
            h = step(l, d, cur[t][n], h, c);
            ys[d][t][n] = h.clone();
          }
          for (int j = 0; j < hout; j++) {
            hN[(s * batch + n) * hout + j] = (float) h[j];
          }
          for (int j = 0; j < hid; j++) {
            cN[(s * batch + n) * hid + j] = (float) c[j];
          }
        }
      }
      cur = merge(ys, steps, batch, hout);
    }
    if (out[Op.RecurrentLayer.Y] != null) {
      int c = spec.outputSize();
      float[] y = new float[steps * batch * c];
      for (int t = 0; t < steps; t++) {
        for (int n = 0; n < batch; n++) {
          int base = (bf ? n * steps + t : t * batch + n) * c;
          for (int j = 0; j < c; j++) {
            y[base + j] = (float) cur[t][n][j];
          }
        }
      }
      out[Op.RecurrentLayer.Y].copyFrom(y);
    }
    if (out[Op.RecurrentLayer.HN] != null) {
      out[Op.RecurrentLayer.HN].copyFrom(hN);
    }
    if (out.length > Op.RecurrentLayer.CN && out[Op.RecurrentLayer.CN] != null) {
      out[Op.RecurrentLayer.CN].copyFrom(cN);
    }
  }

  /** Both directions' outputs at each step, concatenated (forward first) or summed. */
  private double[][][] merge(double[][][][] ys, int steps, int batch, int hout) {
    if (ys.length == 1) {
      return ys[0];
    }
    double[][][] m = new double[steps][batch][];
    for (int t = 0; t < steps; t++) {
      for (int n = 0; n < batch; n++) {
        if (spec.merge() == Recurrent.Merge.SUM) {
          m[t][n] = new double[hout];
          for (int j = 0; j < hout; j++) {
            m[t][n][j] = ys[0][t][n][j] + ys[1][t][n][j];
          }
        } else {
          m[t][n] = new double[2 * hout];
          System.arraycopy(ys[0][t][n], 0, m[t][n], 0, hout);
          System.arraycopy(ys[1][t][n], 0, m[t][n], hout, hout);
        }
      }
    }
    return m;
  }

  /** One time step of layer {@code l}, direction {@code d}; updates {@code c}, returns new h. */
  private double[] step(int l, int d, double[] x, double[] h, double[] c) {
    return switch (spec.cell()) {
      case RNN -> rnnStep(l, d, x, h);
      case GRU -> gruStep(l, d, x, h);
      case LSTM -> lstmStep(l, d, x, h, c);
    };
  }

  private double[] rnnStep(int l, int d, double[] x, double[] h) {
    int hid = spec.hidden();
    Activation f = spec.activation(d, 0);
    double[] out = new double[hid];
    for (int j = 0; j < hid; j++) {
      double v = bw[l][d][j] + br[l][d][j] + dot(w[l][d], j, x) + dot(r[l][d], j, h);
      out[j] = f.apply(clip(v));
    }
    return out;
  }

  private double[] gruStep(int l, int d, double[] x, double[] h) {
    int hid = spec.hidden();
    Activation f = spec.activation(d, 0);
    Activation g = spec.activation(d, 1);
    float[] wl = w[l][d];
    float[] rl = r[l][d];
    float[] bwl = bw[l][d];
    float[] brl = br[l][d];
    double[] z = new double[hid];
    double[] rg = new double[hid];
    for (int j = 0; j < hid; j++) {
      z[j] = f.apply(clip(bwl[j] + brl[j] + dot(wl, j, x) + dot(rl, j, h)));
      int k = hid + j;
      rg[j] = f.apply(clip(bwl[k] + brl[k] + dot(wl, k, x) + dot(rl, k, h)));
    }
    double[] resetH = new double[hid]; // r ⊙ h, for the linear-after-reset variant
    for (int j = 0; j < hid; j++) {
      resetH[j] = rg[j] * h[j];
    }
    double[] out = new double[hid];
    for (int j = 0; j < hid; j++) {
      int k = 2 * hid + j;
      double xn = bwl[k] + dot(wl, k, x);
      double pre =
          spec.isLinearBeforeReset()
              ? xn + rg[j] * (dot(rl, k, h) + brl[k])
              : xn + dot(rl, k, resetH) + brl[k];
      double n = g.apply(clip(pre));
      out[j] = (1 - z[j]) * n + z[j] * h[j];
    }
    return out;
  }

  private double[] lstmStep(int l, int d, double[] x, double[] h, double[] c) {
    int hid = spec.hidden();
    Activation f = spec.activation(d, 0);
    Activation g = spec.activation(d, 1);
    Activation ha = spec.activation(d, 2);
    float[] wl = w[l][d];
    float[] rl = r[l][d];
    float[] peep = p[l][d];
    double[] pre = new double[4 * hid];
    for (int k = 0; k < 4 * hid; k++) {
      pre[k] = bw[l][d][k] + br[l][d][k] + dot(wl, k, x) + dot(rl, k, h);
    }
    double[] hRaw = new double[hid];
    for (int j = 0; j < hid; j++) {
      double cPrev = c[j];
      double i = f.apply(clip(pre[j] + (peep != null ? peep[j] * cPrev : 0)));
      double fg =
          spec.isCoupledInputForget()
              ? 1 - i
              : f.apply(clip(pre[hid + j] + (peep != null ? peep[hid + j] * cPrev : 0)));
      double gg = g.apply(clip(pre[2 * hid + j]));
      double cNew = fg * cPrev + i * gg;
      double o = f.apply(clip(pre[3 * hid + j] + (peep != null ? peep[2 * hid + j] * cNew : 0)));
      c[j] = cNew;
      hRaw[j] = o * ha.apply(cNew);
    }
    if (spec.projection() == 0) {
      return hRaw;
    }
    double[] out = new double[spec.projection()];
    for (int q = 0; q < out.length; q++) {
      out[q] = dot(wp[l][d], q, hRaw);
    }
    return out;
  }

  /** Row {@code row} of a row-major matrix with {@code v.length} columns, dotted with {@code v}. */
  private static double dot(float[] m, int row, double[] v) {
    double s = 0;
    int base = row * v.length;
    for (int i = 0; i < v.length; i++) {
      s += m[base + i] * v[i];
    }
    return s;
  }

  private double clip(double v) {
    double c = spec.clip();
    return v > c ? c : (v < -c ? -c : v);
  }
}
