package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Each fused cell pass against its scalar twin, bit for bit (the vector loops run {@link
 * FloatMath}'s operations lane-wise), and against the cell's equations in double, with every
 * activation kind in every slot: sigmoid/tanh/relu run vectorized, the others through the scalar
 * fallback. Passes run on rows {@code [0, ROWS)} and blocks {@code [B0, B1)} of a wider layout, at
 * offsets, so the tests also see that nothing outside is read into or written. The blocked layout
 * has no tails: every block is a whole vector.
 */
class CellsTest {

  static final int BW = Simd.BW;
  static final int ROWS = 3;
  static final int BLOCKS = 4;
  static final int B0 = 1;
  static final int B1 = 3;
  static final int HP = BLOCKS * BW;
  static final float NO_CLIP = Float.POSITIVE_INFINITY;

  /** Relative to max(1, the terms' magnitude): about 8 ulps of the result's scale. */
  static final double TOL = 1e-6;

  static boolean inPass(int row, int u) {
    return row < ROWS && u >= B0 * BW && u < B1 * BW;
  }

  /** Every activation once in each slot, the others standard. */
  static List<Ref.Fn[]> slots(int n, Ref.Fn... standard) {
    List<Ref.Fn[]> out = new ArrayList<>();
    out.add(standard.clone());
    for (int slot = 0; slot < n; slot++) {
      for (Ref.Fn fn : Ref.ALL) {
        if (fn != standard[slot]) {
          Ref.Fn[] s = standard.clone();
          s[slot] = fn;
          out.add(s);
        }
      }
    }
    return out;
  }

  @Test
  void lstmMatchesTwinAndEquations() {
    int gOff = 5;
    int ldg = 4 * HP + BW; // a row stride wider than the gates
    int ldc = HP + 3;
    int hOff = 2;
    int ldh = HP + 1;
    for (Ref.Fn[] fgh : slots(3, Ref.SIGMOID, Ref.TANH, Ref.TANH)) {
      for (boolean peep : new boolean[] {false, true}) {
        for (boolean coupled : new boolean[] {false, true}) {
          for (float clip : new float[] {NO_CLIP, 0.8f}) {
            SplittableRandom r = new SplittableRandom(7);
            float[] gates = Ref.random(r, gOff + (ROWS + 1) * ldg, 3);
            float[] c0 = Ref.random(r, (ROWS + 1) * ldc, 1);
            float[] h0 = Ref.random(r, hOff + (ROWS + 1) * ldh, 1);
            float[] pi = peep ? Ref.random(r, HP, 1) : null;
            float[] pf = peep ? Ref.random(r, HP, 1) : null;
            float[] po = peep ? Ref.random(r, HP, 1) : null;
            Cells.Lstm p =
                new Cells.Lstm(fgh[0].act(), fgh[1].act(), fgh[2].act(), clip, pi, pf, po, coupled);
            String what = "lstm " + List.of(fgh) + " peep=" + peep + " coupled=" + coupled;
            float[] cv = c0.clone();
            float[] hv = h0.clone();
            float[] cs = c0.clone();
            float[] hs = h0.clone();
            Cells.lstmPostGemmForward(gates, gOff, ldg, cv, ldc, hv, hOff, ldh, ROWS, B0, B1, p);
            Cells.lstmPostGemmForwardScalar(
                gates, gOff, ldg, cs, ldc, hs, hOff, ldh, ROWS, B0, B1, p);
            Ref.assertSameBits(cs, cv, what + " c");
            Ref.assertSameBits(hs, hv, what + " h");
            for (int row = 0; row <= ROWS; row++) {
              for (int u = 0; u < HP; u++) {
                int ci = row * ldc + u;
                int hi = hOff + row * ldh + u;
                if (!inPass(row, u)) {
                  assertEquals(c0[ci], cv[ci], what + " c outside the pass");
                  assertEquals(h0[hi], hv[hi], what + " h outside the pass");
                  continue;
                }
                int go = gOff + row * ldg + (u / BW) * 4 * BW + u % BW;
                double cp = c0[ci];
                double i = fgh[0].at(Ref.clip(gates[go] + (peep ? pi[u] * cp : 0), clip));
                double f =
                    coupled
                        ? 1 - i
                        : fgh[0].at(Ref.clip(gates[go + BW] + (peep ? pf[u] * cp : 0), clip));
                double g = fgh[1].at(Ref.clip(gates[go + 2 * BW], clip));
                double cn = f * cp + i * g;
                double o = fgh[0].at(Ref.clip(gates[go + 3 * BW] + (peep ? po[u] * cn : 0), clip));
                double scale = Math.max(1, Math.abs(f * cp) + Math.abs(i * g));
                Ref.assertNear(cn, cv[ci], TOL, scale, what + " c at " + row + "," + u);
                Ref.assertNear(
                    o * fgh[2].at(cn), hv[hi], TOL, scale, what + " h at " + row + "," + u);
              }
            }
          }
        }
      }
    }
  }

  @Test
  void gruLinearBeforeResetMatchesTwinAndEquations() {
    int gxOff = 3;
    int ldgx = 3 * HP + BW;
    int ldgh = 3 * HP;
    int hpOff = 1;
    int ldhp = HP + 2;
    int hOff = 4;
    int ldh = HP + 1;
    for (Ref.Fn[] fg : slots(2, Ref.SIGMOID, Ref.TANH)) {
      for (float clip : new float[] {NO_CLIP, 1.1f}) {
        SplittableRandom r = new SplittableRandom(11);
        float[] gx = Ref.random(r, gxOff + ROWS * ldgx, 2);
        float[] gh = Ref.random(r, ROWS * ldgh, 2);
        float[] hPrev = Ref.random(r, hpOff + ROWS * ldhp, 1);
        float[] bn = Ref.random(r, HP, 1);
        float[] h0 = Ref.random(r, hOff + (ROWS + 1) * ldh, 1);
        Cells.Gru p = new Cells.Gru(fg[0].act(), fg[1].act(), clip, bn);
        String what = "gru lbr " + List.of(fg) + " clip=" + clip;
        float[] hv = h0.clone();
        float[] hs = h0.clone();
        Cells.gruPostGemmForwardLbr(
            gx, gxOff, ldgx, gh, ldgh, hPrev, hpOff, ldhp, hv, hOff, ldh, ROWS, B0, B1, p);
        Cells.gruPostGemmForwardLbrScalar(
            gx, gxOff, ldgx, gh, ldgh, hPrev, hpOff, ldhp, hs, hOff, ldh, ROWS, B0, B1, p);
        Ref.assertSameBits(hs, hv, what);
        for (int row = 0; row <= ROWS; row++) {
          for (int u = 0; u < HP; u++) {
            int hi = hOff + row * ldh + u;
            if (!inPass(row, u)) {
              assertEquals(h0[hi], hv[hi], what + " outside the pass");
              continue;
            }
            int xo = gxOff + row * ldgx + (u / BW) * 3 * BW + u % BW;
            int ho = row * ldgh + (u / BW) * 3 * BW + u % BW;
            double z = fg[0].at(Ref.clip((double) gx[xo] + gh[ho], clip));
            double rg = fg[0].at(Ref.clip((double) gx[xo + BW] + gh[ho + BW], clip));
            double n =
                fg[1].at(Ref.clip(gx[xo + 2 * BW] + rg * ((double) gh[ho + 2 * BW] + bn[u]), clip));
            double hp = hPrev[hpOff + row * ldhp + u];
            double scale = Math.max(1, Math.abs(n) + Math.abs(z * hp));
            Ref.assertNear((1 - z) * n + z * hp, hv[hi], TOL, scale, what + " at " + row + "," + u);
          }
        }
      }
    }
  }

  @Test
  void gruResetFirstHalvesMatchTwinsAndEquations() {
    int gxOff = 3;
    int ldgx = 3 * HP + BW;
    int ldzr = 2 * HP + BW;
    int ldrh = HP + 2;
    int ldn = HP + 1;
    int hpOff = 1;
    int ldhp = HP + 2;
    int hOff = 4;
    int ldh = HP + 1;
    for (Ref.Fn[] fg : slots(2, Ref.SIGMOID, Ref.TANH)) {
      for (float clip : new float[] {NO_CLIP, 1.1f}) {
        SplittableRandom r = new SplittableRandom(13);
        float[] gx = Ref.random(r, gxOff + ROWS * ldgx, 2);
        float[] zr0 = Ref.random(r, (ROWS + 1) * ldzr, 2);
        float[] hPrev = Ref.random(r, hpOff + ROWS * ldhp, 1);
        float[] rh0 = Ref.random(r, (ROWS + 1) * ldrh, 1);
        float[] ghn = Ref.random(r, ROWS * ldn, 2);
        float[] h0 = Ref.random(r, hOff + (ROWS + 1) * ldh, 1);
        Cells.Gru p = new Cells.Gru(fg[0].act(), fg[1].act(), clip, null);
        String what = "gru reset-first " + List.of(fg) + " clip=" + clip;
        float[] zrV = zr0.clone();
        float[] zrS = zr0.clone();
        float[] rhV = rh0.clone();
        float[] rhS = rh0.clone();
        Cells.gruResetHidden(
            gx, gxOff, ldgx, zrV, ldzr, hPrev, hpOff, ldhp, rhV, ldrh, ROWS, B0, B1, p);
        Cells.gruResetHiddenScalar(
            gx, gxOff, ldgx, zrS, ldzr, hPrev, hpOff, ldhp, rhS, ldrh, ROWS, B0, B1, p);
        Ref.assertSameBits(zrS, zrV, what + " z");
        Ref.assertSameBits(rhS, rhV, what + " r⊙h");
        float[] hv = h0.clone();
        float[] hs = h0.clone();
        Cells.gruPostGemmForwardResetFirst(
            gx, gxOff, ldgx, zrV, ldzr, ghn, ldn, hPrev, hpOff, ldhp, hv, hOff, ldh, ROWS, B0, B1,
            p);
        Cells.gruPostGemmForwardResetFirstScalar(
            gx, gxOff, ldgx, zrS, ldzr, ghn, ldn, hPrev, hpOff, ldhp, hs, hOff, ldh, ROWS, B0, B1,
            p);
        Ref.assertSameBits(hs, hv, what + " h");
        for (int row = 0; row <= ROWS; row++) {
          for (int u = 0; u < HP; u++) {
            int b = u / BW;
            int l = u % BW;
            int zo = row * ldzr + b * 2 * BW + l;
            int ri = row * ldrh + u;
            int hi = hOff + row * ldh + u;
            if (!inPass(row, u)) {
              assertEquals(zr0[zo], zrV[zo], what + " z outside the pass");
              assertEquals(zr0[zo + BW], zrV[zo + BW], what + " r slot is not written");
              assertEquals(rh0[ri], rhV[ri], what + " r⊙h outside the pass");
              assertEquals(h0[hi], hv[hi], what + " h outside the pass");
              continue;
            }
            int xo = gxOff + row * ldgx + b * 3 * BW + l;
            double z = fg[0].at(Ref.clip((double) gx[xo] + zr0[zo], clip));
            double rg = fg[0].at(Ref.clip((double) gx[xo + BW] + zr0[zo + BW], clip));
            double hp = hPrev[hpOff + row * ldhp + u];
            String at = " at " + row + "," + u;
            Ref.assertNear(z, zrV[zo], TOL, 1, what + " z" + at);
            assertEquals(zr0[zo + BW], zrV[zo + BW], what + " r slot is not written");
            Ref.assertNear(rg * hp, rhV[ri], TOL, 1, what + " r⊙h" + at);
            // the second half from the first half's z, as the engine chains them
            double n = fg[1].at(Ref.clip((double) gx[xo + 2 * BW] + ghn[row * ldn + u], clip));
            double scale = Math.max(1, Math.abs(n) + Math.abs(z * hp));
            Ref.assertNear((1 - z) * n + z * hp, hv[hi], TOL, scale, what + " h" + at);
          }
        }
      }
    }
  }

  @Test
  void rnnMatchesTwinAndEquations() {
    int gOff = 2;
    int ldg = HP + BW;
    int hOff = 1;
    int ldh = HP + 3;
    for (Ref.Fn fn : Ref.ALL) {
      for (float clip : new float[] {NO_CLIP, 2.5f}) {
        SplittableRandom r = new SplittableRandom(17);
        float[] g = Ref.activationInputs(r, gOff + ROWS * ldg);
        float[] h0 = Ref.random(r, hOff + (ROWS + 1) * ldh, 1);
        Cells.Rnn p = new Cells.Rnn(fn.act(), clip);
        String what = "rnn " + fn + " clip=" + clip;
        float[] hv = h0.clone();
        float[] hs = h0.clone();
        Cells.rnnPostGemmForward(g, gOff, ldg, hv, hOff, ldh, ROWS, B0, B1, p);
        Cells.rnnPostGemmForwardScalar(g, gOff, ldg, hs, hOff, ldh, ROWS, B0, B1, p);
        Ref.assertSameBits(hs, hv, what);
        for (int row = 0; row <= ROWS; row++) {
          for (int u = 0; u < HP; u++) {
            int hi = hOff + row * ldh + u;
            if (!inPass(row, u)) {
              assertEquals(h0[hi], hv[hi], what + " outside the pass");
              continue;
            }
            float x = g[gOff + row * ldg + u];
            double want = fn.at(Ref.clip(x, clip));
            double scale = Math.max(ActTest.scale(fn, x, want), 1e-31);
            Ref.assertNear(want, hv[hi], 4.8e-7, scale, what + " x=" + x);
          }
        }
      }
    }
  }

  @Test
  void splittingTheBlocksAmongThreadsChangesNoBits() {
    Cells.Lstm p =
        new Cells.Lstm(Act.sigmoid(), Act.tanh(), Act.tanh(), NO_CLIP, null, null, null, false);
    SplittableRandom r = new SplittableRandom(19);
    int ldg = 4 * HP;
    float[] gates = Ref.random(r, ROWS * ldg, 3);
    float[] c0 = Ref.random(r, ROWS * HP, 1);
    float[] cWhole = c0.clone();
    float[] hWhole = new float[ROWS * HP];
    Cells.lstmPostGemmForward(gates, 0, ldg, cWhole, HP, hWhole, 0, HP, ROWS, 0, BLOCKS, p);
    for (int split = 1; split < BLOCKS; split++) {
      float[] c = c0.clone();
      float[] h = new float[ROWS * HP];
      Cells.lstmPostGemmForward(gates, 0, ldg, c, HP, h, 0, HP, ROWS, split, BLOCKS, p);
      Cells.lstmPostGemmForward(gates, 0, ldg, c, HP, h, 0, HP, ROWS, 0, split, p);
      Ref.assertSameBits(cWhole, c, "c split at block " + split);
      Ref.assertSameBits(hWhole, h, "h split at block " + split);
    }
  }
}
