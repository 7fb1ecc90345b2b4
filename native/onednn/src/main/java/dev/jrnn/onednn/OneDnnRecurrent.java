package dev.jrnn.onednn;

import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.ExecContext;
import java.lang.foreign.MemorySegment;
import java.util.EnumMap;

/**
 * Inference on a {@link RnnStack}: {@code forward_inference} primitives for each shape (T, N), the
 * {@link #CAPACITY} most recently used shapes kept ({@link PrimitiveCache}). T = 0 or N = 0 never
 * reaches oneDNN. Concurrent calls share the primitives, each with its own scratch and stream. A
 * layer with bf16 or int8 weights runs batches up to {@link #STEPWISE_BATCH} (and every batch where
 * there is no stack) on java's step loop with {@link OneDnnProduct}s instead.
 */
final class OneDnnRecurrent implements CompiledNode, AutoCloseable {

  /**
   * Shapes whose primitives a node keeps ({@code -Djrnn.onednn.shapes} overrides). Measured on an
   * LSTM H=64, 1 thread: cycling through 16 lengths costs 0.55–0.6 ms a call with 16 or 32 kept and
   * 0.9 ms with 4 or 8 (every call re-creates its primitive); T = 1…2000 grows RSS by the same ~185
   * MB with 8 or 16 (oneDNN's own primitive cache, see the report of the fix), against 380 MB when
   * every shape was kept.
   */
  static final int CAPACITY = Math.max(1, Integer.getInteger("jrnn.onednn.shapes", 16));

  /**
   * The largest batch a layer with reduced weights runs on java's step loop with oneDNN's products
   * rather than on the RNN primitive, unless {@code -Djrnn.onednn.stepwiseBatch} (read when a
   * session opens) says otherwise. Measured on an LSTM H = 256, T = 128 (medians, ms, step loop
   * against primitive): N = 2 bf16 1.44 / 1.64, int8 0.98 / 1.27; N = 4 bf16 1.99 / 2.11, int8 1.31
   * / 1.46; N = 8 bf16 2.84 / 2.56, int8 2.51 / 2.19 on one thread, the same order on two.
   */
  static final int STEPWISE_BATCH = 4;

  /** The stepwise batch limit for sessions opened now. */
  static int stepwiseBatch() {
    return Integer.getInteger("jrnn.onednn.stepwiseBatch", STEPWISE_BATCH);
  }

  private final RnnStack stack; // null where only the step loop runs the layer
  private final CompiledNode stepwise; // null for f32 layers
  private final boolean batchFirst;
  private final int stepwiseBatch;
  private final boolean stepwiseInt8;
  private final PrimitiveCache<Primitives[]> primitives;

  /**
   * A layer on {@code stack}, and on {@code stepwise} at batches up to {@code stepwiseBatch};
   * either may be null, not both; {@code precision}: the weights'; {@code batchFirst}: x is {@code
   * [N, T, I]}.
   */
  OneDnnRecurrent(
      RnnStack stack,
      CompiledNode stepwise,
      Precision precision,
      boolean batchFirst,
      int stepwiseBatch) {
    this.stack = stack;
    this.stepwise = stepwise;
    this.stepwiseInt8 = stepwise != null && precision == Precision.INT8;
    this.batchFirst = batchFirst;
    this.stepwiseBatch = stepwiseBatch;
    this.primitives =
        stack == null
            ? null
            : new PrimitiveCache<>(
                CAPACITY,
                (steps, batch, range) ->
                    stack.create(steps, batch, range, RnnDescriptors.Prop.INFERENCE, null),
                RnnStack::close);
  }

  @Override
  public void run(Tensor[] in, Tensor[] out, ExecContext ec) {
    if (stepwise != null
        && (stack == null || in[Op.RecurrentLayer.X].dim(batchFirst ? 0 : 1) <= stepwiseBatch)) {
      if (stepwiseInt8) { // the products quantize x and the states: name a non-finite input here
        finite(in[Op.RecurrentLayer.X], "input x");
        finite(in[Op.RecurrentLayer.H0], "h0");
      }
      stepwise.run(in, out, ec);
      return;
    }
    RnnStack.Call call = stack.call(in, out);
    if (call.empty()) {
      stack.runEmpty(call);
      return;
    }
    // Before anything else: oneDNN sizes its parallelism when a primitive is created.
    OneDnn.setThreads(stack.ctx.threads);
    long stamp = stack.beginCall();
    try {
      switch (stack.precision) {
        case F32 -> runF32(call, ec);
        case BF16 -> runBf16(call, ec);
        case INT8 -> runInt8(call, ec);
      }
    } finally {
      stack.endCall(stamp);
    }
  }

  private void runF32(RnnStack.Call call, ExecContext ec) {
    long hBytes = stack.stateBytes(call.batch(), stack.hout);
    MemorySegment h0s = stateIn(call.h0(), ec, hBytes);
    MemorySegment hNs = stateOut(call.hN(), ec, hBytes);
    runGroups(
        call,
        ec,
        0,
        OneDnn.segment(call.x()),
        OneDnn.segment(call.y()),
        h0s,
        cellIn(call, ec),
        hNs,
        cellOut(call, ec));
  }

  /** A state the call gives, or zeros from the call's scratch where it gives none. */
  private static MemorySegment stateIn(Tensor t, ExecContext ec, long bytes) {
    return t != null ? OneDnn.segment(t) : zeros(ec.scratch(bytes));
  }

  /** A final state the call asks for, or scratch to discard it into. */
  private static MemorySegment stateOut(Tensor t, ExecContext ec, long bytes) {
    return t != null ? OneDnn.segment(t) : ec.scratch(bytes);
  }

  /** The initial LSTM cell state (f32 in every precision); null for other cells. */
  private MemorySegment cellIn(RnnStack.Call call, ExecContext ec) {
    return stack.lstm ? stateIn(call.c0(), ec, stack.stateBytes(call.batch(), stack.hidden)) : null;
  }

  /** The final LSTM cell state; null for other cells. */
  private MemorySegment cellOut(RnnStack.Call call, ExecContext ec) {
    return stack.lstm
        ? stateOut(call.cN(), ec, stack.stateBytes(call.batch(), stack.hidden))
        : null;
  }

  /**
   * bf16: x and h0 rounded to bf16 on the way in, y and hN widened on the way out; layer outputs
   * between groups stay bf16, the LSTM cell state f32.
   */
  private void runBf16(RnnStack.Call call, ExecContext ec) {
    int batch = call.batch();
    long hN = stack.stateBytes(batch, stack.hout) / 4; // elements
    long xN = call.x().size();
    MemorySegment x16 = ec.scratch(xN * 2);
    Reduced.toBf16(OneDnn.segment(call.x()), x16, xN);
    MemorySegment h0s = ec.scratch(hN * 2);
    if (call.h0() != null) {
      Reduced.toBf16(OneDnn.segment(call.h0()), h0s, hN);
    } else {
      zeros(h0s);
    }
    MemorySegment hNs = ec.scratch(hN * 2);
    MemorySegment y16 = ec.scratch(stack.layerBytes(call.steps(), batch, 2));
    runGroups(call, ec, 0, x16, y16, h0s, cellIn(call, ec), hNs, cellOut(call, ec));
    if (call.y() != null) {
      Reduced.fromBf16(y16, OneDnn.segment(call.y()), call.y().size());
    }
    if (call.hN() != null) {
      Reduced.fromBf16(hNs, OneDnn.segment(call.hN()), hN);
    }
  }

  /**
   * int8: x quantized to u8 over a data range calibrated from this call's x and h0 (see {@link
   * Reduced}); states, the cell state and y stay f32 (oneDNN quantizes and dequantizes them with
   * the same range); layer outputs between groups are u8.
   */
  private void runInt8(RnnStack.Call call, ExecContext ec) {
    long xN = call.x().size();
    MemorySegment xs = OneDnn.segment(call.x());
    float max = Reduced.maxAbs(xs, xN, "input x");
    if (call.h0() != null) {
      max = Math.max(max, Reduced.maxAbs(OneDnn.segment(call.h0()), call.h0().size(), "h0"));
    }
    int range = Reduced.rangeExponent(max);
    MemorySegment x8 = ec.scratch(xN);
    Reduced.toU8(xs, x8, xN, Reduced.dataScale(range));
    long hBytes = stack.stateBytes(call.batch(), stack.hout);
    MemorySegment h0s = stateIn(call.h0(), ec, hBytes);
    MemorySegment hNs = stateOut(call.hN(), ec, hBytes);
    runGroups(
        call,
        ec,
        range,
        x8,
        OneDnn.segment(call.y()),
        h0s,
        cellIn(call, ec),
        hNs,
        cellOut(call, ec));
  }

  /**
   * Runs every group on this shape's primitives (and int8 {@code range}): {@code input} in the
   * stack's activation type, {@code ys} the last group's output (scratch when null), states as the
   * primitives take them.
   */
  private void runGroups(
      RnnStack.Call call,
      ExecContext ec,
      int range,
      MemorySegment input,
      MemorySegment ys,
      MemorySegment h0s,
      MemorySegment c0s,
      MemorySegment hNs,
      MemorySegment cNs) {
    try (PrimitiveCache<Primitives[]>.Lease lease =
        primitives.acquire(call.steps(), call.batch(), range)) {
      Primitives[] prims = lease.value(); // this shape's set, not freed while the lease lasts
      MemorySegment stream = stack.stream(ec);
      for (int gi = 0; gi < prims.length; gi++) {
        WeightGroup g = stack.groups.get(gi);
        boolean last = gi == prims.length - 1;
        MemorySegment output =
            last && ys != null
                ? ys
                : ec.scratch(
                    stack.layerBytes(
                        call.steps(),
                        call.batch(),
                        last && stack.precision == Precision.INT8 ? 4 : stack.activationBytes()));
        EnumMap<Arg, MemorySegment> data = new EnumMap<>(Arg.class);
        data.put(Arg.SRC_LAYER, input);
        data.put(Arg.DST_LAYER, output);
        stack.states(g, call.batch(), data, h0s, c0s, Arg.SRC_ITER, Arg.SRC_ITER_C);
        stack.states(g, call.batch(), data, hNs, cNs, Arg.DST_ITER, Arg.DST_ITER_C);
        prims[gi].execute(data, ec.scratch(prims[gi].scratchpadBytes), stream);
        input = output;
      }
    }
  }

  /** Throws naming {@code what} where {@code t} (if given) holds a NaN or an infinity. */
  private static void finite(Tensor t, String what) {
    if (t != null) {
      Reduced.maxAbs(t.segment(), t.size(), what);
    }
  }

  static MemorySegment zeros(MemorySegment s) {
    s.fill((byte) 0);
    return s;
  }

  /** Shapes whose primitives are kept now. */
  int cachedShapes() {
    return primitives == null ? 0 : primitives.size();
  }

  /** Destroys every primitive; the stack's owner closes the stack. */
  @Override
  public void close() {
    if (primitives != null) {
      primitives.close();
    }
  }
}
