package dev.jrnn.onednn;

import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
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
    Tensor x = in[Op.RecurrentLayer.X];
    int steps = stack.steps(x);
    int batch = stack.batch(x);
    Tensor h0 = in.length > Op.RecurrentLayer.H0 ? in[Op.RecurrentLayer.H0] : null;
    Tensor c0 = in.length > Op.RecurrentLayer.C0 ? in[Op.RecurrentLayer.C0] : null;
    Tensor y = out[Op.RecurrentLayer.Y];
    Tensor hN = out.length > Op.RecurrentLayer.HN ? out[Op.RecurrentLayer.HN] : null;
    Tensor cN = out.length > Op.RecurrentLayer.CN ? out[Op.RecurrentLayer.CN] : null;
    if (steps == 0 || batch == 0) {
      stack.runEmpty(h0, c0, hN, cN);
      return;
    }
    // Before anything else: oneDNN sizes its parallelism when a primitive is created.
    OneDnn.setThreads(stack.ctx.threads);
    long stamp = stack.beginCall();
    try (Pinned pin = new Pinned()) {
      boolean lstm = stack.lstm;
      long hBytes = stack.stateBytes(batch, stack.hout);
      long cBytes = stack.stateBytes(batch, stack.hidden);
      // Missing states are zeros in, or discarded out, from the call's scratch.
      MemorySegment h0s = h0 != null ? pin.segment(h0) : zeros(ec.scratch(hBytes));
      MemorySegment c0s = !lstm ? null : c0 != null ? pin.segment(c0) : zeros(ec.scratch(cBytes));
      MemorySegment hNs = hN != null ? pin.segment(hN) : ec.scratch(hBytes);
      MemorySegment cNs = !lstm ? null : cN != null ? pin.segment(cN) : ec.scratch(cBytes);
      MemorySegment ys = pin.segment(y);
      MemorySegment input = pin.segment(x);
      try (PrimitiveCache<Primitives[]>.Lease lease = primitives.acquire(steps, batch)) {
        Primitives[] prims = lease.value(); // this shape's set, not freed while the lease lasts
        MemorySegment stream = stack.stream(ec);
        for (int gi = 0; gi < prims.length; gi++) {
          WeightGroup g = stack.groups.get(gi);
          boolean last = gi == prims.length - 1;
          MemorySegment output =
              last && ys != null ? ys : ec.scratch(stack.layerBytes(steps, batch));
          EnumMap<Arg, MemorySegment> data = new EnumMap<>(Arg.class);
          data.put(Arg.SRC_LAYER, input);
          data.put(Arg.DST_LAYER, output);
          stack.states(g, batch, data, h0s, c0s, Arg.SRC_ITER, Arg.SRC_ITER_C);
          stack.states(g, batch, data, hNs, cNs, Arg.DST_ITER, Arg.DST_ITER_C);
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
