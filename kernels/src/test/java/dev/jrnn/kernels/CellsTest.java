package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Each vector pass against its scalar twin and against the equations in double. */
class CellsTest {

  static final int BW = Simd.BW;
  static final float TOL = 2e-6f;

  static float[] random(SplittableRandom r, int n, double scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
    }
    return v;
  }

  static void assertClose(float[] a, float[] b, String what) {
    for (int i = 0; i < a.length; i++) {
      assertEquals(a[i], b[i], TOL, what + " at " + i);
    }
  }

  static double sig(double x) {
    return 1 / (1 + Math.exp(-x));
  }

  @Test
  void everyActivationMatchesItsTwin() {
    SplittableRandom r = new SplittableRandom(1);
    float[] x = random(r, 64 * BW, 30);
    x[0] = 0f;
    x[1] = -0f;
    x[2] = 25f;
    for (int kind = Act.SIGMOID; kind <= Act.SOFTPLUS; kind++) {
      Act a = new Act(kind, 0.7f, 0.3f);
      for (int i = 0; i < x.length; i += BW) {
        float[] v = new float[BW];
        if (Simd.VECTOR && a.vectorized()) {
          a.apply(jdk.incubator.vector.FloatVector.fromArray(Simd.F, x, i)).intoArray(v, 0);
        } else {
          for (int l = 0; l < BW; l++) {
            v[l] = a.apply(x[i + l]);
          }
        }
        for (int l = 0; l < BW; l++) {
          float s = a.apply(x[i + l]);
          assertEquals(
              s, v[l], Math.max(2e-6f, Math.abs(s) * 2e-6f), "kind " + kind + " x=" + x[i + l]);
        }
      }
    }
  }

  @Test
  void lstmPassMatchesTwinAndEquations() {
    for (boolean peep : new boolean[] {false, true}) {
      for (boolean coupled : new boolean[] {false, true}) {
        for (float clip : new float[] {Float.POSITIVE_INFINITY, 0.8f}) {
          SplittableRandom r = new SplittableRandom(7);
          int rows = 3;
          int blocks = 3;
          int hp = blocks * BW;
          int ldg = 4 * hp + BW;
          float[] gates = random(r, rows * ldg, 3);
          float[] c0 = random(r, rows * hp, 1);
          float[] pi = peep ? random(r, hp, 1) : null;
          float[] pf = peep ? random(r, hp, 1) : null;
          float[] po = peep ? random(r, hp, 1) : null;
          Cells.Lstm p =
              new Cells.Lstm(
                  Act.SIGMOID_ACT, Act.TANH_ACT, Act.TANH_ACT, clip, pi, pf, po, coupled);
          float[] cv = c0.clone();
          float[] cs = c0.clone();
          float[] hv = new float[rows * hp];
          float[] hs = new float[rows * hp];
          Cells.lstmPostGemmForward(gates, 0, ldg, cv, hp, hv, 0, hp, rows, 1, blocks, p);
          Cells.lstmPostGemmForwardScalar(gates, 0, ldg, cs, hp, hs, 0, hp, rows, 1, blocks, p);
          assertClose(cs, cv, "c");
          assertClose(hs, hv, "h");
          for (int row = 0; row < rows; row++) {
            for (int u = 0; u < hp; u++) {
              int b = u / BW;
              int l = u % BW;
              int go = row * ldg + b * 4 * BW + l;
              double cp = c0[row * hp + u];
              if (b == 0) {
                assertEquals(0f, hv[row * hp + u]); // block 0 was not in [1, blocks)
                continue;
              }
              double i = sig(Math.clamp(gates[go] + (peep ? pi[u] * cp : 0), -clip, clip));
              double f =
                  coupled
                      ? 1 - i
                      : sig(Math.clamp(gates[go + BW] + (peep ? pf[u] * cp : 0), -clip, clip));
              double cn = f * cp + i * Math.tanh(Math.clamp(gates[go + 2 * BW], -clip, clip));
              double o = sig(Math.clamp(gates[go + 3 * BW] + (peep ? po[u] * cn : 0), -clip, clip));
              assertEquals(cn, cv[row * hp + u], 1e-5);
              assertEquals(o * Math.tanh(cn), hv[row * hp + u], 1e-5);
            }
          }
        }
      }
    }
  }

  @Test
  void gruPassesMatchTwinsAndEquations() {
    SplittableRandom r = new SplittableRandom(11);
    int rows = 2;
    int blocks = 2;
    int hp = blocks * BW;
    int ldg = 3 * hp;
    float[] gx = random(r, rows * ldg, 2);
    float[] gh = random(r, rows * ldg, 2);
    float[] hPrev = random(r, rows * hp, 1);
    float[] bn = random(r, hp, 1);
    Cells.Gru p = new Cells.Gru(Act.SIGMOID_ACT, Act.TANH_ACT, 1.1f, bn);
    float[] hv = new float[rows * hp];
    float[] hs = new float[rows * hp];
    Cells.gruPostGemmForwardLbr(gx, 0, ldg, gh, ldg, hPrev, 0, hp, hv, 0, hp, rows, 0, blocks, p);
    Cells.gruPostGemmForwardLbrScalar(
        gx, 0, ldg, gh, ldg, hPrev, 0, hp, hs, 0, hp, rows, 0, blocks, p);
    assertClose(hs, hv, "lbr h");
    for (int row = 0; row < rows; row++) {
      for (int u = 0; u < hp; u++) {
        int o = row * ldg + (u / BW) * 3 * BW + u % BW;
        double z = sig(Math.clamp(gx[o] + gh[o], -1.1, 1.1));
        double rg = sig(Math.clamp(gx[o + BW] + gh[o + BW], -1.1, 1.1));
        double n = Math.tanh(Math.clamp(gx[o + 2 * BW] + rg * (gh[o + 2 * BW] + bn[u]), -1.1, 1.1));
        assertEquals((1 - z) * n + z * hPrev[row * hp + u], hv[row * hp + u], 1e-5);
      }
    }
    // Reset-first variant: both halves, vector vs scalar.
    int ldzr = 2 * hp;
    float[] zrV = random(new SplittableRandom(2), rows * ldzr, 2);
    float[] zrS = zrV.clone();
    float[] rhV = new float[rows * hp];
    float[] rhS = new float[rows * hp];
    Cells.gruResetHidden(gx, 0, ldg, zrV, ldzr, hPrev, 0, hp, rhV, hp, rows, 0, blocks, p);
    Cells.gruResetHiddenScalar(gx, 0, ldg, zrS, ldzr, hPrev, 0, hp, rhS, hp, rows, 0, blocks, p);
    assertClose(zrS, zrV, "z");
    assertClose(rhS, rhV, "r*h");
    float[] ghn = random(r, rows * hp, 2);
    Cells.gruPostGemmForwardResetFirst(
        gx, 0, ldg, zrV, ldzr, ghn, hp, hPrev, 0, hp, hv, 0, hp, rows, 0, blocks, p);
    Cells.gruPostGemmForwardResetFirstScalar(
        gx, 0, ldg, zrS, ldzr, ghn, hp, hPrev, 0, hp, hs, 0, hp, rows, 0, blocks, p);
    assertClose(hs, hv, "reset-first h");
  }

  @Test
  void rnnPassMatchesTwin() {
    SplittableRandom r = new SplittableRandom(13);
    int hp = 2 * BW;
    float[] g = random(r, 3 * hp, 4);
    for (Act a : new Act[] {Act.TANH_ACT, Act.RELU_ACT, new Act(Act.SOFTPLUS, 0, 0)}) {
      Cells.Rnn p = new Cells.Rnn(a, 2.5f);
      float[] hv = new float[3 * hp];
      float[] hs = new float[3 * hp];
      Cells.rnnPostGemmForward(g, 0, hp, hv, 0, hp, 3, 0, 2, p);
      Cells.rnnPostGemmForwardScalar(g, 0, hp, hs, 0, hp, 3, 0, 2, p);
      assertClose(hs, hv, "rnn " + a);
    }
  }
}
