package dev.jrnn.onednn;

import static dev.jrnn.onednn.OneDnnRecurrent.zeros;

import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.onednn.ffi.Dnnl;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.TrainableNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Training on a {@link RnnStack}: {@code forward_training} primitives, which fill oneDNN's
 * workspace, and the backward primitives made against them, per shape (T, N), the {@link #CAPACITY}
 * most recently used shapes kept. A forward's {@link Saved} holds its shape's pair until it is
 * closed, so backward runs the very primitives whose workspace it reads. {@link #run} is inference
 * ({@link OneDnnRecurrent}). T = 0 or N = 0 never reaches oneDNN.
 *
 * <p>Backward reads the node's input and output tensors as forward left them (the executor keeps
 * them), plus what {@link Saved} holds: the workspaces and the outputs of inner groups.
 */
final class OneDnnTrainable implements TrainableNode, AutoCloseable {

  /** Shapes whose training primitives a node keeps ({@code -Djrnn.onednn.trainingShapes}). */
  static final int CAPACITY = Math.max(1, Integer.getInteger("jrnn.onednn.trainingShapes", 8));

  private final RnnStack stack;
  private final OneDnnRecurrent inference;
  private final PrimitiveCache<Pair> primitives;
  private final Set<OneDnnSaved> open = ConcurrentHashMap.newKeySet(); // closed with the node
  private volatile boolean closed;

  /** One shape's forward_training primitives and the backward ones made against them. */
  private record Pair(Primitives[] forward, Primitives[] backward) {
    void close() {
      RnnStack.close(backward); // first: a backward primitive refers to its forward hint
      RnnStack.close(forward);
    }
  }

  OneDnnTrainable(RnnStack stack) {
    this.stack = stack;
    this.inference = new OneDnnRecurrent(stack, null, stack.precision, false, 0);
    this.primitives = new PrimitiveCache<>(CAPACITY, this::createPair, Pair::close);
  }

  private Pair createPair(int steps, int batch) {
    Primitives[] fwd = stack.create(steps, batch, RnnDescriptors.Prop.TRAINING, null);
    try {
      return new Pair(fwd, stack.create(steps, batch, RnnDescriptors.Prop.BACKWARD, fwd));
    } catch (RuntimeException | Error e) {
      RnnStack.close(fwd);
      throw e;
    }
  }

  /** What backward needs beyond the node's tensors; holds the shape's primitives. */
  private final class OneDnnSaved implements Saved {
    final Arena arena = Arena.ofShared();
    final PrimitiveCache<Pair>.Lease lease;
    final int steps;
    final int batch;
    final MemorySegment[] workspaces; // per group
    final MemorySegment[] outputs; // per group but the last: its dst_layer, the next src_layer
    // Stand-ins for tensors forward was not given (zeros for initial states), else null.
    MemorySegment h0;
    MemorySegment c0;
    MemorySegment y;
    MemorySegment hN;
    MemorySegment cN;
    private boolean closed; // guarded by this

    OneDnnSaved(PrimitiveCache<Pair>.Lease lease, int steps, int batch) {
      this.lease = lease;
      this.steps = steps;
      this.batch = batch;
      int n = stack.groups.size();
      workspaces = new MemorySegment[n];
      outputs = new MemorySegment[n];
    }

    OneDnnTrainable owner() {
      return OneDnnTrainable.this;
    }

    MemorySegment allocate(long bytes) {
      return arena.allocate(Math.max(1, bytes), 64).asSlice(0, bytes);
    }

    synchronized void checkOpen() {
      if (closed) {
        throw new IllegalStateException("the saved forward pass is used after close");
      }
    }

    @Override
    public synchronized void close() {
      if (!closed) {
        closed = true;
        open.remove(this);
        lease.close();
        arena.close();
      }
    }
  }

  @Override
  public void run(Tensor[] in, Tensor[] out, ExecContext ec) {
    checkOpen();
    inference.run(in, out, ec);
  }

  @Override
  public Saved forward(Tensor[] in, Tensor[] out, ExecContext ec) {
    checkOpen();
    RnnStack.Call call = stack.call(in, out);
    if (call.empty()) {
      stack.runEmpty(call);
      return null; // backward needs nothing
    }
    OneDnn.setThreads(stack.ctx.threads);
    boolean lstm = stack.lstm;
    long stamp = stack.beginCall();
    OneDnnSaved saved = null;
    try {
      MemorySegment xs = OneDnn.segment(call.x());
      MemorySegment h0s = OneDnn.segment(call.h0());
      MemorySegment c0s = lstm ? OneDnn.segment(call.c0()) : null;
      MemorySegment ys = OneDnn.segment(call.y());
      MemorySegment hNs = OneDnn.segment(call.hN());
      MemorySegment cNs = lstm ? OneDnn.segment(call.cN()) : null;
      saved =
          new OneDnnSaved(
              primitives.acquire(call.steps(), call.batch()), call.steps(), call.batch());
      open.add(saved);
      long hBytes = stack.stateBytes(call.batch(), stack.hout);
      long cBytes = stack.stateBytes(call.batch(), stack.hidden);
      if (h0s == null) {
        h0s = saved.h0 = zeros(saved.allocate(hBytes));
      }
      if (lstm && c0s == null) {
        c0s = saved.c0 = zeros(saved.allocate(cBytes));
      }
      if (ys == null) {
        ys = saved.y = saved.allocate(stack.layerBytes(call.steps(), call.batch()));
      }
      if (hNs == null) {
        hNs = saved.hN = saved.allocate(hBytes);
      }
      if (lstm && cNs == null) {
        cNs = saved.cN = saved.allocate(cBytes);
      }
      Primitives[] fwd = saved.lease.value().forward();
      MemorySegment stream = stack.stream(ec);
      MemorySegment input = xs;
      for (int gi = 0; gi < fwd.length; gi++) {
        WeightGroup g = stack.groups.get(gi);
        Primitives p = fwd[gi];
        boolean last = gi == fwd.length - 1;
        MemorySegment output =
            last
                ? ys
                : (saved.outputs[gi] =
                    saved.allocate(stack.layerBytes(call.steps(), call.batch())));
        saved.workspaces[gi] = saved.allocate(p.workspaceBytes);
        EnumMap<Arg, MemorySegment> data = new EnumMap<>(Arg.class);
        data.put(Arg.SRC_LAYER, input);
        data.put(Arg.DST_LAYER, output);
        data.put(Arg.WORKSPACE, saved.workspaces[gi]);
        stack.states(g, call.batch(), data, h0s, c0s, Arg.SRC_ITER, Arg.SRC_ITER_C);
        stack.states(g, call.batch(), data, hNs, cNs, Arg.DST_ITER, Arg.DST_ITER_C);
        p.execute(data, ec.scratch(p.scratchpadBytes), stream);
        input = output;
      }
      OneDnnSaved done = saved;
      saved = null;
      return done;
    } finally {
      if (saved != null) {
        saved.close();
      }
      stack.endCall(stamp);
    }
  }

  @Override
  public void backward(
      Saved saved,
      Tensor[] in,
      Tensor[] out,
      Tensor[] gradOut,
      Tensor[] gradIn,
      Map<String, Tensor> gradWeights,
      ExecContext ec) {
    checkOpen();
    Tensor x = in[Op.RecurrentLayer.X];
    int steps = stack.steps(x);
    int batch = stack.batch(x);
    if (steps == 0 || batch == 0) {
      backwardEmpty(gradOut, gradIn);
      return;
    }
    if (!(saved instanceof OneDnnSaved s) || s.owner() != this) {
      throw new IllegalArgumentException(
          "backward needs the value this node's forward returned, got " + saved);
    }
    synchronized (s) { // closing it waits
      s.checkOpen();
      if (s.steps != steps || s.batch != batch) {
        throw new IllegalArgumentException(
            "forward ran with T = " + s.steps + ", N = " + s.batch + "; backward got " + x);
      }
      OneDnn.setThreads(stack.ctx.threads);
      long stamp = stack.beginCall();
      try {
        backward(s, in, out, gradOut, gradIn, gradWeights, ec);
      } finally {
        stack.endCall(stamp);
      }
    }
  }

  private void backward(
      OneDnnSaved s,
      Tensor[] in,
      Tensor[] out,
      Tensor[] gradOut,
      Tensor[] gradIn,
      Map<String, Tensor> gradWeights,
      ExecContext ec) {
    int steps = s.steps;
    int batch = s.batch;
    boolean lstm = stack.lstm;
    long hBytes = stack.stateBytes(batch, stack.hout);
    long cBytes = stack.stateBytes(batch, stack.hidden);
    long yBytes = stack.layerBytes(steps, batch);
    MemorySegment xs = OneDnn.segment(in[Op.RecurrentLayer.X]);
    MemorySegment h0s = s.h0 != null ? s.h0 : OneDnn.segment(at(in, Op.RecurrentLayer.H0));
    MemorySegment c0s =
        !lstm ? null : s.c0 != null ? s.c0 : OneDnn.segment(at(in, Op.RecurrentLayer.C0));
    MemorySegment ys = s.y != null ? s.y : OneDnn.segment(at(out, Op.RecurrentLayer.Y));
    MemorySegment hNs = s.hN != null ? s.hN : OneDnn.segment(at(out, Op.RecurrentLayer.HN));
    MemorySegment cNs =
        !lstm ? null : s.cN != null ? s.cN : OneDnn.segment(at(out, Op.RecurrentLayer.CN));
    if (h0s == null || ys == null || hNs == null || (lstm && (c0s == null || cNs == null))) {
      throw new IllegalArgumentException("backward needs the tensors forward was given");
    }
    // Gradients in: null means zero. Gradients out: null means not wanted, computed into scratch.
    MemorySegment dy = orZeros(OneDnn.segment(at(gradOut, Op.RecurrentLayer.Y)), ec, yBytes);
    MemorySegment dhN = orZeros(OneDnn.segment(at(gradOut, Op.RecurrentLayer.HN)), ec, hBytes);
    MemorySegment dcN =
        !lstm ? null : orZeros(OneDnn.segment(at(gradOut, Op.RecurrentLayer.CN)), ec, cBytes);
    MemorySegment dh0 = orScratch(OneDnn.segment(at(gradIn, Op.RecurrentLayer.H0)), ec, hBytes);
    MemorySegment dc0 =
        !lstm ? null : orScratch(OneDnn.segment(at(gradIn, Op.RecurrentLayer.C0)), ec, cBytes);
    MemorySegment dx = OneDnn.segment(at(gradIn, Op.RecurrentLayer.X));
    Primitives[] bwd = s.lease.value().backward();
    MemorySegment stream = stack.stream(ec);
    MemorySegment diffDst = dy;
    for (int gi = bwd.length - 1; gi >= 0; gi--) {
      WeightGroup g = stack.groups.get(gi);
      Primitives p = bwd[gi];
      boolean last = gi == bwd.length - 1;
      MemorySegment diffSrc =
          gi == 0 && dx != null ? dx : ec.scratch((long) steps * batch * g.slc * 4);
      EnumMap<Arg, MemorySegment> data = new EnumMap<>(Arg.class);
      data.put(Arg.SRC_LAYER, gi == 0 ? xs : s.outputs[gi - 1]);
      data.put(Arg.DST_LAYER, last ? ys : s.outputs[gi]);
      data.put(Arg.WORKSPACE, s.workspaces[gi]);
      stack.states(g, batch, data, h0s, c0s, Arg.SRC_ITER, Arg.SRC_ITER_C);
      stack.states(g, batch, data, hNs, cNs, Arg.DST_ITER, Arg.DST_ITER_C);
      data.put(Arg.DIFF_DST_LAYER, diffDst);
      data.put(Arg.DIFF_SRC_LAYER, diffSrc);
      stack.states(g, batch, data, dhN, dcN, Arg.DIFF_DST_ITER, Arg.DIFF_DST_ITER_C);
      stack.states(g, batch, data, dh0, dc0, Arg.DIFF_SRC_ITER, Arg.DIFF_SRC_ITER_C);
      EnumMap<Arg, MemorySegment> diffWeights = new EnumMap<>(Arg.class);
      for (Arg w : g.weightArgs()) {
        Arg diff = w.diff();
        long bytes = Dnnl.dnnl_memory_desc_get_size(p.mds.get(diff));
        MemorySegment buf = zeros(ec.scratch(bytes)); // whether oneDNN adds or overwrites
        data.put(diff, buf);
        diffWeights.put(w, buf);
      }
      p.execute(data, ec.scratch(p.scratchpadBytes), stream);
      for (Map.Entry<Arg, MemorySegment> e : diffWeights.entrySet()) {
        if (g.wants(e.getKey(), gradWeights)) {
          addGradients(g, p, e.getKey(), e.getValue(), gradWeights, ec);
        }
      }
      diffDst = diffSrc;
    }
  }

  /** Reorders a weight gradient to the canonical layout and adds it into {@code grads}. */
  private void addGradients(
      WeightGroup g,
      Primitives p,
      Arg w,
      MemorySegment value,
      Map<String, Tensor> grads,
      ExecContext ec) {
    try (Arena tmp = Arena.ofConfined()) {
      MemorySegment userMd = g.userMd(tmp, w);
      MemorySegment plain = ec.scratch(Dnnl.dnnl_memory_desc_get_size(userMd));
      MemorySegment dst = OneDnn.memory(stack.engine, userMd, plain, tmp);
      try {
        OneDnn.reorder(stack.engine, p.mds.get(w.diff()), value, userMd, dst, tmp);
      } finally {
        Dnnl.dnnl_memory_destroy(dst);
      }
      g.addGradients(w, plain, grads);
    }
  }

  /**
   * Backward of a call with T = 0 or N = 0: no step ran, so the gradient of h0 (c0) is that of hN
   * (cN), and the weights get none.
   */
  private void backwardEmpty(Tensor[] gradOut, Tensor[] gradIn) {
    Tensor dx = at(gradIn, Op.RecurrentLayer.X);
    if (dx != null) {
      dx.zero();
    }
    RnnStack.passThrough(at(gradOut, Op.RecurrentLayer.HN), at(gradIn, Op.RecurrentLayer.H0));
    if (stack.lstm) {
      RnnStack.passThrough(at(gradOut, Op.RecurrentLayer.CN), at(gradIn, Op.RecurrentLayer.C0));
    }
  }

  private static Tensor at(Tensor[] a, int i) {
    return a != null && i < a.length ? a[i] : null;
  }

  private static MemorySegment orZeros(MemorySegment s, ExecContext ec, long bytes) {
    return s != null ? s : zeros(ec.scratch(bytes));
  }

  private static MemorySegment orScratch(MemorySegment s, ExecContext ec, long bytes) {
    return s != null ? s : ec.scratch(bytes);
  }

  @Override
  public void updateWeights(Map<String, Tensor> weights) {
    checkOpen();
    stack.updateWeights(weights);
  }

  /** Shapes whose inference and training primitives are kept now. */
  int cachedShapes() {
    return inference.cachedShapes() + primitives.size();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("onednn node is used after its session closed");
    }
  }

  /** Frees saved passes not closed yet, every primitive and the weights. */
  @Override
  public void close() {
    closed = true;
    List.copyOf(open).forEach(OneDnnSaved::close);
    inference.close();
    primitives.close();
    stack.close();
  }
}
