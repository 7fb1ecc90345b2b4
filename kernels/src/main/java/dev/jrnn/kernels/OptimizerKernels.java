package dev.jrnn.kernels;

import static jdk.incubator.vector.VectorOperators.FMA;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Optimizer updates, one fused pass over a weight tensor and its gradient and state buffers, and
 * the gradient norm that clipping needs; each vectorized with a scalar twin ({@code
 * jrnn.vectorBits=0}) that gives the same bits. Lengths count floats.
 *
 * <p>Every update first forms the gradient it uses as {@code d = clamp(g, -clip, clip) · scale}
 * (value clipping, then the global-norm factor; {@code clip = ∞}, {@code scale = 1} when off), so
 * the caller's gradients are read, never written. The arithmetic follows PyTorch 1.13's
 * single-tensor optimizers operation by operation, in float, with the scalars they compute in
 * double rounded once to float; where PyTorch's {@code add(x, alpha)} is a fused multiply-add in
 * its vector kernels, so it is here.
 */
public final class OptimizerKernels {

  private static final VectorSpecies<Float> S = Simd.F;
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

  /** Floats per partial sum of squares: short enough that float accumulation stays exact-ish. */
  private static final int CHUNK = 1024;

  private static final ThreadLocal<float[]> LANES =
      ThreadLocal.withInitial(() -> new float[Simd.VECTOR ? S.length() : 1]);

  private OptimizerKernels() {}

  // ---------------------------------------------------------------------------- sums of squares

  /**
   * {@code Σ clamp(g[i], -clip, clip)²} over {@code n} floats, in double ({@code clip = ∞}: the
   * plain sum of squares). Vector lanes accumulate in float over chunks of 1024 floats, each chunk
   * added to the double total lane by lane in index order, so the result has the same bits in every
   * JIT tier.
   */
  public static double sumSquares(MemorySegment g, long n, float clip) {
    if (!Simd.VECTOR) {
      return sumSquaresScalar(g, n, clip);
    }
    float[] lanes = LANES.get();
    long full = n - n % S.length();
    double total = 0;
    for (long i = 0; i < full; i += CHUNK) {
      chunkSquares(g, i, Math.min(CHUNK, full - i), clip, lanes);
      for (float v : lanes) {
        total += v;
      }
    }
    for (long i = full; i < n; i++) {
      float d = clamp(g.getAtIndex(F, i), clip);
      total += (double) d * d;
    }
    return total;
  }

  /** Lane-wise float sums of {@code clamp(g)²} over {@code [off, off + len)}, into {@code out}. */
  private static void chunkSquares(MemorySegment g, long off, long len, float clip, float[] out) {
    FloatVector acc = FloatVector.zero(S);
    FloatVector hi = FloatVector.broadcast(S, clip);
    FloatVector lo = FloatVector.broadcast(S, -clip);
    for (long i = off; i < off + len; i += S.length()) {
      FloatVector d = FloatVector.fromMemorySegment(S, g, i * 4, NATIVE).max(lo).min(hi);
      acc = d.fma(d, acc);
    }
    acc.intoArray(out, 0);
  }

  /** Scalar twin of {@link #sumSquares}, accumulating in double. */
  public static double sumSquaresScalar(MemorySegment g, long n, float clip) {
    double total = 0;
    for (long i = 0; i < n; i++) {
      float d = clamp(g.getAtIndex(F, i), clip);
      total += (double) d * d;
    }
    return total;
  }

  private static float clamp(float g, float clip) {
    return Math.min(Math.max(g, -clip), clip);
  }

  // ---------------------------------------------------------------------------------------- SGD

  /**
   * One SGD step over {@code n} weights ({@code torch.optim.SGD}):
   *
   * <pre>
   * d = clamp(g)·scale + wd·w
   * momentum:  buf = first ? d : momentum·buf + (1 − dampening)·d
   *            d = nesterov ? d + momentum·buf : buf
   * w = w − lr·d
   * </pre>
   *
   * @param buf momentum buffer [n], unused (may be null) when {@code momentum == 0}
   * @param first whether this is the buffer's first step: it is set to {@code d}
   */
  public static void sgd(
      MemorySegment w,
      MemorySegment g,
      MemorySegment buf,
      long n,
      float clip,
      float scale,
      float wd,
      float lr,
      float momentum,
      double dampening,
      boolean nesterov,
      boolean first) {
    long full = Simd.VECTOR ? n - n % S.length() : 0;
    float keep = (float) (1 - dampening);
    if (full > 0) {
      if (momentum == 0) {
        sgdPlainLoop(w, g, full, clip, scale, wd, lr);
      } else {
        sgdMomentumLoop(w, g, buf, full, clip, scale, wd, lr, momentum, keep, nesterov, first);
      }
    }
    sgdRange(w, g, buf, full, n, clip, scale, wd, lr, momentum, keep, nesterov, first);
  }

  /** Scalar twin of {@link #sgd}. */
  public static void sgdScalar(
      MemorySegment w,
      MemorySegment g,
      MemorySegment buf,
      long n,
      float clip,
      float scale,
      float wd,
      float lr,
      float momentum,
      double dampening,
      boolean nesterov,
      boolean first) {
    sgdRange(
        w, g, buf, 0, n, clip, scale, wd, lr, momentum, (float) (1 - dampening), nesterov, first);
  }

  private static void sgdRange(
      MemorySegment w,
      MemorySegment g,
      MemorySegment buf,
      long from,
      long to,
      float clip,
      float scale,
      float wd,
      float lr,
      float momentum,
      float keep,
      boolean nesterov,
      boolean first) {
    for (long i = from; i < to; i++) {
      float wi = w.getAtIndex(F, i);
      float d = Math.fma(wi, wd, clamp(g.getAtIndex(F, i), clip) * scale);
      if (momentum != 0) {
        float b = first ? d : Math.fma(d, keep, buf.getAtIndex(F, i) * momentum);
        buf.setAtIndex(F, i, b);
        d = nesterov ? Math.fma(b, momentum, d) : b;
      }
      w.setAtIndex(F, i, Math.fma(d, -lr, wi));
    }
  }

  private static void sgdPlainLoop(
      MemorySegment w, MemorySegment g, long full, float clip, float scale, float wd, float lr) {
    FloatVector hi = FloatVector.broadcast(S, clip);
    FloatVector lo = FloatVector.broadcast(S, -clip);
    int end = Math.toIntExact(full); // an int-counted loop: C2's long loops kept deoptimizing
    for (int i = 0; i < end; i += S.length()) {
      long at = (long) i * 4;
      FloatVector wi = FloatVector.fromMemorySegment(S, w, at, NATIVE);
      FloatVector d =
          wi.lanewise(
              FMA, wd, FloatVector.fromMemorySegment(S, g, at, NATIVE).max(lo).min(hi).mul(scale));
      d.lanewise(FMA, -lr, wi).intoMemorySegment(w, at, NATIVE);
    }
  }

  private static void sgdMomentumLoop(
      MemorySegment w,
      MemorySegment g,
      MemorySegment buf,
      long full,
      float clip,
      float scale,
      float wd,
      float lr,
      float momentum,
      float keep,
      boolean nesterov,
      boolean first) {
    FloatVector hi = FloatVector.broadcast(S, clip);
    FloatVector lo = FloatVector.broadcast(S, -clip);
    int end = Math.toIntExact(full); // an int-counted loop: C2's long loops kept deoptimizing
    for (int i = 0; i < end; i += S.length()) {
      long at = (long) i * 4;
      FloatVector wi = FloatVector.fromMemorySegment(S, w, at, NATIVE);
      FloatVector d =
          wi.lanewise(
              FMA, wd, FloatVector.fromMemorySegment(S, g, at, NATIVE).max(lo).min(hi).mul(scale));
      FloatVector b =
          first
              ? d
              : d.lanewise(
                  FMA, keep, FloatVector.fromMemorySegment(S, buf, at, NATIVE).mul(momentum));
      b.intoMemorySegment(buf, at, NATIVE);
      FloatVector step = nesterov ? b.lanewise(FMA, momentum, d) : b;
      step.lanewise(FMA, -lr, wi).intoMemorySegment(w, at, NATIVE);
    }
  }

  // --------------------------------------------------------------------------------------- Adam

  /**
   * One Adam or AdamW step over {@code n} weights ({@code torch.optim.Adam}, {@code AdamW}):
   *
   * <pre>
   * d = clamp(g)·scale + l2·w
   * w = w·decay                                   (AdamW: decay = 1 − lr·weight_decay)
   * m = β1·m + (1 − β1)·d
   * v = β2·v + (1 − β2)·d·d
   * w = w − stepSize·m / (√v / bc2Sqrt + eps)     (stepSize = lr / (1 − β1^t), bc2Sqrt = √(1 − β2^t))
   * </pre>
   */
  public static void adam(
      MemorySegment w,
      MemorySegment g,
      MemorySegment m,
      MemorySegment v,
      long n,
      float clip,
      float scale,
      float l2,
      float decay,
      double beta1,
      double beta2,
      float stepSize,
      float bc2Sqrt,
      float eps) {
    long full = Simd.VECTOR ? n - n % S.length() : 0;
    float b1 = (float) beta1;
    float b2 = (float) beta2;
    float c1 = (float) (1 - beta1);
    float c2 = (float) (1 - beta2);
    if (full > 0) {
      adamLoop(w, g, m, v, full, clip, scale, l2, decay, b1, c1, b2, c2, stepSize, bc2Sqrt, eps);
    }
    adamRange(w, g, m, v, full, n, clip, scale, l2, decay, b1, c1, b2, c2, stepSize, bc2Sqrt, eps);
  }

  /** Scalar twin of {@link #adam}. */
  public static void adamScalar(
      MemorySegment w,
      MemorySegment g,
      MemorySegment m,
      MemorySegment v,
      long n,
      float clip,
      float scale,
      float l2,
      float decay,
      double beta1,
      double beta2,
      float stepSize,
      float bc2Sqrt,
      float eps) {
    float b1 = (float) beta1;
    float b2 = (float) beta2;
    float c1 = (float) (1 - beta1);
    float c2 = (float) (1 - beta2);
    adamRange(w, g, m, v, 0, n, clip, scale, l2, decay, b1, c1, b2, c2, stepSize, bc2Sqrt, eps);
  }

  private static void adamRange(
      MemorySegment w,
      MemorySegment g,
      MemorySegment m,
      MemorySegment v,
      long from,
      long to,
      float clip,
      float scale,
      float l2,
      float decay,
      float beta1,
      float c1,
      float beta2,
      float c2,
      float stepSize,
      float bc2Sqrt,
      float eps) {
    for (long i = from; i < to; i++) {
      float wi = w.getAtIndex(F, i);
      float d = Math.fma(wi, l2, clamp(g.getAtIndex(F, i), clip) * scale);
      float mi = Math.fma(d, c1, m.getAtIndex(F, i) * beta1);
      float vi = v.getAtIndex(F, i) * beta2 + c2 * d * d;
      m.setAtIndex(F, i, mi);
      v.setAtIndex(F, i, vi);
      float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
      w.setAtIndex(F, i, wi * decay + -stepSize * mi / denom);
    }
  }

  private static void adamLoop(
      MemorySegment w,
      MemorySegment g,
      MemorySegment m,
      MemorySegment v,
      long full,
      float clip,
      float scale,
      float l2,
      float decay,
      float beta1,
      float c1,
      float beta2,
      float c2,
      float stepSize,
      float bc2Sqrt,
      float eps) {
    FloatVector hi = FloatVector.broadcast(S, clip);
    FloatVector lo = FloatVector.broadcast(S, -clip);
    int end = Math.toIntExact(full); // an int-counted loop: C2's long loops kept deoptimizing
    for (int i = 0; i < end; i += S.length()) {
      long at = (long) i * 4;
      FloatVector wi = FloatVector.fromMemorySegment(S, w, at, NATIVE);
      FloatVector d =
          wi.lanewise(
              FMA, l2, FloatVector.fromMemorySegment(S, g, at, NATIVE).max(lo).min(hi).mul(scale));
      FloatVector mi =
          d.lanewise(FMA, c1, FloatVector.fromMemorySegment(S, m, at, NATIVE).mul(beta1));
      FloatVector vi =
          FloatVector.fromMemorySegment(S, v, at, NATIVE).mul(beta2).add(d.mul(c2).mul(d));
      mi.intoMemorySegment(m, at, NATIVE);
      vi.intoMemorySegment(v, at, NATIVE);
      FloatVector denom = vi.sqrt().div(bc2Sqrt).add(eps);
      wi.mul(decay).add(mi.mul(-stepSize).div(denom)).intoMemorySegment(w, at, NATIVE);
    }
  }

  // ------------------------------------------------------------------------------------ RMSprop

  /**
   * One RMSprop step over {@code n} weights ({@code torch.optim.RMSprop}):
   *
   * <pre>
   * d = clamp(g)·scale + wd·w
   * sq = α·sq + (1 − α)·d·d
   * centered:  avg = α·avg + (1 − α)·d;  den = √(sq − avg·avg) + eps
   * else:      den = √sq + eps
   * momentum:  buf = momentum·buf + d / den;  w = w − lr·buf
   * else:      w = w − lr·d / den
   * </pre>
   *
   * @param gAvg the running gradient mean [n], unused (may be null) unless centered
   * @param buf the momentum buffer [n], unused (may be null) when {@code momentum == 0}
   */
  public static void rmsprop(
      MemorySegment w,
      MemorySegment g,
      MemorySegment sq,
      MemorySegment gAvg,
      MemorySegment buf,
      long n,
      float clip,
      float scale,
      float wd,
      float lr,
      double alpha,
      float eps,
      float momentum,
      boolean centered) {
    long full = Simd.VECTOR ? n - n % S.length() : 0;
    float al = (float) alpha;
    float ca = (float) (1 - alpha);
    if (full > 0) {
      if (centered || momentum != 0) {
        rmspropFullLoop(
            w, g, sq, gAvg, buf, full, clip, scale, wd, lr, al, ca, eps, momentum, centered);
      } else {
        rmspropPlainLoop(w, g, sq, full, clip, scale, wd, lr, al, ca, eps);
      }
    }
    rmspropRange(
        w, g, sq, gAvg, buf, full, n, clip, scale, wd, lr, al, ca, eps, momentum, centered);
  }

  /** Scalar twin of {@link #rmsprop}. */
  public static void rmspropScalar(
      MemorySegment w,
      MemorySegment g,
      MemorySegment sq,
      MemorySegment gAvg,
      MemorySegment buf,
      long n,
      float clip,
      float scale,
      float wd,
      float lr,
      double alpha,
      float eps,
      float momentum,
      boolean centered) {
    float al = (float) alpha;
    float ca = (float) (1 - alpha);
    rmspropRange(w, g, sq, gAvg, buf, 0, n, clip, scale, wd, lr, al, ca, eps, momentum, centered);
  }

  private static void rmspropRange(
      MemorySegment w,
      MemorySegment g,
      MemorySegment sq,
      MemorySegment gAvg,
      MemorySegment buf,
      long from,
      long to,
      float clip,
      float scale,
      float wd,
      float lr,
      float alpha,
      float ca,
      float eps,
      float momentum,
      boolean centered) {
    for (long i = from; i < to; i++) {
      float wi = w.getAtIndex(F, i);
      float d = Math.fma(wi, wd, clamp(g.getAtIndex(F, i), clip) * scale);
      float s = sq.getAtIndex(F, i) * alpha + ca * d * d;
      sq.setAtIndex(F, i, s);
      float den;
      if (centered) {
        float a = Math.fma(d, ca, gAvg.getAtIndex(F, i) * alpha);
        gAvg.setAtIndex(F, i, a);
        den = (float) Math.sqrt(s + -a * a) + eps;
      } else {
        den = (float) Math.sqrt(s) + eps;
      }
      if (momentum != 0) {
        float b = buf.getAtIndex(F, i) * momentum + d / den;
        buf.setAtIndex(F, i, b);
        w.setAtIndex(F, i, Math.fma(b, -lr, wi));
      } else {
        w.setAtIndex(F, i, wi + -lr * d / den);
      }
    }
  }

  private static void rmspropPlainLoop(
      MemorySegment w,
      MemorySegment g,
      MemorySegment sq,
      long full,
      float clip,
      float scale,
      float wd,
      float lr,
      float alpha,
      float ca,
      float eps) {
    FloatVector hi = FloatVector.broadcast(S, clip);
    FloatVector lo = FloatVector.broadcast(S, -clip);
    int end = Math.toIntExact(full); // an int-counted loop: C2's long loops kept deoptimizing
    for (int i = 0; i < end; i += S.length()) {
      long at = (long) i * 4;
      FloatVector wi = FloatVector.fromMemorySegment(S, w, at, NATIVE);
      FloatVector d =
          wi.lanewise(
              FMA, wd, FloatVector.fromMemorySegment(S, g, at, NATIVE).max(lo).min(hi).mul(scale));
      FloatVector s =
          FloatVector.fromMemorySegment(S, sq, at, NATIVE).mul(alpha).add(d.mul(ca).mul(d));
      s.intoMemorySegment(sq, at, NATIVE);
      FloatVector den = s.sqrt().add(eps);
      wi.add(d.mul(-lr).div(den)).intoMemorySegment(w, at, NATIVE);
    }
  }

  private static void rmspropFullLoop(
      MemorySegment w,
      MemorySegment g,
      MemorySegment sq,
      MemorySegment gAvg,
      MemorySegment buf,
      long full,
      float clip,
      float scale,
      float wd,
      float lr,
      float alpha,
      float ca,
      float eps,
      float momentum,
      boolean centered) {
    FloatVector hi = FloatVector.broadcast(S, clip);
    FloatVector lo = FloatVector.broadcast(S, -clip);
    int end = Math.toIntExact(full); // an int-counted loop: C2's long loops kept deoptimizing
    for (int i = 0; i < end; i += S.length()) {
      long at = (long) i * 4;
      FloatVector wi = FloatVector.fromMemorySegment(S, w, at, NATIVE);
      FloatVector d =
          wi.lanewise(
              FMA, wd, FloatVector.fromMemorySegment(S, g, at, NATIVE).max(lo).min(hi).mul(scale));
      FloatVector s =
          FloatVector.fromMemorySegment(S, sq, at, NATIVE).mul(alpha).add(d.mul(ca).mul(d));
      s.intoMemorySegment(sq, at, NATIVE);
      FloatVector var = s;
      if (centered) {
        FloatVector a =
            d.lanewise(FMA, ca, FloatVector.fromMemorySegment(S, gAvg, at, NATIVE).mul(alpha));
        a.intoMemorySegment(gAvg, at, NATIVE);
        var = s.add(a.neg().mul(a));
      }
      FloatVector den = var.sqrt().add(eps);
      if (momentum != 0) {
        FloatVector b =
            FloatVector.fromMemorySegment(S, buf, at, NATIVE).mul(momentum).add(d.div(den));
        b.intoMemorySegment(buf, at, NATIVE);
        b.lanewise(FMA, -lr, wi).intoMemorySegment(w, at, NATIVE);
      } else {
        wi.add(d.mul(-lr).div(den)).intoMemorySegment(w, at, NATIVE);
      }
    }
  }
}
