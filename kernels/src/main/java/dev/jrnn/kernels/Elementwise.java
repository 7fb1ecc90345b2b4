package dev.jrnn.kernels;

import static dev.jrnn.kernels.FloatMath.*;
import static jdk.incubator.vector.VectorOperators.FMA;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LSHL;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise passes over float tensors in native memory: activations, broadcast arithmetic runs
 * and row-wise softmax, each vectorized with a scalar twin ({@code jrnn.vectorBits=0}). Offsets and
 * lengths count floats.
 */
public final class Elementwise {

  private static final VectorSpecies<Float> S = Simd.F;
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

  private Elementwise() {}

  /**
   * {@code y[i] = act(x[i])} for {@code n} floats. Sigmoid, tanh and relu have a loop each, with
   * the operation written out ({@link FloatMath}'s sequence for the first two) and the last partial
   * vector masked; the other kinds run {@link Act#apply}, which gives the same bits as a lane.
   */
  public static void activation(Act act, MemorySegment x, MemorySegment y, long n) {
    if (!Simd.VECTOR || !act.vectorized()) {
      activationScalar(act, x, y, n);
      return;
    }
    switch (act.kind) {
      case Act.TANH -> tanhLoop(x, y, n);
      case Act.SIGMOID -> sigmoidLoop(x, y, n);
      default -> reluLoop(x, y, n);
    }
  }

  // The vector loops are small methods of their own so that C2 inlines every vector operation in
  // them: in one large method it stopped inlining (NodeCountInliningCutoff) a helper returning a
  // vector and boxed every vector loaded (380 KB allocated per softmax of 64 × 1000).

  private static void tanhLoop(MemorySegment x, MemorySegment y, long n) {
    long full = n - n % S.length();
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector two = FloatVector.broadcast(S, 2f);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (long i = 0; i < full; i += S.length()) {
      FloatVector v = FloatVector.fromMemorySegment(S, x, i * 4, NATIVE);
      FloatVector xx = v.add(v);
      xx = xx.blend(lo, xx.lt(LO)).blend(hi, xx.compare(GT, HI));
      FloatVector t = xx.fma(LOG2E, ROUND);
      FloatVector m = t.sub(ROUND);
      FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, xx));
      FloatVector q =
          red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
      FloatVector sc = t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
      FloatVector em1 = sc.fma(red.mul(red).fma(q, red), sc.sub(one));
      em1.div(em1.add(two)).intoMemorySegment(y, i * 4, NATIVE);
    }
    if (full < n) { // the same, masked
      VectorMask<Float> tail = S.indexInRange(0, (int) (n - full)); // the int form is intrinsic
      FloatVector v = FloatVector.fromMemorySegment(S, x, full * 4, NATIVE, tail);
      FloatVector xx = v.add(v);
      xx = xx.blend(lo, xx.lt(LO)).blend(hi, xx.compare(GT, HI));
      FloatVector t = xx.fma(LOG2E, ROUND);
      FloatVector m = t.sub(ROUND);
      FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, xx));
      FloatVector q =
          red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
      FloatVector sc = t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
      FloatVector em1 = sc.fma(red.mul(red).fma(q, red), sc.sub(one));
      em1.div(em1.add(two)).intoMemorySegment(y, full * 4, NATIVE, tail);
    }
  }

  private static void sigmoidLoop(MemorySegment x, MemorySegment y, long n) {
    long full = n - n % S.length();
    FloatVector one = FloatVector.broadcast(S, 1f);
    FloatVector lo = FloatVector.broadcast(S, LO);
    FloatVector hi = FloatVector.broadcast(S, HI);
    for (long i = 0; i < full; i += S.length()) {
      FloatVector xx = FloatVector.fromMemorySegment(S, x, i * 4, NATIVE).neg();
      xx = xx.blend(lo, xx.lt(LO)).blend(hi, xx.compare(GT, HI));
      FloatVector t = xx.fma(LOG2E, ROUND);
      FloatVector m = t.sub(ROUND);
      FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, xx));
      FloatVector q =
          red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
      FloatVector sc = t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
      one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one)).intoMemorySegment(y, i * 4, NATIVE);
    }
    if (full < n) { // the same, masked
      VectorMask<Float> tail = S.indexInRange(0, (int) (n - full));
      FloatVector xx = FloatVector.fromMemorySegment(S, x, full * 4, NATIVE, tail).neg();
      xx = xx.blend(lo, xx.lt(LO)).blend(hi, xx.compare(GT, HI));
      FloatVector t = xx.fma(LOG2E, ROUND);
      FloatVector m = t.sub(ROUND);
      FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, xx));
      FloatVector q =
          red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
      FloatVector sc = t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
      one.div(sc.fma(red.mul(red).fma(q, red), sc).add(one))
          .intoMemorySegment(y, full * 4, NATIVE, tail);
    }
  }

  private static void reluLoop(MemorySegment x, MemorySegment y, long n) {
    long full = n - n % S.length();
    for (long i = 0; i < full; i += S.length()) {
      FloatVector.fromMemorySegment(S, x, i * 4, NATIVE)
          .max(0f)
          .intoMemorySegment(y, i * 4, NATIVE);
    }
    if (full < n) {
      VectorMask<Float> tail = S.indexInRange(0, (int) (n - full));
      FloatVector.fromMemorySegment(S, x, full * 4, NATIVE, tail)
          .max(0f)
          .intoMemorySegment(y, full * 4, NATIVE, tail);
    }
  }

  /** Scalar twin of {@link #activation}. */
  public static void activationScalar(Act act, MemorySegment x, MemorySegment y, long n) {
    for (long i = 0; i < n; i++) {
      y.setAtIndex(F, i, act.apply(x.getAtIndex(F, i)));
    }
  }

  /**
   * One run of broadcast arithmetic: {@code y[yOff + j] = a[aOff + j·as] op b[bOff + j·bs]} for
   * {@code j < n}, where the strides {@code as} and {@code bs} are 0 (a repeated element) or 1. The
   * tail runs {@link Arith#apply(float, float)}, one IEEE operation like a lane's.
   */
  public static void binaryRun(
      Arith op,
      MemorySegment a,
      long aOff,
      int as,
      MemorySegment b,
      long bOff,
      int bs,
      MemorySegment y,
      long yOff,
      int n) {
    int full = Simd.VECTOR && as + bs > 0 ? n - n % S.length() : 0;
    // A loop per stride pattern with the operation switched inside: a vector that may be null, or
    // one returned by a helper C2 does not inline, is boxed (8 KB per call measured).
    if (full > 0) {
      if (as == 1 && bs == 1) {
        bothLoop(op, a, aOff, b, bOff, y, yOff, full);
      } else if (as == 1) {
        broadcastBLoop(op, a, aOff, b.getAtIndex(F, bOff), y, yOff, full);
      } else {
        broadcastALoop(op, a.getAtIndex(F, aOff), b, bOff, y, yOff, full);
      }
    }
    for (int j = full; j < n; j++) {
      float x = a.getAtIndex(F, aOff + (long) j * as);
      float z = b.getAtIndex(F, bOff + (long) j * bs);
      y.setAtIndex(F, yOff + j, op.apply(x, z));
    }
  }

  private static void bothLoop(
      Arith op,
      MemorySegment a,
      long aOff,
      MemorySegment b,
      long bOff,
      MemorySegment y,
      long yOff,
      int full) {
    for (int j = 0; j < full; j += S.length()) {
      FloatVector va = FloatVector.fromMemorySegment(S, a, (aOff + j) * 4, NATIVE);
      FloatVector vb = FloatVector.fromMemorySegment(S, b, (bOff + j) * 4, NATIVE);
      FloatVector v =
          switch (op) {
            case ADD -> va.add(vb);
            case SUB -> va.sub(vb);
            case MUL -> va.mul(vb);
            case DIV -> va.div(vb);
          };
      v.intoMemorySegment(y, (yOff + j) * 4, NATIVE);
    }
  }

  private static void broadcastBLoop(
      Arith op, MemorySegment a, long aOff, float b, MemorySegment y, long yOff, int full) {
    FloatVector vb = FloatVector.broadcast(S, b);
    for (int j = 0; j < full; j += S.length()) {
      FloatVector va = FloatVector.fromMemorySegment(S, a, (aOff + j) * 4, NATIVE);
      FloatVector v =
          switch (op) {
            case ADD -> va.add(vb);
            case SUB -> va.sub(vb);
            case MUL -> va.mul(vb);
            case DIV -> va.div(vb);
          };
      v.intoMemorySegment(y, (yOff + j) * 4, NATIVE);
    }
  }

  private static void broadcastALoop(
      Arith op, float a, MemorySegment b, long bOff, MemorySegment y, long yOff, int full) {
    FloatVector va = FloatVector.broadcast(S, a);
    for (int j = 0; j < full; j += S.length()) {
      FloatVector vb = FloatVector.fromMemorySegment(S, b, (bOff + j) * 4, NATIVE);
      FloatVector v =
          switch (op) {
            case ADD -> va.add(vb);
            case SUB -> va.sub(vb);
            case MUL -> va.mul(vb);
            case DIV -> va.div(vb);
          };
      v.intoMemorySegment(y, (yOff + j) * 4, NATIVE);
    }
  }

  /** Scalar twin of {@link #binaryRun}. */
  public static void binaryRunScalar(
      Arith op,
      MemorySegment a,
      long aOff,
      int as,
      MemorySegment b,
      long bOff,
      int bs,
      MemorySegment y,
      long yOff,
      int n) {
    for (int j = 0; j < n; j++) {
      float x = a.getAtIndex(F, aOff + (long) j * as);
      float z = b.getAtIndex(F, bOff + (long) j * bs);
      y.setAtIndex(F, yOff + j, op.apply(x, z));
    }
  }

  /**
   * Softmax (or log-softmax) of each of {@code rows} contiguous rows of {@code cols} floats,
   * max-subtracted so large inputs do not overflow. The exponentials are {@link FloatMath#exp}'s
   * sequence lane-wise; a row's last partial vector is masked.
   */
  public static void softmaxRows(
      MemorySegment x, MemorySegment y, long rows, int cols, boolean log) {
    if (!Simd.VECTOR) {
      softmaxRowsScalar(x, y, rows, cols, log);
      return;
    }
    float[] acc = ACCUMULATOR.get();
    for (long r = 0; r < rows; r++) {
      long base = r * cols;
      float max = rowMax(x, base, cols, acc);
      if (log) {
        float sum = expSum(x, base, cols, max, acc);
        // Math.log runs the same stub in the interpreter, C1 and C2.
        addRow(x, y, base, cols, -(max + (float) Math.log(sum)));
      } else {
        scaleRow(y, base, cols, 1f / expStore(x, y, base, cols, max, acc));
      }
    }
  }

  // A small method per pass, no branch in its loops: in one method per row, C2 now and then
  // failed to unbox a vector ("unbox failed") and boxed every vector of the loop (8 KB per call).

  private static float rowMax(MemorySegment x, long base, int cols, float[] acc) {
    int full = cols - cols % S.length();
    FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
    ninf.intoArray(acc, 0);
    for (int j = 0; j < full; j += S.length()) {
      FloatVector.fromArray(S, acc, 0)
          .max(FloatVector.fromMemorySegment(S, x, (base + j) * 4, NATIVE))
          .intoArray(acc, 0);
    }
    FloatVector vmax = FloatVector.fromArray(S, acc, 0);
    if (full < cols) {
      VectorMask<Float> tail = S.indexInRange(0, cols - full);
      FloatVector v = FloatVector.fromMemorySegment(S, x, (base + full) * 4, NATIVE, tail);
      vmax = vmax.max(ninf.blend(v, tail));
    }
    return vmax.reduceLanes(VectorOperators.MAX); // the same in any order
  }

  /** The sum of {@code e^(x − max)} over a row, each also stored to {@code y}. */
  private static float expStore(
      MemorySegment x, MemorySegment y, long base, int cols, float max, float[] acc) {
    int full = cols - cols % S.length();
    FloatVector vm = FloatVector.broadcast(S, max);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    FloatVector.zero(S).intoArray(acc, 0);
    for (int j = 0; j < full; j += S.length()) {
      FloatVector xx = FloatVector.fromMemorySegment(S, x, (base + j) * 4, NATIVE).sub(vm);
      xx = xx.blend(lo, xx.lt(LO)).blend(hi, xx.compare(GT, HI));
      FloatVector t = xx.fma(LOG2E, ROUND);
      FloatVector m = t.sub(ROUND);
      FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, xx));
      FloatVector q =
          red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
      FloatVector sc = t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
      FloatVector e = sc.fma(red.mul(red).fma(q, red), sc);
      FloatVector.fromArray(S, acc, 0).add(e).intoArray(acc, 0);
      e.intoMemorySegment(y, (base + j) * 4, NATIVE);
    }
    if (full < cols) { // the same, masked
      VectorMask<Float> tail = S.indexInRange(0, cols - full); // the int form is intrinsic
      FloatVector xx = FloatVector.fromMemorySegment(S, x, (base + full) * 4, NATIVE, tail).sub(vm);
      xx = xx.blend(lo, xx.lt(LO)).blend(hi, xx.compare(GT, HI));
      FloatVector t = xx.fma(LOG2E, ROUND);
      FloatVector m = t.sub(ROUND);
      FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, xx));
      FloatVector q =
          red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
      FloatVector sc = t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
      FloatVector e = sc.fma(red.mul(red).fma(q, red), sc);
      FloatVector.fromArray(S, acc, 0).add(e, tail).intoArray(acc, 0);
      e.intoMemorySegment(y, (base + full) * 4, NATIVE, tail);
    }
    // The lanes summed in a fixed order, a tree of rotations: reduceLanes(ADD) sums in another
    // order under C2 than in the interpreter, which changed the bits between JIT tiers.
    FloatVector vsum = FloatVector.fromArray(S, acc, 0);
    if (S.length() >= 16) {
      vsum = vsum.add(vsum.rearrange(ROTATE_8));
    }
    if (S.length() >= 8) {
      vsum = vsum.add(vsum.rearrange(ROTATE_4));
    }
    vsum = vsum.add(vsum.rearrange(ROTATE_2));
    return vsum.add(vsum.rearrange(ROTATE_1)).lane(0);
  }

  /** The sum of {@code e^(x − max)} over a row. */
  private static float expSum(MemorySegment x, long base, int cols, float max, float[] acc) {
    int full = cols - cols % S.length();
    FloatVector vm = FloatVector.broadcast(S, max);
    FloatVector lo = FloatVector.broadcast(S, LO); // exp's clamp range, see FloatMath
    FloatVector hi = FloatVector.broadcast(S, HI);
    FloatVector.zero(S).intoArray(acc, 0);
    for (int j = 0; j < full; j += S.length()) {
      FloatVector xx = FloatVector.fromMemorySegment(S, x, (base + j) * 4, NATIVE).sub(vm);
      xx = xx.blend(lo, xx.lt(LO)).blend(hi, xx.compare(GT, HI));
      FloatVector t = xx.fma(LOG2E, ROUND);
      FloatVector m = t.sub(ROUND);
      FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, xx));
      FloatVector q =
          red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
      FloatVector sc = t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
      FloatVector e = sc.fma(red.mul(red).fma(q, red), sc);
      FloatVector.fromArray(S, acc, 0).add(e).intoArray(acc, 0);
    }
    if (full < cols) { // the same, masked
      VectorMask<Float> tail = S.indexInRange(0, cols - full); // the int form is intrinsic
      FloatVector xx = FloatVector.fromMemorySegment(S, x, (base + full) * 4, NATIVE, tail).sub(vm);
      xx = xx.blend(lo, xx.lt(LO)).blend(hi, xx.compare(GT, HI));
      FloatVector t = xx.fma(LOG2E, ROUND);
      FloatVector m = t.sub(ROUND);
      FloatVector red = m.lanewise(FMA, NEG_LN2_LO, m.lanewise(FMA, NEG_LN2_HI, xx));
      FloatVector q =
          red.fma(Q4, Q3).lanewise(FMA, red, Q2).lanewise(FMA, red, Q1).lanewise(FMA, red, Q0);
      FloatVector sc = t.reinterpretAsInts().lanewise(LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
      FloatVector e = sc.fma(red.mul(red).fma(q, red), sc);
      FloatVector.fromArray(S, acc, 0).add(e, tail).intoArray(acc, 0);
    }
    // The lanes summed in a fixed order, a tree of rotations: reduceLanes(ADD) sums in another
    // order under C2 than in the interpreter, which changed the bits between JIT tiers.
    FloatVector vsum = FloatVector.fromArray(S, acc, 0);
    if (S.length() >= 16) {
      vsum = vsum.add(vsum.rearrange(ROTATE_8));
    }
    if (S.length() >= 8) {
      vsum = vsum.add(vsum.rearrange(ROTATE_4));
    }
    vsum = vsum.add(vsum.rearrange(ROTATE_2));
    return vsum.add(vsum.rearrange(ROTATE_1)).lane(0);
  }

  /**
   * Each thread's partial sums of a row, one vector wide. The running sum lives in memory, not in a
   * vector carried around the loop: C2 now and then boxed such a vector on every iteration (5 KB
   * per call of 4 × 80 floats, seen once in ~40 fresh JVMs), and stayed that way.
   */
  private static final ThreadLocal<float[]> ACCUMULATOR =
      ThreadLocal.withInitial(() -> new float[Math.max(1, S.length())]);

  // Lane i from lane (i + n) mod length, for the sum of lanes in a fixed order.
  private static final VectorShuffle<Float> ROTATE_8 = rotate(8);
  private static final VectorShuffle<Float> ROTATE_4 = rotate(4);
  private static final VectorShuffle<Float> ROTATE_2 = rotate(2);
  private static final VectorShuffle<Float> ROTATE_1 = rotate(1);

  private static VectorShuffle<Float> rotate(int n) {
    return Simd.VECTOR ? VectorShuffle.fromOp(S, i -> (i + n) % S.length()) : null;
  }

  private static void addRow(MemorySegment x, MemorySegment y, long base, int cols, float add) {
    int full = cols - cols % S.length();
    FloatVector va = FloatVector.broadcast(S, add);
    for (int j = 0; j < full; j += S.length()) {
      FloatVector.fromMemorySegment(S, x, (base + j) * 4, NATIVE)
          .add(va)
          .intoMemorySegment(y, (base + j) * 4, NATIVE);
    }
    if (full < cols) {
      VectorMask<Float> tail = S.indexInRange(0, cols - full);
      FloatVector.fromMemorySegment(S, x, (base + full) * 4, NATIVE, tail)
          .add(va)
          .intoMemorySegment(y, (base + full) * 4, NATIVE, tail);
    }
  }

  private static void scaleRow(MemorySegment y, long base, int cols, float inv) {
    int full = cols - cols % S.length();
    FloatVector vi = FloatVector.broadcast(S, inv);
    for (int j = 0; j < full; j += S.length()) {
      FloatVector.fromMemorySegment(S, y, (base + j) * 4, NATIVE)
          .mul(vi)
          .intoMemorySegment(y, (base + j) * 4, NATIVE);
    }
    if (full < cols) {
      VectorMask<Float> tail = S.indexInRange(0, cols - full);
      FloatVector.fromMemorySegment(S, y, (base + full) * 4, NATIVE, tail)
          .mul(vi)
          .intoMemorySegment(y, (base + full) * 4, NATIVE, tail);
    }
  }

  /** Scalar twin of {@link #softmaxRows}, in double precision. */
  public static void softmaxRowsScalar(
      MemorySegment x, MemorySegment y, long rows, int cols, boolean log) {
    for (long r = 0; r < rows; r++) {
      long base = r * cols;
      float max = Float.NEGATIVE_INFINITY;
      for (int k = 0; k < cols; k++) {
        max = Math.max(max, x.getAtIndex(F, base + k));
      }
      double sum = 0;
      for (int k = 0; k < cols; k++) {
        sum += StrictMath.exp((double) x.getAtIndex(F, base + k) - max);
      }
      double logSum = StrictMath.log(sum);
      for (int k = 0; k < cols; k++) {
        double z = (double) x.getAtIndex(F, base + k) - max;
        y.setAtIndex(F, base + k, (float) (log ? z - logSum : StrictMath.exp(z) / sum));
      }
    }
  }
}
