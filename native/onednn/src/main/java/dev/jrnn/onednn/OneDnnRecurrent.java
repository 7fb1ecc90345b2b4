package dev.jrnn.onednn;

import dev.jrnn.Tensor;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.ExecContext;
import java.lang.foreign.MemorySegment;
import java.util.EnumMap;

/**
 * Inference on a {@link RnnStack}: {@code forward_inference} primitives for each shape (T, N), the
 * {@link #CAPACITY} most recently used shapes kept ({@link PrimitiveCache}). T = 0 or N = 0 never
 * reaches oneDNN. Concurrent calls share the primitives, each with its own scratch and stream.
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

  private final RnnStack stack;
  private final PrimitiveCache<Primitives[]> primitives;

  OneDnnRecurrent(RnnStack stack) {
    this.stack = stack;
    this.primitives =
        new PrimitiveCache<>(
            CAPACITY,
            (steps, batch) -> stack.create(steps, batch, RnnDescriptors.Prop.INFERENCE, null),
            RnnStack::close);
  }

  @Override
  public void run(Tensor[] in, Tensor[] out, ExecContext ec) {
    RnnStack.Call call = stack.call(in, out);
    if (call.empty()) {
      stack.runEmpty(call);
      return;
    }
    // Before anything else: oneDNN sizes its parallelism when a primitive is created.
    OneDnn.setThreads(stack.ctx.threads);
    long stamp = stack.beginCall();
    try {
      boolean lstm = stack.lstm;
      long hBytes = stack.stateBytes(call.batch(), stack.hout);
      long cBytes = stack.stateBytes(call.batch(), stack.hidden);
      // Missing states are zeros in, or discarded out, from the call's scratch.
      MemorySegment h0s = call.h0() != null ? OneDnn.segment(call.h0()) : zeros(ec.scratch(hBytes));
      MemorySegment c0s =
          !lstm ? null : call.c0() != null ? OneDnn.segment(call.c0()) : zeros(ec.scratch(cBytes));
      MemorySegment hNs = call.hN() != null ? OneDnn.segment(call.hN()) : ec.scratch(hBytes);
      MemorySegment cNs =
          !lstm ? null : call.cN() != null ? OneDnn.segment(call.cN()) : ec.scratch(cBytes);
      MemorySegment ys = OneDnn.segment(call.y());
      MemorySegment input = OneDnn.segment(call.x());
      try (PrimitiveCache<Primitives[]>.Lease lease =
          primitives.acquire(call.steps(), call.batch())) {
        Primitives[] prims = lease.value(); // this shape's set, not freed while the lease lasts
        MemorySegment stream = stack.stream(ec);
        for (int gi = 0; gi < prims.length; gi++) {
          WeightGroup g = stack.groups.get(gi);
          boolean last = gi == prims.length - 1;
          MemorySegment output =
              last && ys != null ? ys : ec.scratch(stack.layerBytes(call.steps(), call.batch()));
          EnumMap<Arg, MemorySegment> data = new EnumMap<>(Arg.class);
          data.put(Arg.SRC_LAYER, input);
          data.put(Arg.DST_LAYER, output);
          stack.states(g, call.batch(), data, h0s, c0s, Arg.SRC_ITER, Arg.SRC_ITER_C);
          stack.states(g, call.batch(), data, hNs, cNs, Arg.DST_ITER, Arg.DST_ITER_C);
          prims[gi].execute(data, ec.scratch(prims[gi].scratchpadBytes), stream);
          input = output;
        }
      }
    } finally {
      stack.endCall(stamp);
    }
  }

  static MemorySegment zeros(MemorySegment s) {
    s.fill((byte) 0);
    return s;
  }

  /** Shapes whose primitives are kept now. */
  int cachedShapes() {
    return primitives.size();
  }

  /** Destroys every primitive; the stack's owner closes the stack. */
  @Override
  public void close() {
    primitives.close();
  }
}
