package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The training passes of one step: each forward pass and backward pass against its scalar twin bit
 * for bit, the forward values against the cell's equations in double, and every gradient a backward
 * pass writes against central differences of those equations in double, with every activation in
 * every slot (also those whose slope the output does not tell, which need the derivative plane),
 * peepholes, the coupled gate and clipping. Rows sit at offsets in wider rows; what a pass must not
 * write keeps its sentinel.
 */
class CellsTrainingTest {

  static final int BW = Simd.BW;
  static final int ROWS = 3;
  static final int HP = 2 * BW;
  static final float NO_CLIP = Float.POSITIVE_INFINITY;
  static final float SENTINEL = 7.25f;

  /** The output alone cannot tell these slopes (negative alpha): they run with {@code dact}. */
  static final List<Ref.Fn> NEGATIVE_ALPHA =
      List.of(
          new Ref.Fn("leakyRelu(-0.5)", Act.leakyRelu(-0.5f), x -> x < 0 ? -0.5 * x : x),
          new Ref.Fn("elu(-0.5)", Act.elu(-0.5f), x -> x < 0 ? -0.5 * Math.expm1(x) : x),
          new Ref.Fn("thresholdedRelu(-0.3)", Act.thresholdedRelu(-0.3f), x -> x > -0.3f ? x : 0));

  /** Standard functions, then every other one in each slot in turn. */
  static List<Ref.Fn[]> slots(int n, Ref.Fn... standard) {
    List<Ref.Fn> all = new ArrayList<>(Ref.ALL);
    all.addAll(NEGATIVE_ALPHA);
    List<Ref.Fn[]> out = new ArrayList<>();
    out.add(standard.clone());
    for (int slot = 0; slot < n; slot++) {
      for (Ref.Fn fn : all) {
        if (fn != standard[slot]) {
          Ref.Fn[] s = standard.clone();
          s[slot] = fn;
          out.add(s);
        }
      }
    }
    return out;
  }

  static float[] filled(int n) {
    float[] v = new float[n];
    java.util.Arrays.fill(v, SENTINEL);
    return v;
  }

  /** Central difference of {@code fn} at {@code x}. */
  static double slope(DoubleUnaryOperator fn, double x) {
    double e = 1e-6 * Math.max(1, Math.abs(x));
    return (fn.applyAsDouble(x + e) - fn.applyAsDouble(x - e)) / (2 * e);
  }

  /** Elements of a row-strided region {@code rows × width} at {@code off}, the rest untouched. */
  static void assertOnlyRegionWritten(float[] v, int off, int ld, int rows, int width, String w) {
    for (int i = 0; i < v.length; i++) {
      int rel = i - off;
      boolean in = rel >= 0 && rel / ld < rows && rel % ld < width;
      if (!in) {
        assertEquals(SENTINEL, v[i], w + ": wrote outside its region at " + i);
      }
    }
  }

  static final double TOL = 2e-5;

  // ---------------------------------------------------------------- LSTM

  static double[] lstmExact(
      Ref.Fn[] fgh, float clip, boolean coupled, double[] peep, double[] pre, double cp) {
    double i = fgh[0].at(Ref.clip(pre[0] + peep[0] * cp, clip));
    double f = coupled ? 1 - i : fgh[0].at(Ref.clip(pre[1] + peep[1] * cp, clip));
    double g = fgh[1].at(Ref.clip(pre[2], clip));
    double c = f * cp + i * g;
    double o = fgh[0].at(Ref.clip(pre[3] + peep[2] * c, clip));
    return new double[] {o * fgh[2].at(c), c};
  }

  @Test
  void lstmPassesMatchTwinsAndDerivatives() {
    int wOff = 3;
    int ldw = 4 * HP + BW + 1;
    int ldc = HP + 2;
    int ldh = HP + 5;
    int ldg = 4 * HP + 3;
    for (Ref.Fn[] fgh : slots(3, Ref.SIGMOID, Ref.TANH, Ref.TANH)) {
      for (boolean peep : new boolean[] {false, true}) {
        for (boolean coupled : new boolean[] {false, true}) {
          for (float clip : new float[] {NO_CLIP, 0.8f}) {
            SplittableRandom r = new SplittableRandom(11);
            float[] pre = Ref.random(r, wOff + ROWS * ldw, 2.5);
            float[] c = Ref.random(r, 2 * ROWS * ldc, 1.5); // c_{t−1} rows, then c_t rows
            int cNext = ROWS * ldc;
            float[] pi = peep ? Ref.random(r, HP, 1) : null;
            float[] pf = peep ? Ref.random(r, HP, 1) : null;
            float[] po = peep ? Ref.random(r, HP, 1) : null;
            Cells.Lstm p =
                new Cells.Lstm(fgh[0].act(), fgh[1].act(), fgh[2].act(), clip, pi, pf, po, coupled);
            boolean keep =
                CellsTraining.needsDerivatives(clip, fgh[0].act(), fgh[1].act(), fgh[2].act());
            String what =
                "lstm " + List.of(fgh) + " peep=" + peep + " coupled=" + coupled + " clip=" + clip;
            float[] ws = pre.clone();
            float[] cv = c.clone();
            float[] hv = filled(ROWS * ldh);
            float[] dv = keep ? filled(ws.length) : null;
            CellsTraining.lstmForwardTraining(
                ws, wOff, ldw, HP, dv, cv, 0, cNext, ldc, hv, 0, ldh, ROWS, p);
            float[] wss = pre.clone();
            float[] cs = c.clone();
            float[] hs = filled(ROWS * ldh);
            float[] ds = keep ? filled(ws.length) : null;
            CellsTraining.lstmForwardTrainingScalar(
                wss, wOff, ldw, HP, ds, cs, 0, cNext, ldc, hs, 0, ldh, ROWS, p);
            Ref.assertSameBits(wss, ws, what + " ws");
            Ref.assertSameBits(cs, cv, what + " c");
            Ref.assertSameBits(hs, hv, what + " h");
            if (keep) {
              Ref.assertSameBits(ds, dv, what + " dact");
            }
            assertOnlyRegionWritten(hv, 0, ldh, ROWS, HP, what + " h");

            float[] dh = Ref.random(r, ROWS * ldh, 1);
            float[] dc0 = Ref.random(r, ROWS * ldc, 1);
            float[] dcv = dc0.clone();
            float[] dgv = filled(1 + ROWS * ldg);
            CellsTraining.lstmBackward(
                ws, wOff, ldw, HP, dv, cv, 0, cNext, ldc, dh, 0, ldh, dcv, 0, ldc, dgv, 1, ldg,
                ROWS, p);
            float[] dcs = dc0.clone();
            float[] dgs = filled(1 + ROWS * ldg);
            CellsTraining.lstmBackwardScalar(
                ws, wOff, ldw, HP, dv, cv, 0, cNext, ldc, dh, 0, ldh, dcs, 0, ldc, dgs, 1, ldg,
                ROWS, p);
            Ref.assertSameBits(dgs, dgv, what + " dg");
            Ref.assertSameBits(dcs, dcv, what + " dc");
            assertOnlyRegionWritten(dgv, 1, ldg, ROWS, 4 * HP, what + " dg");

            for (int row = 0; row < ROWS; row++) {
              for (int u = 0; u < HP; u++) {
                double[] pv = new double[4];
                for (int gate = 0; gate < 4; gate++) {
                  pv[gate] = pre[wOff + row * ldw + gate * HP + u];
                }
                double[] pp = {peep ? pi[u] : 0, peep ? pf[u] : 0, peep ? po[u] : 0};
                double cp = c[row * ldc + u];
                double[] y = lstmExact(fgh, clip, coupled, pp, pv, cp);
                Ref.assertNear(y[0], hv[row * ldh + u], 1e-5, 1, what + " h value");
                Ref.assertNear(y[1], cv[cNext + row * ldc + u], 1e-5, 1, what + " c value");
                double wh = dh[row * ldh + u];
                double wc = dc0[row * ldc + u];
                for (int gate = 0; gate < 4; gate++) {
                  int gg = gate;
                  double want =
                      slope(
                          x -> {
                            double[] q = pv.clone();
                            q[gg] = x;
                            double[] z = lstmExact(fgh, clip, coupled, pp, q, cp);
                            return wh * z[0] + wc * z[1];
                          },
                          pv[gate]);
                  Ref.assertNear(
                      want,
                      dgv[1 + row * ldg + gate * HP + u],
                      TOL,
                      1,
                      what + " d gate " + gate + " row " + row + " unit " + u);
                }
                double want =
                    slope(
                        x -> {
                          double[] z = lstmExact(fgh, clip, coupled, pp, pv, x);
                          return wh * z[0] + wc * z[1];
                        },
                        cp);
                Ref.assertNear(want, dcv[row * ldc + u], TOL, 1, what + " d c_prev");
              }
            }
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- RNN

  @Test
  void rnnPassesMatchTwinsAndDerivatives() {
    int wOff = 2;
    int ldw = HP + 3;
    int ldh = HP + 1;
    List<Ref.Fn> all = new ArrayList<>(Ref.ALL);
    all.addAll(NEGATIVE_ALPHA);
    for (Ref.Fn f : all) {
      for (float clip : new float[] {NO_CLIP, 0.9f}) {
        SplittableRandom r = new SplittableRandom(5);
        float[] pre = Ref.random(r, wOff + ROWS * ldw, 2.5);
        Cells.Rnn p = new Cells.Rnn(f.act(), clip);
        boolean keep = CellsTraining.needsDerivatives(clip, f.act());
        String what = "rnn " + f + " clip=" + clip;
        float[] ws = pre.clone();
        float[] hv = filled(ROWS * ldh);
        float[] dv = keep ? filled(ws.length) : null;
        CellsTraining.rnnForwardTraining(ws, wOff, ldw, HP, dv, hv, 0, ldh, ROWS, p);
        float[] wss = pre.clone();
        float[] hs = filled(ROWS * ldh);
        float[] ds = keep ? filled(ws.length) : null;
        CellsTraining.rnnForwardTrainingScalar(wss, wOff, ldw, HP, ds, hs, 0, ldh, ROWS, p);
        Ref.assertSameBits(wss, ws, what + " ws");
        Ref.assertSameBits(hs, hv, what + " h");
        if (keep) {
          Ref.assertSameBits(ds, dv, what + " dact");
        }
        float[] dh = Ref.random(r, ROWS * ldh, 1);
        float[] dgv = filled(ROWS * ldw);
        float[] dgs = filled(ROWS * ldw);
        CellsTraining.rnnBackward(ws, wOff, ldw, HP, dv, dh, 0, ldh, dgv, 0, ldw, ROWS, p);
        CellsTraining.rnnBackwardScalar(ws, wOff, ldw, HP, dv, dh, 0, ldh, dgs, 0, ldw, ROWS, p);
        Ref.assertSameBits(dgs, dgv, what + " dg");
        assertOnlyRegionWritten(dgv, 0, ldw, ROWS, HP, what + " dg");
        for (int row = 0; row < ROWS; row++) {
          for (int u = 0; u < HP; u++) {
            double v = pre[wOff + row * ldw + u];
            Ref.assertNear(f.at(Ref.clip(v, clip)), hv[row * ldh + u], 1e-5, 1, what + " h");
            double want = dh[row * ldh + u] * slope(x -> f.at(Ref.clip(x, clip)), v);
            Ref.assertNear(want, dgv[row * ldw + u], TOL, 1, what + " dg at " + row + "," + u);
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- GRU, linear before reset

  /** h' from gx (z, r, n), gh (z, r, n), the candidate's recurrent bias and h. */
  static double gruLbrExact(
      Ref.Fn[] fg, float clip, double[] gx, double[] gh, double bn, double h) {
    double z = fg[0].at(Ref.clip(gx[0] + gh[0], clip));
    double r = fg[0].at(Ref.clip(gx[1] + gh[1], clip));
    double n = fg[1].at(Ref.clip(gx[2] + r * (gh[2] + bn), clip));
    return (1 - z) * n + z * h;
  }

  @Test
  void gruLbrPassesMatchTwinsAndDerivatives() {
    int ldw = 3 * HP + 2;
    int ldh = HP + 3;
    for (Ref.Fn[] fg : slots(2, Ref.SIGMOID, Ref.TANH)) {
      for (float clip : new float[] {NO_CLIP, 0.7f}) {
        SplittableRandom r = new SplittableRandom(3);
        float[] gx = Ref.random(r, ROWS * ldw, 2);
        float[] gh = Ref.random(r, ROWS * ldw, 2);
        float[] bn = Ref.random(r, HP, 1);
        float[] hPrev = Ref.random(r, 1 + ROWS * ldh, 1);
        Cells.Gru p = new Cells.Gru(fg[0].act(), fg[1].act(), clip, bn);
        boolean keep = CellsTraining.needsDerivatives(clip, fg[0].act(), fg[1].act());
        String what = "gru lbr " + List.of(fg) + " clip=" + clip;
        float[][] v = new float[2][];
        float[][] ghn = new float[2][];
        float[][] h = new float[2][];
        float[][] d = new float[2][];
        for (int tw = 0; tw < 2; tw++) {
          v[tw] = gx.clone();
          ghn[tw] = filled(ROWS * HP);
          h[tw] = filled(ROWS * ldh);
          d[tw] = keep ? filled(gx.length) : null;
          if (tw == 0) {
            CellsTraining.gruForwardTrainingLbr(
                v[0], 0, ldw, HP, d[0], gh, 0, ldw, ghn[0], 0, HP, hPrev, 1, ldh, h[0], 0, ldh,
                ROWS, p);
          } else {
            CellsTraining.gruForwardTrainingLbrScalar(
                v[1], 0, ldw, HP, d[1], gh, 0, ldw, ghn[1], 0, HP, hPrev, 1, ldh, h[1], 0, ldh,
                ROWS, p);
          }
        }
        Ref.assertSameBits(v[1], v[0], what + " ws");
        Ref.assertSameBits(ghn[1], ghn[0], what + " ghn");
        Ref.assertSameBits(h[1], h[0], what + " h");
        if (keep) {
          Ref.assertSameBits(d[1], d[0], what + " dact");
        }
        float[] dh = Ref.random(r, ROWS * ldh, 1);
        float[] dp0 = Ref.random(r, ROWS * ldh, 1);
        float[][] dp = {dp0.clone(), dp0.clone()};
        float[][] dgx = {filled(ROWS * ldw), filled(ROWS * ldw)};
        int ldr = ldw + 1; // the recurrent side at an offset and stride of its own
        float[][] dgr = {filled(2 + ROWS * ldr), filled(2 + ROWS * ldr)};
        CellsTraining.gruBackwardLbr(
            v[0], 0, ldw, HP, d[0], ghn[0], 0, HP, hPrev, 1, ldh, dh, 0, ldh, dp[0], 0, ldh, dgx[0],
            0, ldw, dgr[0], 2, ldr, ROWS, p);
        CellsTraining.gruBackwardLbrScalar(
            v[0], 0, ldw, HP, d[0], ghn[0], 0, HP, hPrev, 1, ldh, dh, 0, ldh, dp[1], 0, ldh, dgx[1],
            0, ldw, dgr[1], 2, ldr, ROWS, p);
        Ref.assertSameBits(dgx[1], dgx[0], what + " dgx");
        Ref.assertSameBits(dgr[1], dgr[0], what + " dgr");
        Ref.assertSameBits(dp[1], dp[0], what + " dhPrev");
        assertOnlyRegionWritten(dgx[0], 0, ldw, ROWS, 3 * HP, what + " dgx");
        assertOnlyRegionWritten(dgr[0], 2, ldr, ROWS, 3 * HP, what + " dgr");
        for (int row = 0; row < ROWS; row++) {
          for (int u = 0; u < HP; u++) {
            double[] x = new double[3];
            double[] y = new double[3];
            for (int g = 0; g < 3; g++) {
              x[g] = gx[row * ldw + g * HP + u];
              y[g] = gh[row * ldw + g * HP + u];
            }
            double b = bn[u];
            double hp = hPrev[1 + row * ldh + u];
            double w = dh[row * ldh + u];
            Ref.assertNear(
                gruLbrExact(fg, clip, x, y, b, hp), h[0][row * ldh + u], 1e-5, 1, what + " h");
            for (int g = 0; g < 3; g++) {
              int gg = g;
              double wantX =
                  w
                      * slope(
                          t -> {
                            double[] q = x.clone();
                            q[gg] = t;
                            return gruLbrExact(fg, clip, q, y, b, hp);
                          },
                          x[g]);
              double wantH =
                  w
                      * slope(
                          t -> {
                            double[] q = y.clone();
                            q[gg] = t;
                            return gruLbrExact(fg, clip, x, q, b, hp);
                          },
                          y[g]);
              String at = " gate " + g + " at " + row + "," + u;
              Ref.assertNear(wantX, dgx[0][row * ldw + g * HP + u], TOL, 1, what + " dgx" + at);
              Ref.assertNear(wantH, dgr[0][2 + row * ldr + g * HP + u], TOL, 1, what + " dgr" + at);
            }
            double wantP = w * slope(t -> gruLbrExact(fg, clip, x, y, b, t), hp);
            Ref.assertNear(
                wantP, dp[0][row * ldh + u] - dp0[row * ldh + u], TOL, 1, what + " dhPrev");
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- GRU, reset before

  /**
   * {h', r⊙h} from gx (z, r, n), the recurrent z, r terms, the candidate's recurrent term (taken as
   * an input) and h.
   */
  static double[] gruResetFirstExact(
      Ref.Fn[] fg, float clip, double[] gx, double[] gzr, double ghn, double h) {
    double z = fg[0].at(Ref.clip(gx[0] + gzr[0], clip));
    double r = fg[0].at(Ref.clip(gx[1] + gzr[1], clip));
    double n = fg[1].at(Ref.clip(gx[2] + ghn, clip));
    return new double[] {(1 - z) * n + z * h, r * h};
  }

  @Test
  void gruResetFirstPassesMatchTwinsAndDerivatives() {
    int ldw = 3 * HP + 1;
    int ldzr = 2 * HP + 2;
    int ldh = HP + 3;
    for (Ref.Fn[] fg : slots(2, Ref.SIGMOID, Ref.TANH)) {
      for (float clip : new float[] {NO_CLIP, 0.7f}) {
        SplittableRandom r = new SplittableRandom(4);
        float[] gx = Ref.random(r, ROWS * ldw, 2);
        float[] gzr = Ref.random(r, ROWS * ldzr, 2);
        float[] ghn = Ref.random(r, ROWS * HP, 2);
        float[] hPrev = Ref.random(r, ROWS * ldh, 1);
        Cells.Gru p = new Cells.Gru(fg[0].act(), fg[1].act(), clip, new float[HP]);
        boolean keep = CellsTraining.needsDerivatives(clip, fg[0].act(), fg[1].act());
        String what = "gru reset-first " + List.of(fg) + " clip=" + clip;
        float[][] v = new float[2][];
        float[][] rh = new float[2][];
        float[][] h = new float[2][];
        float[][] d = new float[2][];
        for (int tw = 0; tw < 2; tw++) {
          v[tw] = gx.clone();
          rh[tw] = filled(ROWS * ldh);
          h[tw] = filled(ROWS * ldh);
          d[tw] = keep ? filled(gx.length) : null;
          if (tw == 0) {
            CellsTraining.gruResetHiddenTraining(
                v[0], 0, ldw, HP, d[0], gzr, 0, ldzr, hPrev, 0, ldh, rh[0], 0, ldh, ROWS, p);
            CellsTraining.gruForwardTrainingResetFirst(
                v[0], 0, ldw, HP, d[0], ghn, 0, HP, hPrev, 0, ldh, h[0], 0, ldh, ROWS, p);
          } else {
            CellsTraining.gruResetHiddenTrainingScalar(
                v[1], 0, ldw, HP, d[1], gzr, 0, ldzr, hPrev, 0, ldh, rh[1], 0, ldh, ROWS, p);
            CellsTraining.gruForwardTrainingResetFirstScalar(
                v[1], 0, ldw, HP, d[1], ghn, 0, HP, hPrev, 0, ldh, h[1], 0, ldh, ROWS, p);
          }
        }
        Ref.assertSameBits(v[1], v[0], what + " ws");
        Ref.assertSameBits(rh[1], rh[0], what + " rh");
        Ref.assertSameBits(h[1], h[0], what + " h");
        if (keep) {
          Ref.assertSameBits(d[1], d[0], what + " dact");
        }
        float[] dh = Ref.random(r, ROWS * ldh, 1);
        float[] drh = Ref.random(r, ROWS * HP, 1);
        float[] dp0 = Ref.random(r, ROWS * ldh, 1);
        float[][] dp = {dp0.clone(), dp0.clone()};
        float[][] dg = {filled(ROWS * ldw), filled(ROWS * ldw)};
        CellsTraining.gruBackwardResetFirstZn(
            v[0], 0, ldw, HP, d[0], hPrev, 0, ldh, dh, 0, ldh, dp[0], 0, ldh, dg[0], 0, ldw, ROWS,
            p);
        CellsTraining.gruBackwardResetFirstR(
            v[0], 0, ldw, HP, d[0], hPrev, 0, ldh, drh, 0, HP, dp[0], 0, ldh, dg[0], 0, ldw, ROWS,
            p);
        CellsTraining.gruBackwardResetFirstZnScalar(
            v[0], 0, ldw, HP, d[0], hPrev, 0, ldh, dh, 0, ldh, dp[1], 0, ldh, dg[1], 0, ldw, ROWS,
            p);
        CellsTraining.gruBackwardResetFirstRScalar(
            v[0], 0, ldw, HP, d[0], hPrev, 0, ldh, drh, 0, HP, dp[1], 0, ldh, dg[1], 0, ldw, ROWS,
            p);
        Ref.assertSameBits(dg[1], dg[0], what + " dg");
        Ref.assertSameBits(dp[1], dp[0], what + " dhPrev");
        assertOnlyRegionWritten(dg[0], 0, ldw, ROWS, 3 * HP, what + " dg");
        for (int row = 0; row < ROWS; row++) {
          for (int u = 0; u < HP; u++) {
            double[] x = new double[3];
            for (int g = 0; g < 3; g++) {
              x[g] = gx[row * ldw + g * HP + u];
            }
            double[] zr = {gzr[row * ldzr + u], gzr[row * ldzr + HP + u]};
            double n = ghn[row * HP + u];
            double hp = hPrev[row * ldh + u];
            double w = dh[row * ldh + u];
            double wr = drh[row * HP + u];
            double[] y = gruResetFirstExact(fg, clip, x, zr, n, hp);
            Ref.assertNear(y[0], h[0][row * ldh + u], 1e-5, 1, what + " h");
            Ref.assertNear(y[1], rh[0][row * ldh + u], 1e-5, 1, what + " rh");
            for (int g = 0; g < 3; g++) {
              int gg = g;
              double want =
                  slope(
                      t -> {
                        double[] q = x.clone();
                        q[gg] = t;
                        double[] z = gruResetFirstExact(fg, clip, q, zr, n, hp);
                        return w * z[0] + wr * z[1];
                      },
                      x[g]);
              Ref.assertNear(
                  want,
                  dg[0][row * ldw + g * HP + u],
                  TOL,
                  1,
                  what + " dg gate " + g + " at " + row + "," + u);
            }
            double wantP =
                slope(
                    t -> {
                      double[] z = gruResetFirstExact(fg, clip, x, zr, n, t);
                      return w * z[0] + wr * z[1];
                    },
                    hp);
            Ref.assertNear(
                wantP, dp[0][row * ldh + u] - dp0[row * ldh + u], TOL, 1, what + " dhPrev");
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- reductions

  @Test
  void reductionsMatchTwinsAndDouble() {
    SplittableRandom r = new SplittableRandom(8);
    int rows = 301;
    int lda = 5 * BW + 3;
    int c0 = 1;
    int c1 = 4 * BW + 3; // a vector tail
    float[] a = Ref.random(r, rows * lda, 1);
    float[] b = Ref.random(r, 2 + rows * lda, 1);
    float[] init = Ref.random(r, lda, 1);
    float[] sv = init.clone();
    float[] ss = init.clone();
    CellsTraining.columnSums(a, 0, lda, rows, c0, c1, sv, 0);
    CellsTraining.columnSumsScalar(a, 0, lda, rows, c0, c1, ss, 0);
    Ref.assertSameBits(ss, sv, "columnSums");
    float[] dv = init.clone();
    float[] dsc = init.clone();
    CellsTraining.columnDots(a, 0, lda, b, 2, lda, rows, c0, c1, dv, 0);
    CellsTraining.columnDotsScalar(a, 0, lda, b, 2, lda, rows, c0, c1, dsc, 0);
    Ref.assertSameBits(dsc, dv, "columnDots");
    for (int j = 0; j < lda; j++) {
      if (j < c0 || j >= c1) {
        assertEquals(init[j], sv[j]);
        assertEquals(init[j], dv[j]);
        continue;
      }
      double s = init[j];
      double d = init[j];
      for (int i = 0; i < rows; i++) {
        s += a[i * lda + j];
        d += (double) a[i * lda + j] * b[2 + i * lda + j];
      }
      Ref.assertNear(s, sv[j], 1e-6, 20, "columnSums " + j);
      Ref.assertNear(d, dv[j], 1e-6, 20, "columnDots " + j);
    }
  }

  // ---------------------------------------------------------------- allocation

  @Test
  void passesAllocateNothingOnceWarm() {
    SplittableRandom r = new SplittableRandom(2);
    int rows = 2;
    float[] ws = Ref.random(r, rows * 4 * HP, 2);
    float[] dact = new float[ws.length];
    float[] c = Ref.random(r, 2 * rows * HP, 1);
    float[] h = new float[rows * HP];
    float[] dg = new float[ws.length];
    float[] dg2 = new float[ws.length];
    float[] dh = Ref.random(r, rows * HP, 1);
    float[] dc = Ref.random(r, rows * HP, 1);
    float[] aux = Ref.random(r, rows * 4 * HP, 1);
    float[] peep = Ref.random(r, HP, 1);
    float[] w = new float[ws.length];
    Map<String, Runnable> k = new LinkedHashMap<>();
    for (float clip : new float[] {NO_CLIP, 2f}) {
      float[] d = clip == NO_CLIP ? null : dact;
      Cells.Lstm lstm =
          new Cells.Lstm(Act.sigmoid(), Act.tanh(), Act.tanh(), clip, peep, peep, peep, false);
      Cells.Gru gru = new Cells.Gru(Act.sigmoid(), Act.tanh(), clip, peep);
      k.put(
          "lstm clip=" + clip,
          () -> {
            System.arraycopy(ws, 0, w, 0, ws.length); // the forward pass overwrites its input
            CellsTraining.lstmForwardTraining(
                w, 0, 4 * HP, HP, d, c, 0, rows * HP, HP, h, 0, HP, rows, lstm);
          });
      k.put(
          "lstmB clip=" + clip,
          () -> {
            CellsTraining.lstmBackward(
                w, 0, 4 * HP, HP, d, c, 0, rows * HP, HP, dh, 0, HP, dc, 0, HP, dg, 0, 4 * HP, rows,
                lstm);
          });
      k.put(
          "gru lbr clip=" + clip,
          () -> {
            CellsTraining.gruForwardTrainingLbr(
                ws, 0, 3 * HP, HP, d, aux, 0, 3 * HP, c, 0, HP, dh, 0, HP, h, 0, HP, rows, gru);
          });
      k.put(
          "gruB lbr clip=" + clip,
          () -> {
            CellsTraining.gruBackwardLbr(
                ws, 0, 3 * HP, HP, d, c, 0, HP, dh, 0, HP, dh, 0, HP, dc, 0, HP, dg, 0, 3 * HP, dg2,
                0, 3 * HP, rows, gru);
          });
      k.put(
          "gru reset-first clip=" + clip,
          () -> {
            CellsTraining.gruResetHiddenTraining(
                ws, 0, 3 * HP, HP, d, aux, 0, 2 * HP, dh, 0, HP, c, 0, HP, rows, gru);
            CellsTraining.gruForwardTrainingResetFirst(
                ws, 0, 3 * HP, HP, d, aux, 0, HP, dh, 0, HP, h, 0, HP, rows, gru);
            CellsTraining.gruBackwardResetFirstZn(
                ws, 0, 3 * HP, HP, d, dh, 0, HP, dh, 0, HP, dc, 0, HP, dg, 0, 3 * HP, rows, gru);
            CellsTraining.gruBackwardResetFirstR(
                ws, 0, 3 * HP, HP, d, dh, 0, HP, aux, 0, HP, dc, 0, HP, dg, 0, 3 * HP, rows, gru);
          });
      for (Act a : new Act[] {Act.tanh(), Act.sigmoid(), Act.relu()}) {
        Cells.Rnn rnn = new Cells.Rnn(a, clip);
        k.put(
            "rnn " + a + " clip=" + clip,
            () -> {
              CellsTraining.rnnForwardTraining(ws, 0, HP, HP, d, h, 0, HP, rows, rnn);
              CellsTraining.rnnBackward(ws, 0, HP, HP, d, dh, 0, HP, dg, 0, HP, rows, rnn);
            });
      }
    }
    float[] bp = new float[(int) SgemmAt.packedSize(40, 2 * Sgemm.NR)];
    float[] ap = new float[(int) SgemmAt.packedASize(40, 11)];
    float[] cc = new float[11 * 2 * Sgemm.NR];
    float[] src = Ref.random(r, 40 * 2 * Sgemm.NR, 1);
    k.put(
        "sgemmAt",
        () -> {
          SgemmAt.pack(src, 0, 2 * Sgemm.NR, 2 * Sgemm.NR, 40, 0, 40, bp);
          SgemmAt.packA(src, 0, 2 * Sgemm.NR, 11, 40, 0, 11, ap);
          SgemmAt.gemm(0, 11, ap, 40, bp, 0, 2, cc, 0, 2 * Sgemm.NR, true);
        });
    k.put(
        "reductions",
        () -> {
          CellsTraining.columnSums(ws, 0, 4 * HP, rows, 0, 4 * HP - 1, dg, 0);
          CellsTraining.columnDots(ws, 0, 4 * HP, aux, 0, 4 * HP, rows, 0, 4 * HP - 1, dg2, 0);
        });
    Map<String, Long> allocating = new LinkedHashMap<>();
    k.forEach(
        (name, kernel) -> {
          long bytes = AllocationFreeTest.allocatedPerCall(kernel);
          if (bytes > 0) {
            allocating.put(name, bytes);
          }
        });
    assertEquals(Map.of(), allocating, "bytes allocated per call");
  }
}
