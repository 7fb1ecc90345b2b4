package dev.jrnn.kernels;

import static dev.jrnn.kernels.FloatMath.*;
import static jdk.incubator.vector.VectorOperators.FMA;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LSHL;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused post-GEMM element-wise passes of one time step: gate activations and the state update in
 * one sweep over the gates. Each works on rows {@code [0, rows)} and unit blocks {@code [b0, b1)}
 * of {@link Simd#BW} hidden units, so threads owning disjoint blocks never touch the same memory.
 *
 * <p>Gate layout ("blocked"): a row of pre-activations holds, for each block {@code b}, its gates
 * one after another, each {@code BW} floats: LSTM {@code [i f g o]}, GRU {@code [z r n]}, RNN
 * {@code [h]}. State rows ({@code h}, {@code c}) are plain {@code [Hp]}, {@code Hp} a multiple of
 * {@code BW}. Biases are already in the gates except the GRU's recurrent candidate bias when linear
 * happens before reset.
 *
 * <p>The standard cells run vectorized with their math written out in place: LSTM (sigmoid, tanh,
 * tanh), GRU (sigmoid, tanh), RNN (tanh, relu or sigmoid), the activations as {@link FloatMath}'s
 * operations lane by lane, so each pass gives the same bits as its scalar twin in every JIT tier.
 * No vector crosses a method call: in passes this large C2 stops inlining plain methods
 * (NodeCountInliningCutoff), and a vector passed to a call it does not inline is boxed; routing the
 * activations through a helper measured up to 500 KB allocated per call and 2x slower cells. Cells
 * with any other ONNX activation run the scalar twin (correct and allocation-free, slower).
 */
public final class Cells {

  private static final VectorSpecies<Float> S = Simd.F;
  private static final int BW = Simd.BW;

  private Cells() {}

  /** Per-direction LSTM options; arrays padded to {@code Hp}, null when absent. */
  public record Lstm(
      Act f,
      Act g,
      Act h,
      float clip,
      float[] peepI,
      float[] peepF,
      float[] peepO,
      boolean coupled) {
    public boolean hasClip() {
      return clip != Float.POSITIVE_INFINITY;
    }

    boolean vectorized() {
      return Simd.VECTOR && f.kind == Act.SIGMOID && g.kind == Act.TANH && h.kind == Act.TANH;
    }
  }

  /** Per-direction GRU options; {@code recurrentBiasN} padded to {@code Hp} (lbr only). */
  public record Gru(Act f, Act g, float clip, float[] recurrentBiasN) {
    public boolean hasClip() {
      return clip != Float.POSITIVE_INFINITY;
    }

    boolean vectorized() {
      return Simd.VECTOR && f.kind == Act.SIGMOID && g.kind == Act.TANH;
    }
  }

  /** Per-direction vanilla RNN options. */
  public record Rnn(Act f, float clip) {
    public boolean hasClip() {
      return clip != Float.POSITIVE_INFINITY;
    }

    boolean vectorized() {
      return Simd.VECTOR && (f.kind == Act.TANH || f.kind == Act.RELU || f.kind == Act.SIGMOID);
    }
  }

  private static float clip(float v, float c) {
    return Math.max(-c, Math.min(c, v));
  }

  /**
   * LSTM: {@code i=f(·+P_i⊙c), f=f(·+P_f⊙c)} (or {@code 1−i} coupled), {@code g=g(·)}, {@code
   * c'=f⊙c+i⊙g}, {@code o=f(·+P_o⊙c')}, {@code h=o⊙h(c')}. Gates at {@code gates[gOff + r·ldg]},
   * {@code c} updated in place at {@code c[r·ldc]}, h written at {@code h[hOff + r·ldh]}.
   */
  public static void lstmPostGemmForward(
      float[] gates,
      int gOff,
      int ldg,
      float[] c,
      int ldc,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      int b0,
      int b1,
      Lstm p) {
    if (!p.vectorized()) {
      lstmPostGemmForwardScalar(gates, gOff, ldg, c, ldc, h, hOff, ldh, rows, b0, b1, p);
      return;
    }
    boolean clip = p.hasClip();
    boolean peep = p.peepI() != null;
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector two = FloatVector.broadcast(S, 2f);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int b = b0; b < b1; b++) {
        int go = gOff + r * ldg + b * 4 * BW;
        int u = b * BW;
        int co = r * ldc + u;
        FloatVector cPrev = FloatVector.fromArray(S, c, co);
        FloatVector iv = FloatVector.fromArray(S, gates, go);
        FloatVector fv = FloatVector.fromArray(S, gates, go + BW);
        FloatVector gv = FloatVector.fromArray(S, gates, go + 2 * BW);
        FloatVector ov = FloatVector.fromArray(S, gates, go + 3 * BW);
        if (peep) {
          iv = FloatVector.fromArray(S, p.peepI(), u).fma(cPrev, iv);
          fv = FloatVector.fromArray(S, p.peepF(), u).fma(cPrev, fv);
        }
        if (clip) {
          iv = iv.max(-p.clip()).min(p.clip());
          fv = fv.max(-p.clip()).min(p.clip());
          gv = gv.max(-p.clip()).min(p.clip());
        }
        FloatVector i; // sigmoid(iv)
        {
          FloatVector x = iv.neg();
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          i = one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one));
        }
        FloatVector f; // sigmoid(fv), or 1 − i when coupled
        if (p.coupled()) {
          f = one.sub(i);
        } else {
          FloatVector x = fv.neg();
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          f = one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one));
        }
        FloatVector g; // tanh(gv)
        {
          FloatVector x = gv.add(gv);
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          FloatVector em1 = sc.fma(red.mul(red).fma(q, red), sc.sub(one));
          g = em1.div(em1.add(two));
        }
        FloatVector cNew = f.mul(cPrev).add(i.mul(g));
        cNew.intoArray(c, co);
        if (peep) {
          ov = FloatVector.fromArray(S, p.peepO(), u).fma(cNew, ov);
        }
        if (clip) {
          ov = ov.max(-p.clip()).min(p.clip());
        }
        FloatVector o; // sigmoid(ov)
        {
          FloatVector x = ov.neg();
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          o = one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one));
        }
        FloatVector hc; // tanh(cNew)
        {
          FloatVector x = cNew.add(cNew);
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          FloatVector em1 = sc.fma(red.mul(red).fma(q, red), sc.sub(one));
          hc = em1.div(em1.add(two));
        }
        o.mul(hc).intoArray(h, hOff + r * ldh + u);
      }
    }
  }

  /** Scalar twin of {@link #lstmPostGemmForward}. */
  public static void lstmPostGemmForwardScalar(
      float[] gates,
      int gOff,
      int ldg,
      float[] c,
      int ldc,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      int b0,
      int b1,
      Lstm p) {
    boolean peep = p.peepI() != null;
    for (int r = 0; r < rows; r++) {
      for (int b = b0; b < b1; b++) {
        for (int l = 0; l < BW; l++) {
          int go = gOff + r * ldg + b * 4 * BW + l;
          int u = b * BW + l;
          int co = r * ldc + u;
          float cPrev = c[co];
          float iv = peep ? Math.fma(p.peepI()[u], cPrev, gates[go]) : gates[go];
          float fv = peep ? Math.fma(p.peepF()[u], cPrev, gates[go + BW]) : gates[go + BW];
          float gv = gates[go + 2 * BW];
          float i = p.f().apply(clip(iv, p.clip()));
          float f = p.coupled() ? 1f - i : p.f().apply(clip(fv, p.clip()));
          float cNew = f * cPrev + i * p.g().apply(clip(gv, p.clip()));
          c[co] = cNew;
          float ov = peep ? Math.fma(p.peepO()[u], cNew, gates[go + 3 * BW]) : gates[go + 3 * BW];
          h[hOff + r * ldh + u] = p.f().apply(clip(ov, p.clip())) * p.h().apply(cNew);
        }
      }
    }
  }

  /**
   * GRU with linear-before-reset: {@code z=f(x_z+h_z)}, {@code r=f(x_r+h_r)}, {@code
   * n=g(x_n+r⊙(h_n+bR_n))}, {@code h'=(1−z)⊙n+z⊙h}. {@code gx} holds the input projection (with
   * biases), {@code gh} the recurrent product (no bias), both blocked {@code [z r n]}.
   */
  public static void gruPostGemmForwardLbr(
      float[] gx,
      int gxOff,
      int ldgx,
      float[] gh,
      int ldgh,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      int b0,
      int b1,
      Gru p) {
    if (!p.vectorized()) {
      gruPostGemmForwardLbrScalar(
          gx, gxOff, ldgx, gh, ldgh, hPrev, hpOff, ldhp, h, hOff, ldh, rows, b0, b1, p);
      return;
    }
    boolean clip = p.hasClip();
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector two = FloatVector.broadcast(S, 2f);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int b = b0; b < b1; b++) {
        int xo = gxOff + r * ldgx + b * 3 * BW;
        int ho = r * ldgh + b * 3 * BW;
        int u = b * BW;
        FloatVector zv = FloatVector.fromArray(S, gx, xo).add(FloatVector.fromArray(S, gh, ho));
        FloatVector rv =
            FloatVector.fromArray(S, gx, xo + BW).add(FloatVector.fromArray(S, gh, ho + BW));
        if (clip) {
          zv = zv.max(-p.clip()).min(p.clip());
          rv = rv.max(-p.clip()).min(p.clip());
        }
        FloatVector z; // sigmoid(zv)
        {
          FloatVector x = zv.neg();
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          z = one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one));
        }
        FloatVector rg; // sigmoid(rv)
        {
          FloatVector x = rv.neg();
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          rg = one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one));
        }
        FloatVector hn =
            FloatVector.fromArray(S, gh, ho + 2 * BW)
                .add(FloatVector.fromArray(S, p.recurrentBiasN(), u));
        FloatVector nv = rg.fma(hn, FloatVector.fromArray(S, gx, xo + 2 * BW));
        if (clip) {
          nv = nv.max(-p.clip()).min(p.clip());
        }
        FloatVector gn; // tanh(nv)
        {
          FloatVector x = nv.add(nv);
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          FloatVector em1 = sc.fma(red.mul(red).fma(q, red), sc.sub(one));
          gn = em1.div(em1.add(two));
        }
        FloatVector hp = FloatVector.fromArray(S, hPrev, hpOff + r * ldhp + u);
        z.fma(hp.sub(gn), gn).intoArray(h, hOff + r * ldh + u); // n + z⊙(h − n)
      }
    }
  }

  /** Scalar twin of {@link #gruPostGemmForwardLbr}. */
  public static void gruPostGemmForwardLbrScalar(
      float[] gx,
      int gxOff,
      int ldgx,
      float[] gh,
      int ldgh,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      int b0,
      int b1,
      Gru p) {
    for (int r = 0; r < rows; r++) {
      for (int b = b0; b < b1; b++) {
        for (int l = 0; l < BW; l++) {
          int xo = gxOff + r * ldgx + b * 3 * BW + l;
          int ho = r * ldgh + b * 3 * BW + l;
          int u = b * BW + l;
          float z = p.f().apply(clip(gx[xo] + gh[ho], p.clip()));
          float rg = p.f().apply(clip(gx[xo + BW] + gh[ho + BW], p.clip()));
          float hn = gh[ho + 2 * BW] + p.recurrentBiasN()[u];
          float n = p.g().apply(clip(Math.fma(rg, hn, gx[xo + 2 * BW]), p.clip()));
          float hp = hPrev[hpOff + r * ldhp + u];
          h[hOff + r * ldh + u] = Math.fma(z, hp - n, n);
        }
      }
    }
  }

  /**
   * GRU with reset before the recurrent product, first half: {@code z} and {@code r} from {@code
   * gx} (blocked {@code [z r n]}) plus {@code ghzr} (blocked {@code [z r]}); writes {@code z} back
   * over the z slot of {@code ghzr} and {@code r⊙h} to {@code resetH [Hp]} rows.
   */
  public static void gruResetHidden(
      float[] gx,
      int gxOff,
      int ldgx,
      float[] ghzr,
      int ldzr,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] resetH,
      int ldrh,
      int rows,
      int b0,
      int b1,
      Gru p) {
    if (!p.vectorized()) {
      gruResetHiddenScalar(
          gx, gxOff, ldgx, ghzr, ldzr, hPrev, hpOff, ldhp, resetH, ldrh, rows, b0, b1, p);
      return;
    }
    boolean clip = p.hasClip();
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int b = b0; b < b1; b++) {
        int xo = gxOff + r * ldgx + b * 3 * BW;
        int zo = r * ldzr + b * 2 * BW;
        int u = b * BW;
        FloatVector zv = FloatVector.fromArray(S, gx, xo).add(FloatVector.fromArray(S, ghzr, zo));
        FloatVector rv =
            FloatVector.fromArray(S, gx, xo + BW).add(FloatVector.fromArray(S, ghzr, zo + BW));
        if (clip) {
          zv = zv.max(-p.clip()).min(p.clip());
          rv = rv.max(-p.clip()).min(p.clip());
        }
        FloatVector z; // sigmoid(zv)
        {
          FloatVector x = zv.neg();
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          z = one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one));
        }
        z.intoArray(ghzr, zo);
        FloatVector rg; // sigmoid(rv)
        {
          FloatVector x = rv.neg();
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          rg = one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one));
        }
        rg.mul(FloatVector.fromArray(S, hPrev, hpOff + r * ldhp + u))
            .intoArray(resetH, r * ldrh + u);
      }
    }
  }

  /** Scalar twin of {@link #gruResetHidden}. */
  public static void gruResetHiddenScalar(
      float[] gx,
      int gxOff,
      int ldgx,
      float[] ghzr,
      int ldzr,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] resetH,
      int ldrh,
      int rows,
      int b0,
      int b1,
      Gru p) {
    for (int r = 0; r < rows; r++) {
      for (int b = b0; b < b1; b++) {
        for (int l = 0; l < BW; l++) {
          int xo = gxOff + r * ldgx + b * 3 * BW + l;
          int zo = r * ldzr + b * 2 * BW + l;
          int u = b * BW + l;
          float z = p.f().apply(clip(gx[xo] + ghzr[zo], p.clip()));
          float rg = p.f().apply(clip(gx[xo + BW] + ghzr[zo + BW], p.clip()));
          ghzr[zo] = z;
          resetH[r * ldrh + u] = rg * hPrev[hpOff + r * ldhp + u];
        }
      }
    }
  }

  /**
   * GRU with reset before the recurrent product, second half: {@code n=g(x_n+R_n(r⊙h)+bR_n)}
   * ({@code bR_n} folded into {@code gx}), {@code h'=(1−z)⊙n+z⊙h}; {@code z} is read from the z
   * slot of {@code ghzr}, {@code R_n(r⊙h)} from {@code ghn [Hp]} rows.
   */
  public static void gruPostGemmForwardResetFirst(
      float[] gx,
      int gxOff,
      int ldgx,
      float[] ghzr,
      int ldzr,
      float[] ghn,
      int ldn,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      int b0,
      int b1,
      Gru p) {
    if (!p.vectorized()) {
      gruPostGemmForwardResetFirstScalar(
          gx, gxOff, ldgx, ghzr, ldzr, ghn, ldn, hPrev, hpOff, ldhp, h, hOff, ldh, rows, b0, b1, p);
      return;
    }
    boolean clip = p.hasClip();
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector two = FloatVector.broadcast(S, 2f);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int b = b0; b < b1; b++) {
        int u = b * BW;
        FloatVector nv =
            FloatVector.fromArray(S, gx, gxOff + r * ldgx + b * 3 * BW + 2 * BW)
                .add(FloatVector.fromArray(S, ghn, r * ldn + u));
        if (clip) {
          nv = nv.max(-p.clip()).min(p.clip());
        }
        FloatVector gn; // tanh(nv)
        {
          FloatVector x = nv.add(nv);
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          FloatVector em1 = sc.fma(red.mul(red).fma(q, red), sc.sub(one));
          gn = em1.div(em1.add(two));
        }
        FloatVector z = FloatVector.fromArray(S, ghzr, r * ldzr + b * 2 * BW);
        FloatVector hp = FloatVector.fromArray(S, hPrev, hpOff + r * ldhp + u);
        z.fma(hp.sub(gn), gn).intoArray(h, hOff + r * ldh + u);
      }
    }
  }

  /** Scalar twin of {@link #gruPostGemmForwardResetFirst}. */
  public static void gruPostGemmForwardResetFirstScalar(
      float[] gx,
      int gxOff,
      int ldgx,
      float[] ghzr,
      int ldzr,
      float[] ghn,
      int ldn,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      int b0,
      int b1,
      Gru p) {
    for (int r = 0; r < rows; r++) {
      for (int b = b0; b < b1; b++) {
        for (int l = 0; l < BW; l++) {
          int u = b * BW + l;
          float nv = gx[gxOff + r * ldgx + b * 3 * BW + 2 * BW + l] + ghn[r * ldn + u];
          float n = p.g().apply(clip(nv, p.clip()));
          float z = ghzr[r * ldzr + b * 2 * BW + l];
          float hp = hPrev[hpOff + r * ldhp + u];
          h[hOff + r * ldh + u] = Math.fma(z, hp - n, n);
        }
      }
    }
  }

  /** Vanilla RNN: {@code h = f(clip(gates))}, gates already holding input, recurrence and bias. */
  public static void rnnPostGemmForward(
      float[] gates,
      int gOff,
      int ldg,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      int b0,
      int b1,
      Rnn p) {
    if (!p.vectorized()) {
      rnnPostGemmForwardScalar(gates, gOff, ldg, h, hOff, ldh, rows, b0, b1, p);
      return;
    }
    boolean clip = p.hasClip();
    int kind = p.f().kind;
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector two = FloatVector.broadcast(S, 2f);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int b = b0; b < b1; b++) {
        FloatVector v = FloatVector.fromArray(S, gates, gOff + r * ldg + b * BW);
        if (clip) {
          v = v.max(-p.clip()).min(p.clip());
        }
        FloatVector a;
        if (kind == Act.RELU) {
          a = v.max(0f);
        } else if (kind == Act.TANH) {
          {
            FloatVector x = v.add(v);
            x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
            FloatVector t = x.fma(LOG2E, ROUND);
            FloatVector m = t.sub(ROUND);
            FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
            FloatVector q =
                red.fma(Q4, Q3)
                    .lanewise(FMA, red, Q2)
                    .lanewise(FMA, red, Q1)
                    .lanewise(FMA, red, Q0);
            FloatVector sc =
                t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
            FloatVector em1 = sc.fma(red.mul(red).fma(q, red), sc.sub(one));
            a = em1.div(em1.add(two));
          }
        } else {
          {
            FloatVector x = v.neg();
            x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
            FloatVector t = x.fma(LOG2E, ROUND);
            FloatVector m = t.sub(ROUND);
            FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
            FloatVector q =
                red.fma(Q4, Q3)
                    .lanewise(FMA, red, Q2)
                    .lanewise(FMA, red, Q1)
                    .lanewise(FMA, red, Q0);
            FloatVector sc =
                t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
            a = one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one));
          }
        }
        a.intoArray(h, hOff + r * ldh + b * BW);
      }
    }
  }

  /** Scalar twin of {@link #rnnPostGemmForward}. */
  public static void rnnPostGemmForwardScalar(
      float[] gates,
      int gOff,
      int ldg,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      int b0,
      int b1,
      Rnn p) {
    for (int r = 0; r < rows; r++) {
      for (int b = b0; b < b1; b++) {
        for (int l = 0; l < BW; l++) {
          h[hOff + r * ldh + b * BW + l] =
              p.f().apply(clip(gates[gOff + r * ldg + b * BW + l], p.clip()));
        }
      }
    }
  }
}
