package dev.jrnn.kernels;

import static dev.jrnn.kernels.FloatMath.*;
import static jdk.incubator.vector.VectorOperators.FMA;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LSHL;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused element-wise passes of training, one time step each: forward passes that also keep what
 * backward needs (the gate activations, written over the pre-activations in the gate workspace),
 * and backward passes that turn the gradient of h (and of c) into the gradients of the gate
 * pre-activations in one sweep, oneDNN's {@code ref_postgemm} backward cells written for the JVM.
 * Plus the two reductions over time × batch that the weight gradients need besides GEMMs.
 *
 * <p>Gate layout ("gate-major"): a row holds each gate's {@code hp} units one after another, gate
 * {@code g} of unit {@code u} at {@code g·hp + u}: LSTM {@code [i f g o]}, GRU {@code [z r n]}, RNN
 * {@code [h]}. {@code hp} is a multiple of {@link Simd#BW}, so no pass has a tail. Every pass works
 * on rows {@code [0, rows)} at the given offsets and row strides (threads own disjoint rows).
 *
 * <p>Activation derivatives come from the saved activations ({@code σ' = σ(1−σ)}, {@code tanh' =
 * 1−tanh²}, see {@link #gradFromOutput}). Where that is impossible (a clip: the gradient is zero
 * where the pre-activation was clipped; or an activation whose output does not tell its slope, see
 * {@link #derivableFromOutput}), the forward pass also writes each gate's derivative to {@code
 * dact}, laid out like the workspace, and backward reads it; {@code dact == null} otherwise.
 *
 * <p>As in {@link Cells}, the standard activations run vectorized with their math written out in
 * place (no vector crosses a call), any other runs the scalar twin, and each vector pass gives the
 * bits of its twin.
 */
public final class CellsTraining {

  private static final VectorSpecies<Float> S = Simd.F;
  private static final int BW = Simd.BW;

  private CellsTraining() {}

  // ------------------------------------------------------------------ activation derivatives

  /**
   * Whether {@code f}'s derivative follows from its output: every kind but leaky relu, elu and
   * thresholded relu with a negative alpha (where one output comes from two slopes).
   */
  public static boolean derivableFromOutput(Act f) {
    return switch (f.kind) {
      case Act.LEAKY_RELU, Act.THRESHOLDED_RELU, Act.ELU -> f.alpha >= 0;
      default -> true;
    };
  }

  /**
   * Whether passes of cells with these activations and this clip keep a derivative plane ({@code
   * dact}).
   */
  public static boolean needsDerivatives(float clip, Act... acts) {
    if (clip != Float.POSITIVE_INFINITY) {
      return true;
    }
    for (Act a : acts) {
      if (!derivableFromOutput(a)) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code f'(x)} from {@code y = f(x)} ({@link #derivableFromOutput}); at a kink, PyTorch's side:
   * relu'(0) = 0, leaky relu'(0) = alpha, elu'(0) = alpha.
   */
  public static float gradFromOutput(Act f, float y) {
    return switch (f.kind) {
      case Act.SIGMOID -> y * (1f - y);
      case Act.TANH -> 1f - y * y;
      case Act.RELU -> y > 0f ? 1f : 0f;
      case Act.AFFINE -> f.alpha;
      case Act.LEAKY_RELU -> y > 0f ? 1f : f.alpha;
      case Act.THRESHOLDED_RELU -> y != 0f ? 1f : 0f;
      case Act.SCALED_TANH -> f.alpha == 0f ? 0f : f.beta * (f.alpha - y * y / f.alpha);
      case Act.HARD_SIGMOID -> y > 0f && y < 1f ? f.alpha : 0f;
      case Act.ELU -> y > 0f ? 1f : y + f.alpha;
      case Act.SOFTSIGN -> (1f - Math.abs(y)) * (1f - Math.abs(y));
      case Act.SOFTPLUS -> -FloatMath.expm1(-y);
      default -> throw new IllegalStateException("activation code " + f.kind);
    };
  }

  /** {@code f'(x)} given {@code x} and {@code y = f(x)}, for any parameters. */
  public static float gradAt(Act f, float x, float y) {
    return switch (f.kind) {
      case Act.LEAKY_RELU -> x > 0f ? 1f : f.alpha;
      case Act.THRESHOLDED_RELU -> x > f.alpha ? 1f : 0f;
      case Act.ELU -> x > 0f ? 1f : y + f.alpha;
      default -> gradFromOutput(f, y);
    };
  }

  private static float clip(float v, float c) {
    return Math.max(-c, Math.min(c, v));
  }

  /** {@code d}, or 0 where the pre-activation {@code v} was clipped. */
  private static float unclipped(float d, float v, float c) {
    return Math.abs(v) > c ? 0f : d;
  }

  /**
   * {@code dact[dOff + j] = |dact[dOff + j]| > clip ? 0 : f'} for {@code n} floats, where {@code
   * dact} holds the pre-activations and {@code ws} at {@code wOff} the activations (sigmoid, tanh
   * or relu). The vector passes form their derivatives here, apart: inside a fused pass the extra
   * vectors pushed C2 past its inlining budget and it boxed them (320 bytes a call).
   */
  private static void derivativesOfClipped(
      float[] ws, int wOff, float[] dact, int dOff, int n, int kind, float clip) {
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector zero = FloatVector.zero(S);
    for (int j = 0; j < n; j += BW) {
      FloatVector a = FloatVector.fromArray(S, ws, wOff + j);
      FloatVector d;
      if (kind == Act.SIGMOID) {
        d = a.mul(one.sub(a));
      } else if (kind == Act.TANH) {
        d = one.sub(a.mul(a));
      } else {
        d = one.blend(zero, a.compare(GT, 0f).not());
      }
      FloatVector v = FloatVector.fromArray(S, dact, dOff + j);
      d.blend(zero, v.abs().compare(GT, clip)).intoArray(dact, dOff + j);
    }
  }

  /** {@code a[aOff + j] += b[bOff + j]} for {@code n} floats (n a multiple of the vector). */
  private static void addInto(float[] a, int aOff, float[] b, int bOff, int n) {
    for (int j = 0; j < n; j += BW) {
      FloatVector.fromArray(S, a, aOff + j)
          .add(FloatVector.fromArray(S, b, bOff + j))
          .intoArray(a, aOff + j);
    }
  }

  /** {@code dact[j] = peep[j]·c[j] + dact[j]} for {@code n} floats: a peephole pre-activation. */
  private static void addPeephole(
      float[] dact, int dOff, float[] peep, float[] c, int cOff, int n) {
    for (int j = 0; j < n; j += BW) {
      FloatVector.fromArray(S, peep, j)
          .fma(FloatVector.fromArray(S, c, cOff + j), FloatVector.fromArray(S, dact, dOff + j))
          .intoArray(dact, dOff + j);
    }
  }

  /** The LSTM's derivative plane from the raw gates in {@code dact} (see lstmForwardTraining). */
  private static void lstmDerivativesOfClipped(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] c,
      int cPrev,
      int cNext,
      int ldc,
      int rows,
      Cells.Lstm p) {
    float cl = p.clip();
    for (int r = 0; r < rows; r++) {
      int go = wOff + r * ldw;
      if (p.peepI() != null) {
        addPeephole(dact, go, p.peepI(), c, cPrev + r * ldc, hp);
        addPeephole(dact, go + hp, p.peepF(), c, cPrev + r * ldc, hp);
        addPeephole(dact, go + 3 * hp, p.peepO(), c, cNext + r * ldc, hp);
      }
      derivativesOfClipped(ws, go, dact, go, hp, Act.SIGMOID, cl);
      if (p.coupled()) {
        java.util.Arrays.fill(dact, go + hp, go + 2 * hp, 0f);
      } else {
        derivativesOfClipped(ws, go + hp, dact, go + hp, hp, Act.SIGMOID, cl);
      }
      derivativesOfClipped(ws, go + 2 * hp, dact, go + 2 * hp, hp, Act.TANH, cl);
      derivativesOfClipped(ws, go + 3 * hp, dact, go + 3 * hp, hp, Act.SIGMOID, cl);
    }
  }

  /** The lbr GRU's derivative plane from the raw input gates in {@code dact}. */
  private static void gruLbrDerivativesOfClipped(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] gh,
      int ghOff,
      int ldgh,
      float[] ghn,
      int ghnOff,
      int ldghn,
      int rows,
      float cl) {
    for (int r = 0; r < rows; r++) {
      int go = wOff + r * ldw;
      addInto(dact, go, gh, ghOff + r * ldgh, 2 * hp);
      for (int j = 0; j < hp; j += BW) { // n's pre-activation: r⊙(h_n + bR_n) + x_n
        int d = go + 2 * hp + j;
        FloatVector.fromArray(S, ws, go + hp + j)
            .fma(
                FloatVector.fromArray(S, ghn, ghnOff + r * ldghn + j),
                FloatVector.fromArray(S, dact, d))
            .intoArray(dact, d);
      }
      derivativesOfClipped(ws, go, dact, go, 2 * hp, Act.SIGMOID, cl);
      derivativesOfClipped(ws, go + 2 * hp, dact, go + 2 * hp, hp, Act.TANH, cl);
    }
  }

  // ------------------------------------------------------------------ LSTM

  /**
   * LSTM forward step keeping the workspace: as {@link Cells#lstmPostGemmForward} on the gate-major
   * row {@code ws[wOff + r·ldw]} (pre-activations with biases and the recurrent product) and writes
   * the activations {@code i, f, g, o} over them ({@code f = 1 − i} when coupled). Reads {@code
   * c_{t−1}} at {@code c[cPrev + r·ldc]}, writes {@code c_t} at {@code c[cNext + r·ldc]} and {@code
   * h} at {@code h[hOff + r·ldh]}.
   */
  public static void lstmForwardTraining(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] c,
      int cPrev,
      int cNext,
      int ldc,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      Cells.Lstm p) {
    if (!p.vectorized()) {
      lstmForwardTrainingScalar(
          ws, wOff, ldw, hp, dact, c, cPrev, cNext, ldc, h, hOff, ldh, rows, p);
      return;
    }
    boolean clip = p.hasClip();
    float cl = p.clip();
    boolean peep = p.peepI() != null;
    boolean keep = dact != null;
    if (keep) { // the raw gates; their derivatives are formed after the fused pass
      for (int r = 0; r < rows; r++) {
        System.arraycopy(ws, wOff + r * ldw, dact, wOff + r * ldw, 4 * hp);
      }
    }
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector two = FloatVector.broadcast(S, 2f);
    FloatVector zero = FloatVector.zero(S);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u += BW) {
        int go = wOff + r * ldw + u;
        FloatVector cp = FloatVector.fromArray(S, c, cPrev + r * ldc + u);
        FloatVector iv = FloatVector.fromArray(S, ws, go);
        FloatVector fv = FloatVector.fromArray(S, ws, go + hp);
        FloatVector gv = FloatVector.fromArray(S, ws, go + 2 * hp);
        FloatVector ov = FloatVector.fromArray(S, ws, go + 3 * hp);
        if (peep) {
          iv = FloatVector.fromArray(S, p.peepI(), u).fma(cp, iv);
          fv = FloatVector.fromArray(S, p.peepF(), u).fma(cp, fv);
        }
        if (clip) {
          iv = iv.max(-cl).min(cl);
          fv = fv.max(-cl).min(cl);
          gv = gv.max(-cl).min(cl);
        }
        FloatVector i; // sigmoid
        {
          FloatVector x = (iv).neg();
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
        FloatVector f;
        if (p.coupled()) {
          f = one.sub(i);
        } else {
          {
            FloatVector x = (fv).neg();
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
            f = one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one));
          }
        }
        FloatVector g; // tanh
        {
          FloatVector a = gv;
          FloatVector x = a.add(a);
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
        FloatVector cn = f.mul(cp).add(i.mul(g));
        cn.intoArray(c, cNext + r * ldc + u);
        if (peep) {
          ov = FloatVector.fromArray(S, p.peepO(), u).fma(cn, ov);
        }
        if (clip) {
          ov = ov.max(-cl).min(cl);
        }
        FloatVector o; // sigmoid
        {
          FloatVector x = (ov).neg();
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
        FloatVector hc; // tanh
        {
          FloatVector a = cn;
          FloatVector x = a.add(a);
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
        i.intoArray(ws, go);
        f.intoArray(ws, go + hp);
        g.intoArray(ws, go + 2 * hp);
        o.intoArray(ws, go + 3 * hp);
      }
    }
    if (keep) {
      lstmDerivativesOfClipped(ws, wOff, ldw, hp, dact, c, cPrev, cNext, ldc, rows, p);
    }
  }

  /** Scalar twin of {@link #lstmForwardTraining}. */
  public static void lstmForwardTrainingScalar(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] c,
      int cPrev,
      int cNext,
      int ldc,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      Cells.Lstm p) {
    boolean peep = p.peepI() != null;
    float cl = p.clip();
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u++) {
        int go = wOff + r * ldw + u;
        float cp = c[cPrev + r * ldc + u];
        float iv = peep ? Math.fma(p.peepI()[u], cp, ws[go]) : ws[go];
        float fv = peep ? Math.fma(p.peepF()[u], cp, ws[go + hp]) : ws[go + hp];
        float gv = ws[go + 2 * hp];
        float ic = clip(iv, cl);
        float fc = clip(fv, cl);
        float gc = clip(gv, cl);
        float i = p.f().apply(ic);
        float f = p.coupled() ? 1f - i : p.f().apply(fc);
        float g = p.g().apply(gc);
        float cn = f * cp + i * g;
        c[cNext + r * ldc + u] = cn;
        float ov = peep ? Math.fma(p.peepO()[u], cn, ws[go + 3 * hp]) : ws[go + 3 * hp];
        float oc = clip(ov, cl);
        float o = p.f().apply(oc);
        h[hOff + r * ldh + u] = o * p.h().apply(cn);
        ws[go] = i;
        ws[go + hp] = f;
        ws[go + 2 * hp] = g;
        ws[go + 3 * hp] = o;
        if (dact != null) {
          dact[go] = unclipped(gradAt(p.f(), ic, i), iv, cl);
          dact[go + hp] = p.coupled() ? 0f : unclipped(gradAt(p.f(), fc, f), fv, cl);
          dact[go + 2 * hp] = unclipped(gradAt(p.g(), gc, g), gv, cl);
          dact[go + 3 * hp] = unclipped(gradAt(p.f(), oc, o), ov, cl);
        }
      }
    }
  }

  /**
   * LSTM backward step: from the gradient of this step's (pre-projection) output {@code dh} and of
   * its cell state {@code dc} (the gradient flowing back from later steps, at {@code dc[dcOff +
   * r·lddc]}), the gate pre-activation gradients {@code [dI dF dG dO]} into {@code dg} and the
   * gradient of {@code c_{t−1}} over {@code dc}. Reads the activations the forward pass kept in
   * {@code ws}, {@code c_{t−1}} and {@code c_t} (tanh(c) is recomputed), the derivative plane when
   * there is one.
   */
  public static void lstmBackward(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] c,
      int cPrev,
      int cNext,
      int ldc,
      float[] dh,
      int dhOff,
      int lddh,
      float[] dc,
      int dcOff,
      int lddc,
      float[] dg,
      int dgOff,
      int lddg,
      int rows,
      Cells.Lstm p) {
    if (!p.vectorized()) {
      lstmBackwardScalar(
          ws, wOff, ldw, hp, dact, c, cPrev, cNext, ldc, dh, dhOff, lddh, dc, dcOff, lddc, dg,
          dgOff, lddg, rows, p);
      return;
    }
    boolean peep = p.peepI() != null;
    boolean coupled = p.coupled();
    boolean keep = dact != null;
    // The peephole terms are blended in under a mask fixed for the call, never added in a branch:
    // once C2 has seen cells with and without peepholes, a vector assigned in an if inside the loop
    // is boxed on every iteration (1.5 KB per call of 3 rows × 32 units). Without peepholes the
    // masks are clear and the loads read the workspace, which is at hand.
    VectorMask<Float> withPeep = S.maskAll(peep);
    VectorMask<Float> withPeepF = S.maskAll(peep && !coupled);
    float[] peepI = peep ? p.peepI() : ws;
    float[] peepF = peep && !coupled ? p.peepF() : ws;
    float[] peepO = peep ? p.peepO() : ws;
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector two = FloatVector.broadcast(S, 2f);
    FloatVector zero = FloatVector.zero(S);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u += BW) {
        int go = wOff + r * ldw + u;
        FloatVector i = FloatVector.fromArray(S, ws, go);
        FloatVector f = FloatVector.fromArray(S, ws, go + hp);
        FloatVector g = FloatVector.fromArray(S, ws, go + 2 * hp);
        FloatVector o = FloatVector.fromArray(S, ws, go + 3 * hp);
        FloatVector cp = FloatVector.fromArray(S, c, cPrev + r * ldc + u);
        FloatVector cn = FloatVector.fromArray(S, c, cNext + r * ldc + u);
        FloatVector hc; // tanh
        {
          FloatVector a = cn;
          FloatVector x = a.add(a);
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
        FloatVector dhc = one.sub(hc.mul(hc));
        FloatVector di;
        FloatVector df;
        FloatVector dgg;
        FloatVector dO;
        if (keep) {
          di = FloatVector.fromArray(S, dact, go);
          df = FloatVector.fromArray(S, dact, go + hp);
          dgg = FloatVector.fromArray(S, dact, go + 2 * hp);
          dO = FloatVector.fromArray(S, dact, go + 3 * hp);
        } else {
          di = i.mul(one.sub(i));
          df = coupled ? zero : f.mul(one.sub(f));
          dgg = one.sub(g.mul(g));
          dO = o.mul(one.sub(o));
        }
        FloatVector dhv = FloatVector.fromArray(S, dh, dhOff + r * lddh + u);
        int dco = dcOff + r * lddc + u;
        FloatVector dcv = FloatVector.fromArray(S, dc, dco);
        FloatVector gO = dhv.mul(hc).mul(dO);
        dcv = dhv.mul(o).fma(dhc, dcv);
        dcv = dcv.blend(gO.fma(FloatVector.fromArray(S, peepO, u), dcv), withPeep);
        FloatVector fa = dcv.mul(cp);
        FloatVector ia = dcv.mul(g);
        FloatVector gI;
        FloatVector gF;
        if (coupled) {
          gI = ia.sub(fa).mul(di);
          gF = zero;
        } else {
          gI = ia.mul(di);
          gF = fa.mul(df);
        }
        FloatVector gG = dcv.mul(i).mul(dgg);
        FloatVector dcp = dcv.mul(f);
        dcp = dcp.blend(gI.fma(FloatVector.fromArray(S, peepI, u), dcp), withPeep);
        dcp = dcp.blend(gF.fma(FloatVector.fromArray(S, peepF, u), dcp), withPeepF);
        int gd = dgOff + r * lddg + u;
        gI.intoArray(dg, gd);
        gF.intoArray(dg, gd + hp);
        gG.intoArray(dg, gd + 2 * hp);
        gO.intoArray(dg, gd + 3 * hp);
        dcp.intoArray(dc, dco);
      }
    }
  }

  /** Scalar twin of {@link #lstmBackward}. */
  public static void lstmBackwardScalar(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] c,
      int cPrev,
      int cNext,
      int ldc,
      float[] dh,
      int dhOff,
      int lddh,
      float[] dc,
      int dcOff,
      int lddc,
      float[] dg,
      int dgOff,
      int lddg,
      int rows,
      Cells.Lstm p) {
    boolean peep = p.peepI() != null;
    boolean coupled = p.coupled();
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u++) {
        int go = wOff + r * ldw + u;
        float i = ws[go];
        float f = ws[go + hp];
        float g = ws[go + 2 * hp];
        float o = ws[go + 3 * hp];
        float cp = c[cPrev + r * ldc + u];
        float cn = c[cNext + r * ldc + u];
        float hc = p.h().apply(cn);
        float dhc = gradAt(p.h(), cn, hc);
        float di;
        float df;
        float dgg;
        float dO;
        if (dact != null) {
          di = dact[go];
          df = dact[go + hp];
          dgg = dact[go + 2 * hp];
          dO = dact[go + 3 * hp];
        } else {
          di = gradFromOutput(p.f(), i);
          df = coupled ? 0f : gradFromOutput(p.f(), f);
          dgg = gradFromOutput(p.g(), g);
          dO = gradFromOutput(p.f(), o);
        }
        float dhv = dh[dhOff + r * lddh + u];
        int dco = dcOff + r * lddc + u;
        float dcv = dc[dco];
        float gO = dhv * hc * dO;
        dcv = Math.fma(dhv * o, dhc, dcv);
        if (peep) {
          dcv = Math.fma(gO, p.peepO()[u], dcv);
        }
        float fa = dcv * cp;
        float ia = dcv * g;
        float gI;
        float gF;
        if (coupled) {
          gI = (ia - fa) * di;
          gF = 0f;
        } else {
          gI = ia * di;
          gF = fa * df;
        }
        float gG = dcv * i * dgg;
        float dcp = dcv * f;
        if (peep) {
          dcp = Math.fma(gI, p.peepI()[u], dcp);
          if (!coupled) {
            dcp = Math.fma(gF, p.peepF()[u], dcp);
          }
        }
        int gd = dgOff + r * lddg + u;
        dg[gd] = gI;
        dg[gd + hp] = gF;
        dg[gd + 2 * hp] = gG;
        dg[gd + 3 * hp] = gO;
        dc[dco] = dcp;
      }
    }
  }

  // ------------------------------------------------------------------ vanilla RNN

  /**
   * RNN forward step keeping the workspace: {@code y = f(clip(ws))} written over {@code ws} and to
   * {@code h}.
   */
  public static void rnnForwardTraining(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      Cells.Rnn p) {
    if (!p.vectorized()) {
      rnnForwardTrainingScalar(ws, wOff, ldw, hp, dact, h, hOff, ldh, rows, p);
      return;
    }
    boolean clip = p.hasClip();
    float cl = p.clip();
    boolean keep = dact != null;
    if (keep) { // the raw gates; their derivatives are formed after the fused pass
      for (int r = 0; r < rows; r++) {
        System.arraycopy(ws, wOff + r * ldw, dact, wOff + r * ldw, hp);
      }
    }
    int kind = p.f().kind;
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector two = FloatVector.broadcast(S, 2f);
    FloatVector zero = FloatVector.zero(S);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u += BW) {
        int go = wOff + r * ldw + u;
        FloatVector v = FloatVector.fromArray(S, ws, go);
        if (clip) {
          v = v.max(-cl).min(cl);
        }
        FloatVector y;
        if (kind == Act.RELU) {
          y = v.max(0f);
        } else if (kind == Act.TANH) {
          {
            FloatVector a = v;
            FloatVector x = a.add(a);
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
            y = em1.div(em1.add(two));
          }
        } else {
          {
            FloatVector x = (v).neg();
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
            y = one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one));
          }
        }
        y.intoArray(ws, go);
        y.intoArray(h, hOff + r * ldh + u);
      }
    }
    if (keep) {
      for (int r = 0; r < rows; r++) {
        derivativesOfClipped(ws, wOff + r * ldw, dact, wOff + r * ldw, hp, kind, cl);
      }
    }
  }

  /** Scalar twin of {@link #rnnForwardTraining}. */
  public static void rnnForwardTrainingScalar(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      Cells.Rnn p) {
    float cl = p.clip();
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u++) {
        int go = wOff + r * ldw + u;
        float v = ws[go];
        float vc = clip(v, cl);
        float y = p.f().apply(vc);
        ws[go] = y;
        h[hOff + r * ldh + u] = y;
        if (dact != null) {
          dact[go] = unclipped(gradAt(p.f(), vc, y), v, cl);
        }
      }
    }
  }

  /** RNN backward step: {@code dg = dh ⊙ f'}. */
  public static void rnnBackward(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] dh,
      int dhOff,
      int lddh,
      float[] dg,
      int dgOff,
      int lddg,
      int rows,
      Cells.Rnn p) {
    if (!p.vectorized()) {
      rnnBackwardScalar(ws, wOff, ldw, hp, dact, dh, dhOff, lddh, dg, dgOff, lddg, rows, p);
      return;
    }
    boolean keep = dact != null;
    int kind = p.f().kind;
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector zero = FloatVector.zero(S);
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u += BW) {
        int go = wOff + r * ldw + u;
        FloatVector d;
        if (keep) {
          d = FloatVector.fromArray(S, dact, go);
        } else {
          FloatVector y = FloatVector.fromArray(S, ws, go);
          if (kind == Act.RELU) {
            d = one.blend(zero, y.compare(GT, 0f).not());
          } else if (kind == Act.TANH) {
            d = one.sub(y.mul(y));
          } else {
            d = y.mul(one.sub(y));
          }
        }
        FloatVector.fromArray(S, dh, dhOff + r * lddh + u)
            .mul(d)
            .intoArray(dg, dgOff + r * lddg + u);
      }
    }
  }

  /** Scalar twin of {@link #rnnBackward}. */
  public static void rnnBackwardScalar(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] dh,
      int dhOff,
      int lddh,
      float[] dg,
      int dgOff,
      int lddg,
      int rows,
      Cells.Rnn p) {
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u++) {
        int go = wOff + r * ldw + u;
        float d = dact != null ? dact[go] : gradFromOutput(p.f(), ws[go]);
        dg[dgOff + r * lddg + u] = dh[dhOff + r * lddh + u] * d;
      }
    }
  }

  // ------------------------------------------------------------------ GRU, linear before reset

  /**
   * GRU (linear before reset) forward step keeping the workspace: as {@link
   * Cells#gruPostGemmForwardLbr} with {@code ws} holding the input projection (biases in, the
   * candidate's recurrent bias apart) and {@code gh} the recurrent product; writes {@code z, r, n}
   * over {@code ws}, the candidate's recurrent term {@code h_n + bR_n} to {@code ghn}, and {@code
   * h'}.
   */
  public static void gruForwardTrainingLbr(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] gh,
      int ghOff,
      int ldgh,
      float[] ghn,
      int ghnOff,
      int ldghn,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      Cells.Gru p) {
    if (!p.vectorized()) {
      gruForwardTrainingLbrScalar(
          ws, wOff, ldw, hp, dact, gh, ghOff, ldgh, ghn, ghnOff, ldghn, hPrev, hpOff, ldhp, h, hOff,
          ldh, rows, p);
      return;
    }
    boolean clip = p.hasClip();
    float cl = p.clip();
    boolean keep = dact != null;
    if (keep) { // the raw gates; their derivatives are formed after the fused pass
      for (int r = 0; r < rows; r++) {
        System.arraycopy(ws, wOff + r * ldw, dact, wOff + r * ldw, 3 * hp);
      }
    }
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector two = FloatVector.broadcast(S, 2f);
    FloatVector zero = FloatVector.zero(S);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u += BW) {
        int go = wOff + r * ldw + u;
        int ho = ghOff + r * ldgh + u;
        FloatVector zv = FloatVector.fromArray(S, ws, go).add(FloatVector.fromArray(S, gh, ho));
        FloatVector rv =
            FloatVector.fromArray(S, ws, go + hp).add(FloatVector.fromArray(S, gh, ho + hp));
        if (clip) {
          zv = zv.max(-cl).min(cl);
          rv = rv.max(-cl).min(cl);
        }
        FloatVector z; // sigmoid
        {
          FloatVector x = (zv).neg();
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
        FloatVector rg; // sigmoid
        {
          FloatVector x = (rv).neg();
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
            FloatVector.fromArray(S, gh, ho + 2 * hp)
                .add(FloatVector.fromArray(S, p.recurrentBiasN(), u));
        FloatVector nv = rg.fma(hn, FloatVector.fromArray(S, ws, go + 2 * hp));
        if (clip) {
          nv = nv.max(-cl).min(cl);
        }
        FloatVector n; // tanh
        {
          FloatVector a = nv;
          FloatVector x = a.add(a);
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          FloatVector em1 = sc.fma(red.mul(red).fma(q, red), sc.sub(one));
          n = em1.div(em1.add(two));
        }
        FloatVector hpv = FloatVector.fromArray(S, hPrev, hpOff + r * ldhp + u);
        z.fma(hpv.sub(n), n).intoArray(h, hOff + r * ldh + u); // n + z⊙(h − n)
        z.intoArray(ws, go);
        rg.intoArray(ws, go + hp);
        n.intoArray(ws, go + 2 * hp);
        hn.intoArray(ghn, ghnOff + r * ldghn + u);
      }
    }
    if (keep) {
      gruLbrDerivativesOfClipped(
          ws, wOff, ldw, hp, dact, gh, ghOff, ldgh, ghn, ghnOff, ldghn, rows, cl);
    }
  }

  /** Scalar twin of {@link #gruForwardTrainingLbr}. */
  public static void gruForwardTrainingLbrScalar(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] gh,
      int ghOff,
      int ldgh,
      float[] ghn,
      int ghnOff,
      int ldghn,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      Cells.Gru p) {
    float cl = p.clip();
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u++) {
        int go = wOff + r * ldw + u;
        int ho = ghOff + r * ldgh + u;
        float zv = ws[go] + gh[ho];
        float rv = ws[go + hp] + gh[ho + hp];
        float zc = clip(zv, cl);
        float rc = clip(rv, cl);
        float z = p.f().apply(zc);
        float rg = p.f().apply(rc);
        float hn = gh[ho + 2 * hp] + p.recurrentBiasN()[u];
        float nv = Math.fma(rg, hn, ws[go + 2 * hp]);
        float nc = clip(nv, cl);
        float n = p.g().apply(nc);
        float hpv = hPrev[hpOff + r * ldhp + u];
        h[hOff + r * ldh + u] = Math.fma(z, hpv - n, n);
        ws[go] = z;
        ws[go + hp] = rg;
        ws[go + 2 * hp] = n;
        ghn[ghnOff + r * ldghn + u] = hn;
        if (dact != null) {
          dact[go] = unclipped(gradAt(p.f(), zc, z), zv, cl);
          dact[go + hp] = unclipped(gradAt(p.f(), rc, rg), rv, cl);
          dact[go + 2 * hp] = unclipped(gradAt(p.g(), nc, n), nv, cl);
        }
      }
    }
  }

  /**
   * GRU (linear before reset) backward step: from {@code dh} (gradient of {@code h'}) the gate
   * pre-activation gradients for the input side {@code dgx = [dZ dR dN]} (at {@code dgOff +
   * r·lddg}) and for the recurrent side {@code dgr = [dZ dR dN⊙r]} (at {@code dgrOff + r·lddgr}),
   * and adds the direct part {@code dh⊙z} of the gradient of {@code h_{t−1}} into {@code dhPrev};
   * the recurrent GEMM adds the rest.
   */
  public static void gruBackwardLbr(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] ghn,
      int ghnOff,
      int ldghn,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] dh,
      int dhOff,
      int lddh,
      float[] dhPrev,
      int dpOff,
      int lddp,
      float[] dgx,
      int dgOff,
      int lddg,
      float[] dgr,
      int dgrOff,
      int lddgr,
      int rows,
      Cells.Gru p) {
    if (!p.vectorized()) {
      gruBackwardLbrScalar(
          ws, wOff, ldw, hp, dact, ghn, ghnOff, ldghn, hPrev, hpOff, ldhp, dh, dhOff, lddh, dhPrev,
          dpOff, lddp, dgx, dgOff, lddg, dgr, dgrOff, lddgr, rows, p);
      return;
    }
    boolean keep = dact != null;
    FloatVector one = FloatVector.broadcast(S, 1f);
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u += BW) {
        int go = wOff + r * ldw + u;
        FloatVector z = FloatVector.fromArray(S, ws, go);
        FloatVector rg = FloatVector.fromArray(S, ws, go + hp);
        FloatVector n = FloatVector.fromArray(S, ws, go + 2 * hp);
        FloatVector dz;
        FloatVector dr;
        FloatVector dn;
        if (keep) {
          dz = FloatVector.fromArray(S, dact, go);
          dr = FloatVector.fromArray(S, dact, go + hp);
          dn = FloatVector.fromArray(S, dact, go + 2 * hp);
        } else {
          dz = z.mul(one.sub(z));
          dr = rg.mul(one.sub(rg));
          dn = one.sub(n.mul(n));
        }
        FloatVector hn = FloatVector.fromArray(S, ghn, ghnOff + r * ldghn + u);
        FloatVector hpv = FloatVector.fromArray(S, hPrev, hpOff + r * ldhp + u);
        FloatVector dhv = FloatVector.fromArray(S, dh, dhOff + r * lddh + u);
        FloatVector gZ = dhv.mul(hpv.sub(n)).mul(dz);
        FloatVector gN = dhv.mul(one.sub(z)).mul(dn);
        FloatVector gR = gN.mul(hn).mul(dr);
        int gd = dgOff + r * lddg + u;
        gZ.intoArray(dgx, gd);
        gR.intoArray(dgx, gd + hp);
        gN.intoArray(dgx, gd + 2 * hp);
        int gr = dgrOff + r * lddgr + u;
        gZ.intoArray(dgr, gr);
        gR.intoArray(dgr, gr + hp);
        gN.mul(rg).intoArray(dgr, gr + 2 * hp);
        int po = dpOff + r * lddp + u;
        dhv.fma(z, FloatVector.fromArray(S, dhPrev, po)).intoArray(dhPrev, po);
      }
    }
  }

  /** Scalar twin of {@link #gruBackwardLbr}. */
  public static void gruBackwardLbrScalar(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] ghn,
      int ghnOff,
      int ldghn,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] dh,
      int dhOff,
      int lddh,
      float[] dhPrev,
      int dpOff,
      int lddp,
      float[] dgx,
      int dgOff,
      int lddg,
      float[] dgr,
      int dgrOff,
      int lddgr,
      int rows,
      Cells.Gru p) {
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u++) {
        int go = wOff + r * ldw + u;
        float z = ws[go];
        float rg = ws[go + hp];
        float n = ws[go + 2 * hp];
        float dz;
        float dr;
        float dn;
        if (dact != null) {
          dz = dact[go];
          dr = dact[go + hp];
          dn = dact[go + 2 * hp];
        } else {
          dz = gradFromOutput(p.f(), z);
          dr = gradFromOutput(p.f(), rg);
          dn = gradFromOutput(p.g(), n);
        }
        float hn = ghn[ghnOff + r * ldghn + u];
        float hpv = hPrev[hpOff + r * ldhp + u];
        float dhv = dh[dhOff + r * lddh + u];
        float gZ = dhv * (hpv - n) * dz;
        float gN = dhv * (1f - z) * dn;
        float gR = gN * hn * dr;
        int gd = dgOff + r * lddg + u;
        dgx[gd] = gZ;
        dgx[gd + hp] = gR;
        dgx[gd + 2 * hp] = gN;
        int gr = dgrOff + r * lddgr + u;
        dgr[gr] = gZ;
        dgr[gr + hp] = gR;
        dgr[gr + 2 * hp] = gN * rg;
        int po = dpOff + r * lddp + u;
        dhPrev[po] = Math.fma(dhv, z, dhPrev[po]);
      }
    }
  }

  // ------------------------------------------------------------------ GRU, reset before

  /**
   * GRU (reset before the recurrent product) forward step, first half, keeping the workspace:
   * {@code z, r} from {@code ws} plus the recurrent product {@code gzr} (gate-major {@code [z r]}),
   * written over {@code ws}; {@code r⊙h} to {@code rh}.
   */
  public static void gruResetHiddenTraining(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] gzr,
      int gzrOff,
      int ldzr,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] rh,
      int rhOff,
      int ldrh,
      int rows,
      Cells.Gru p) {
    if (!p.vectorized()) {
      gruResetHiddenTrainingScalar(
          ws, wOff, ldw, hp, dact, gzr, gzrOff, ldzr, hPrev, hpOff, ldhp, rh, rhOff, ldrh, rows, p);
      return;
    }
    boolean clip = p.hasClip();
    float cl = p.clip();
    boolean keep = dact != null;
    if (keep) { // the raw gates; their derivatives are formed after the fused pass
      for (int r = 0; r < rows; r++) {
        System.arraycopy(ws, wOff + r * ldw, dact, wOff + r * ldw, 2 * hp);
      }
    }
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector zero = FloatVector.zero(S);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u += BW) {
        int go = wOff + r * ldw + u;
        int zo = gzrOff + r * ldzr + u;
        FloatVector zv = FloatVector.fromArray(S, ws, go).add(FloatVector.fromArray(S, gzr, zo));
        FloatVector rv =
            FloatVector.fromArray(S, ws, go + hp).add(FloatVector.fromArray(S, gzr, zo + hp));
        if (clip) {
          zv = zv.max(-cl).min(cl);
          rv = rv.max(-cl).min(cl);
        }
        FloatVector z; // sigmoid
        {
          FloatVector x = (zv).neg();
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
        FloatVector rg; // sigmoid
        {
          FloatVector x = (rv).neg();
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
        z.intoArray(ws, go);
        rg.intoArray(ws, go + hp);
        rg.mul(FloatVector.fromArray(S, hPrev, hpOff + r * ldhp + u))
            .intoArray(rh, rhOff + r * ldrh + u);
      }
    }
    if (keep) {
      for (int r = 0; r < rows; r++) {
        int go = wOff + r * ldw;
        addInto(dact, go, gzr, gzrOff + r * ldzr, 2 * hp);
        derivativesOfClipped(ws, go, dact, go, 2 * hp, Act.SIGMOID, cl);
      }
    }
  }

  /** Scalar twin of {@link #gruResetHiddenTraining}. */
  public static void gruResetHiddenTrainingScalar(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] gzr,
      int gzrOff,
      int ldzr,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] rh,
      int rhOff,
      int ldrh,
      int rows,
      Cells.Gru p) {
    float cl = p.clip();
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u++) {
        int go = wOff + r * ldw + u;
        int zo = gzrOff + r * ldzr + u;
        float zv = ws[go] + gzr[zo];
        float rv = ws[go + hp] + gzr[zo + hp];
        float zc = clip(zv, cl);
        float rc = clip(rv, cl);
        float z = p.f().apply(zc);
        float rg = p.f().apply(rc);
        ws[go] = z;
        ws[go + hp] = rg;
        rh[rhOff + r * ldrh + u] = rg * hPrev[hpOff + r * ldhp + u];
        if (dact != null) {
          dact[go] = unclipped(gradAt(p.f(), zc, z), zv, cl);
          dact[go + hp] = unclipped(gradAt(p.f(), rc, rg), rv, cl);
        }
      }
    }
  }

  /**
   * GRU (reset before) forward step, second half: {@code n = g(clip(ws_n + ghn))} written over
   * {@code ws}'s n gate ({@code ghn = R_n(r⊙h)}, biases already in {@code ws}), {@code h' = n +
   * z⊙(h − n)}.
   */
  public static void gruForwardTrainingResetFirst(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] ghn,
      int ghnOff,
      int ldn,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      Cells.Gru p) {
    if (!p.vectorized()) {
      gruForwardTrainingResetFirstScalar(
          ws, wOff, ldw, hp, dact, ghn, ghnOff, ldn, hPrev, hpOff, ldhp, h, hOff, ldh, rows, p);
      return;
    }
    boolean clip = p.hasClip();
    float cl = p.clip();
    boolean keep = dact != null;
    if (keep) { // the raw gates; their derivatives are formed after the fused pass
      for (int r = 0; r < rows; r++) {
        System.arraycopy(ws, wOff + r * ldw + 2 * hp, dact, wOff + r * ldw + 2 * hp, hp);
      }
    }
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector two = FloatVector.broadcast(S, 2f);
    FloatVector zero = FloatVector.zero(S);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u += BW) {
        int go = wOff + r * ldw + u;
        FloatVector nv =
            FloatVector.fromArray(S, ws, go + 2 * hp)
                .add(FloatVector.fromArray(S, ghn, ghnOff + r * ldn + u));
        if (clip) {
          nv = nv.max(-cl).min(cl);
        }
        FloatVector n; // tanh
        {
          FloatVector a = nv;
          FloatVector x = a.add(a);
          x = x.blend(lo, x.lt(LO)).blend(hi, x.compare(GT, HI));
          FloatVector t = x.fma(LOG2E, ROUND);
          FloatVector m = t.sub(ROUND);
          FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, x));
          FloatVector q =
              red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
          FloatVector sc =
              t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
          FloatVector em1 = sc.fma(red.mul(red).fma(q, red), sc.sub(one));
          n = em1.div(em1.add(two));
        }
        FloatVector z = FloatVector.fromArray(S, ws, go);
        FloatVector hpv = FloatVector.fromArray(S, hPrev, hpOff + r * ldhp + u);
        z.fma(hpv.sub(n), n).intoArray(h, hOff + r * ldh + u);
        n.intoArray(ws, go + 2 * hp);
      }
    }
    if (keep) {
      for (int r = 0; r < rows; r++) {
        int go = wOff + r * ldw + 2 * hp;
        addInto(dact, go, ghn, ghnOff + r * ldn, hp);
        derivativesOfClipped(ws, go, dact, go, hp, Act.TANH, cl);
      }
    }
  }

  /** Scalar twin of {@link #gruForwardTrainingResetFirst}. */
  public static void gruForwardTrainingResetFirstScalar(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] ghn,
      int ghnOff,
      int ldn,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] h,
      int hOff,
      int ldh,
      int rows,
      Cells.Gru p) {
    float cl = p.clip();
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u++) {
        int go = wOff + r * ldw + u;
        float nv = ws[go + 2 * hp] + ghn[ghnOff + r * ldn + u];
        float nc = clip(nv, cl);
        float n = p.g().apply(nc);
        float z = ws[go];
        float hpv = hPrev[hpOff + r * ldhp + u];
        h[hOff + r * ldh + u] = Math.fma(z, hpv - n, n);
        ws[go + 2 * hp] = n;
        if (dact != null) {
          dact[go + 2 * hp] = unclipped(gradAt(p.g(), nc, n), nv, cl);
        }
      }
    }
  }

  /**
   * GRU (reset before) backward step, first half: {@code dZ} and {@code dN} into {@code dg}'s z and
   * n gates, {@code dh⊙z} added into {@code dhPrev}. The caller then forms {@code d(r⊙h) = dN·R_n}
   * and runs {@link #gruBackwardResetFirstR}.
   */
  public static void gruBackwardResetFirstZn(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] dh,
      int dhOff,
      int lddh,
      float[] dhPrev,
      int dpOff,
      int lddp,
      float[] dg,
      int dgOff,
      int lddg,
      int rows,
      Cells.Gru p) {
    if (!p.vectorized()) {
      gruBackwardResetFirstZnScalar(
          ws, wOff, ldw, hp, dact, hPrev, hpOff, ldhp, dh, dhOff, lddh, dhPrev, dpOff, lddp, dg,
          dgOff, lddg, rows, p);
      return;
    }
    boolean keep = dact != null;
    FloatVector one = FloatVector.broadcast(S, 1f);
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u += BW) {
        int go = wOff + r * ldw + u;
        FloatVector z = FloatVector.fromArray(S, ws, go);
        FloatVector n = FloatVector.fromArray(S, ws, go + 2 * hp);
        FloatVector dz;
        FloatVector dn;
        if (keep) {
          dz = FloatVector.fromArray(S, dact, go);
          dn = FloatVector.fromArray(S, dact, go + 2 * hp);
        } else {
          dz = z.mul(one.sub(z));
          dn = one.sub(n.mul(n));
        }
        FloatVector hpv = FloatVector.fromArray(S, hPrev, hpOff + r * ldhp + u);
        FloatVector dhv = FloatVector.fromArray(S, dh, dhOff + r * lddh + u);
        int gd = dgOff + r * lddg + u;
        dhv.mul(hpv.sub(n)).mul(dz).intoArray(dg, gd);
        dhv.mul(one.sub(z)).mul(dn).intoArray(dg, gd + 2 * hp);
        int po = dpOff + r * lddp + u;
        dhv.fma(z, FloatVector.fromArray(S, dhPrev, po)).intoArray(dhPrev, po);
      }
    }
  }

  /** Scalar twin of {@link #gruBackwardResetFirstZn}. */
  public static void gruBackwardResetFirstZnScalar(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] dh,
      int dhOff,
      int lddh,
      float[] dhPrev,
      int dpOff,
      int lddp,
      float[] dg,
      int dgOff,
      int lddg,
      int rows,
      Cells.Gru p) {
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u++) {
        int go = wOff + r * ldw + u;
        float z = ws[go];
        float n = ws[go + 2 * hp];
        float dz = dact != null ? dact[go] : gradFromOutput(p.f(), z);
        float dn = dact != null ? dact[go + 2 * hp] : gradFromOutput(p.g(), n);
        float hpv = hPrev[hpOff + r * ldhp + u];
        float dhv = dh[dhOff + r * lddh + u];
        int gd = dgOff + r * lddg + u;
        dg[gd] = dhv * (hpv - n) * dz;
        dg[gd + 2 * hp] = dhv * (1f - z) * dn;
        int po = dpOff + r * lddp + u;
        dhPrev[po] = Math.fma(dhv, z, dhPrev[po]);
      }
    }
  }

  /**
   * GRU (reset before) backward step, second half: from {@code drh}, the gradient of {@code r⊙h},
   * the reset gate's {@code dR} into {@code dg}, and {@code drh⊙r} added into {@code dhPrev}.
   */
  public static void gruBackwardResetFirstR(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] drh,
      int drhOff,
      int lddrh,
      float[] dhPrev,
      int dpOff,
      int lddp,
      float[] dg,
      int dgOff,
      int lddg,
      int rows,
      Cells.Gru p) {
    if (!p.vectorized()) {
      gruBackwardResetFirstRScalar(
          ws, wOff, ldw, hp, dact, hPrev, hpOff, ldhp, drh, drhOff, lddrh, dhPrev, dpOff, lddp, dg,
          dgOff, lddg, rows, p);
      return;
    }
    boolean keep = dact != null;
    FloatVector one = FloatVector.broadcast(S, 1f);
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u += BW) {
        int go = wOff + r * ldw + u;
        FloatVector rg = FloatVector.fromArray(S, ws, go + hp);
        FloatVector dr = keep ? FloatVector.fromArray(S, dact, go + hp) : rg.mul(one.sub(rg));
        FloatVector hpv = FloatVector.fromArray(S, hPrev, hpOff + r * ldhp + u);
        FloatVector d = FloatVector.fromArray(S, drh, drhOff + r * lddrh + u);
        d.mul(hpv).mul(dr).intoArray(dg, dgOff + r * lddg + u + hp);
        int po = dpOff + r * lddp + u;
        d.fma(rg, FloatVector.fromArray(S, dhPrev, po)).intoArray(dhPrev, po);
      }
    }
  }

  /** Scalar twin of {@link #gruBackwardResetFirstR}. */
  public static void gruBackwardResetFirstRScalar(
      float[] ws,
      int wOff,
      int ldw,
      int hp,
      float[] dact,
      float[] hPrev,
      int hpOff,
      int ldhp,
      float[] drh,
      int drhOff,
      int lddrh,
      float[] dhPrev,
      int dpOff,
      int lddp,
      float[] dg,
      int dgOff,
      int lddg,
      int rows,
      Cells.Gru p) {
    for (int r = 0; r < rows; r++) {
      for (int u = 0; u < hp; u++) {
        int go = wOff + r * ldw + u;
        float rg = ws[go + hp];
        float dr = dact != null ? dact[go + hp] : gradFromOutput(p.f(), rg);
        float hpv = hPrev[hpOff + r * ldhp + u];
        float d = drh[drhOff + r * lddrh + u];
        dg[dgOff + r * lddg + u + hp] = d * hpv * dr;
        int po = dpOff + r * lddp + u;
        dhPrev[po] = Math.fma(d, rg, dhPrev[po]);
      }
    }
  }

  // ------------------------------------------------------------------ reductions over time × batch

  /**
   * {@code out[outOff + j] += Σ_r a[aOff + r·lda + j]} for {@code j ∈ [c0, c1)}: bias gradients.
   * Each column sums its rows in order, so the bits do not depend on how columns are split.
   */
  public static void columnSums(
      float[] a, int aOff, int lda, int rows, int c0, int c1, float[] out, int outOff) {
    if (!Simd.VECTOR) {
      columnSumsScalar(a, aOff, lda, rows, c0, c1, out, outOff);
      return;
    }
    int vEnd = c0 + (c1 - c0) / BW * BW;
    for (int r = 0; r < rows; r++) { // rows outer: A streams once, the sums stay in L1
      int ao = aOff + r * lda;
      for (int j = c0; j < vEnd; j += BW) {
        FloatVector.fromArray(S, out, outOff + j)
            .add(FloatVector.fromArray(S, a, ao + j))
            .intoArray(out, outOff + j);
      }
      for (int j = vEnd; j < c1; j++) {
        out[outOff + j] += a[ao + j];
      }
    }
  }

  /** Scalar twin of {@link #columnSums}. */
  public static void columnSumsScalar(
      float[] a, int aOff, int lda, int rows, int c0, int c1, float[] out, int outOff) {
    for (int j = c0; j < c1; j++) {
      float acc = out[outOff + j];
      for (int r = 0; r < rows; r++) {
        acc += a[aOff + r * lda + j];
      }
      out[outOff + j] = acc;
    }
  }

  /**
   * {@code out[outOff + j] += Σ_r a[aOff + r·lda + j] · b[bOff + r·ldb + j]} for {@code j ∈ [c0,
   * c1)}, one fused multiply-add chain per column: peephole gradients.
   */
  public static void columnDots(
      float[] a,
      int aOff,
      int lda,
      float[] b,
      int bOff,
      int ldb,
      int rows,
      int c0,
      int c1,
      float[] out,
      int outOff) {
    if (!Simd.VECTOR) {
      columnDotsScalar(a, aOff, lda, b, bOff, ldb, rows, c0, c1, out, outOff);
      return;
    }
    int vEnd = c0 + (c1 - c0) / BW * BW;
    for (int r = 0; r < rows; r++) {
      int ao = aOff + r * lda;
      int bo = bOff + r * ldb;
      for (int j = c0; j < vEnd; j += BW) {
        FloatVector.fromArray(S, a, ao + j)
            .fma(FloatVector.fromArray(S, b, bo + j), FloatVector.fromArray(S, out, outOff + j))
            .intoArray(out, outOff + j);
      }
      for (int j = vEnd; j < c1; j++) {
        out[outOff + j] = Math.fma(a[ao + j], b[bo + j], out[outOff + j]);
      }
    }
  }

  /** Scalar twin of {@link #columnDots}. */
  public static void columnDotsScalar(
      float[] a,
      int aOff,
      int lda,
      float[] b,
      int bOff,
      int ldb,
      int rows,
      int c0,
      int c1,
      float[] out,
      int outOff) {
    for (int j = c0; j < c1; j++) {
      float acc = out[outOff + j];
      for (int r = 0; r < rows; r++) {
        acc = Math.fma(a[aOff + r * lda + j], b[bOff + r * ldb + j], acc);
      }
      out[outOff + j] = acc;
    }
  }
}
