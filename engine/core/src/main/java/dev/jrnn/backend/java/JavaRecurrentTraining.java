package dev.jrnn.backend.java;

import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.Act;
import dev.jrnn.kernels.Arith;
import dev.jrnn.kernels.Cells;
import dev.jrnn.kernels.CellsTraining;
import dev.jrnn.kernels.DropoutMask;
import dev.jrnn.kernels.Elementwise;
import dev.jrnn.kernels.Sgemm;
import dev.jrnn.kernels.SgemmAt;
import dev.jrnn.kernels.Simd;
import dev.jrnn.kernels.WorkerPool;
import dev.jrnn.spi.DropoutStreams;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.TrainableNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Map;

/**
 * Training of a recurrent layer stack on the Vector API kernels, the way oneDNN's RNN primitives
 * train. Per layer and direction, dataflow and kernel count:
 *
 * <pre>
 * forward   G = X·Wᵀ + b                      1 GEMM, all steps
 *           per step: G_t += h_{t−1}·Rᵀ        1 GEMM (GRU: 2, reset-first)
 *                     fused pass: activations over G_t (kept), c_t, h_t (+ projection GEMM)
 * backward  per step, last to first:
 *                     fused pass: dh_t, dc_t → dG_t (gate pre-activation gradients), dc_{t−1}
 *                     dh_{t−1} += dG_t·R      1 GEMM (GRU reset-first: 2 and a second pass)
 *           dW = dGᵀ·X, dR = dGᵀ·H_{t−1}      1 GEMM each, all steps
 *           dX = dG·W                          1 GEMM, all steps
 *           db = Σ dG, dP = Σ dG⊙c            column reductions
 * </pre>
 *
 * The workspace keeps, per step, the gate activations (written over the pre-activations), h, and c
 * for LSTM, the pre-projection output with a projection, the candidate's recurrent term for GRU;
 * nothing that needs an exp is recomputed except tanh(c). Gates are laid out gate-major ({@code
 * g·hp + u}, {@code hp} = H padded to a vector); weights are packed once, for the forward products
 * as {@code Wᵀ} panels and for the backward ones as {@code W} panels.
 *
 * <p>Threads split the batch rows of every step in whole 6-row GEMM tiles: a thread's rows need
 * nobody else's h, so steps run without barriers (ragged batches add one where the partition of the
 * still-running rows changes); the two directions of a bidirectional layer run on separate halves
 * of the team. The big GEMMs split rows (input projection, dX) or output rows (weight gradients).
 * Every element is computed by one thread in an order that does not depend on the split, so results
 * are the same bits for any thread count. Batches below 12 rows run the recurrence on one thread
 * per direction.
 *
 * <p>Ragged batches are sorted by length, longest first, so the running rows are a prefix; the
 * reverse direction runs over each row reversed within its length. Rows past their length get a
 * zero gate gradient, so the all-steps GEMMs need no masks.
 */
final class JavaRecurrentTraining implements TrainableNode {

  private static final int NR = Sgemm.NR;
  private static final int BW = Simd.BW;
  private static final int MR = Sgemm.MR;
  private static final float[] NONE = new float[0];
  private static final Sgemm.Mode ACC = Sgemm.Mode.ACCUMULATE;
  private static final Sgemm.Mode SET = Sgemm.Mode.OVERWRITE;
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

  private final Op.RecurrentLayer op;
  private final String node;
  private final Recurrent spec;
  private final Recurrent.Cell cell;
  private final int gates; // G
  private final int hidden; // H
  private final int hout; // Hout: projection or H
  private final int dirs; // D
  private final int layerCount; // L
  private final int hp; // H padded to a whole vector
  private final int gw; // G·hp: gate columns in use
  private final int ldg; // gate row stride
  private final int hs; // h row stride (sequence buffer)
  private final int ldd; // dh row stride
  private final int ldx; // input-gradient row stride, any layer
  private final int ldhr; // dh row stride before the projection
  private final boolean lbr; // GRU, linear before reset
  private final boolean resetFirst; // GRU, reset before the recurrent product
  private final boolean keepDerivatives; // a derivative plane (clip, or slopes outputs hide)
  private final WorkerPool pool;
  private final Arena arena; // of the packed weights
  private volatile Dir[][] weights; // [layer][direction]
  private final java.util.function.Function<Object, Scratch> newScratch = k -> new Scratch();

  /** Peephole gates and the gate-major gate each sees: i, f see c_{t−1}; o sees c_t. */
  private static final int[] PEEP_GATE = {0, 1, 3};

  /** One layer and direction: packed weights and cell options. */
  private static final class Dir {
    String[] names; // canonical names of W, R, bW, bR, P, Wp
    boolean reverse;
    int inSize;
    Sgemm.Panels w; // x → gates: Wᵀ [inSize → gw]
    float[] bias; // [ldg] bW + bR folded (GRU lbr: the candidate's bR apart)
    Sgemm.Panels r; // h → gates: Rᵀ (reset-first: z, r only)
    Sgemm.Panels rn; // reset-first: r⊙h → n
    Sgemm.Panels wp; // hraw → h: Wpᵀ
    Sgemm.Panels wB; // dG → dx: W [gw, inSize]
    Sgemm.Panels rB; // dG → dh: R [gw, hout] (reset-first: z, r rows)
    Sgemm.Panels rnB; // reset-first: dN → d(r⊙h): R_n [hp, hout]
    Sgemm.Panels wpB; // dh → dhraw: Wp [hout, hidden]
    Cells.Lstm lstm;
    Cells.Gru gru;
    Cells.Rnn rnn;
  }

  /**
   * Packs the weights of {@code node} into native memory from {@code arena} (freed with the
   * session); every {@link #updateWeights} writes into the same memory.
   */
  JavaRecurrentTraining(
      Op.RecurrentLayer op,
      String node,
      Map<String, Tensor> weights,
      WorkerPool pool,
      Arena arena) {
    this.op = op;
    this.arena = arena;
    this.node = node;
    this.spec = op.spec();
    this.cell = spec.cell();
    this.gates = cell.gates();
    this.hidden = spec.hidden();
    this.hout = spec.outputHidden();
    this.dirs = spec.directions();
    this.layerCount = spec.layers();
    this.pool = pool;
    this.lbr = cell == Recurrent.Cell.GRU && spec.isLinearBeforeReset();
    this.resetFirst = cell == Recurrent.Cell.GRU && !spec.isLinearBeforeReset();
    this.hp = Simd.roundUp(hidden, BW);
    this.gw = gates * hp;
    int g = Simd.roundUp(gw, NR);
    // A row stride of a multiple of 4 KiB puts a column of dG in one L1 set: the weight-gradient
    // GEMM reads columns.
    this.ldg = g % 1024 == 0 ? g + NR : g;
    this.hs = spec.projection() > 0 ? Simd.roundUp(hout, NR) : hp;
    this.ldd = Simd.roundUp(hout, NR);
    this.ldx = Simd.roundUp(Math.max(op.inputSize(), spec.outputSize()), NR);
    this.ldhr = Simd.roundUp(hidden, NR);
    boolean keep = false;
    for (int d = 0; d < dirs; d++) {
      Act[] acts = new Act[cell.activationCount()];
      for (int k = 0; k < acts.length; k++) {
        acts[k] = JavaOps.act(spec.activation(d, k));
      }
      keep |= CellsTraining.needsDerivatives(spec.clip(), acts);
    }
    this.keepDerivatives = keep;
    this.weights = pack(weights);
  }

  // ---------------------------------------------------------------- weights

  private Dir[][] pack(Map<String, Tensor> weights) {
    Dir[][] all = new Dir[layerCount][dirs];
    for (int l = 0; l < layerCount; l++) {
      for (int d = 0; d < dirs; d++) {
        all[l][d] = pack(l, d, weights, this.weights == null ? null : this.weights[l][d]);
      }
    }
    return all;
  }

  /**
   * Packs layer l, direction d, reading the weight tensors in place; into {@code old}'s panels when
   * there are some (every update after the first), else into new ones from the arena.
   */
  private Dir pack(int l, int d, Map<String, Tensor> weights, Dir old) {
    boolean first = old == null;
    String pre = op.weightPrefix(node, l, d);
    Dir dir = new Dir();
    dir.names = new String[] {pre + "W", pre + "R", pre + "bW", pre + "bR", pre + "P", pre + "Wp"};
    dir.reverse = op.isReverse(d);
    dir.inSize = op.layerInputSize(l);
    MemorySegment w = JavaOps.f32(weights, pre + "W");
    MemorySegment r = JavaOps.f32(weights, pre + "R");
    float[] bw = weights.get(pre + "bW").toFloatArray();
    float[] br = weights.get(pre + "bR").toFloatArray();
    int[] all = columns(0, gates);
    int in = dir.inSize;
    dir.w = Sgemm.packRowsInto(panels(first ? null : old.w, in, all.length), w, in, all);
    dir.wB = Sgemm.packGatheredInto(panels(first ? null : old.wB, gw, in), w, in, all, in);
    dir.bias = new float[ldg];
    for (int j = 0; j < gw; j++) {
      int row = all[j];
      if (row >= 0) {
        boolean candidate = cell == Recurrent.Cell.GRU && row >= 2 * hidden;
        dir.bias[j] = bw[row] + (lbr && candidate ? 0f : br[row]);
      }
    }
    if (resetFirst) {
      int[] zr = columns(0, 2);
      int[] n = columns(2, 1);
      dir.r = Sgemm.packRowsInto(panels(first ? null : old.r, hout, zr.length), r, hout, zr);
      dir.rn = Sgemm.packRowsInto(panels(first ? null : old.rn, hout, n.length), r, hout, n);
      dir.rB =
          Sgemm.packGatheredInto(panels(first ? null : old.rB, 2 * hp, hout), r, hout, zr, hout);
      dir.rnB = Sgemm.packGatheredInto(panels(first ? null : old.rnB, hp, hout), r, hout, n, hout);
    } else {
      dir.r = Sgemm.packRowsInto(panels(first ? null : old.r, hout, all.length), r, hout, all);
      dir.rB = Sgemm.packGatheredInto(panels(first ? null : old.rB, gw, hout), r, hout, all, hout);
    }
    if (spec.projection() > 0) {
      MemorySegment wp = JavaOps.f32(weights, pre + "Wp");
      int[] map = new int[hout];
      for (int j = 0; j < hout; j++) {
        map[j] = j;
      }
      dir.wp = Sgemm.packRowsInto(panels(first ? null : old.wp, hidden, hout), wp, hidden, map);
      dir.wpB =
          Sgemm.packGatheredInto(
              panels(first ? null : old.wpB, hout, hidden), wp, hidden, null, hidden);
    }
    Act f = JavaOps.act(spec.activation(d, 0));
    switch (cell) {
      case LSTM -> {
        float[][] peep = new float[3][];
        if (spec.hasPeepholes()) {
          float[] p = weights.get(pre + "P").toFloatArray();
          for (int k = 0; k < 3; k++) {
            peep[k] = new float[hp];
            System.arraycopy(p, k * hidden, peep[k], 0, hidden);
          }
        }
        dir.lstm =
            new Cells.Lstm(
                f,
                JavaOps.act(spec.activation(d, 1)),
                JavaOps.act(spec.activation(d, 2)),
                spec.clip(),
                peep[0],
                peep[1],
                peep[2],
                spec.isCoupledInputForget());
      }
      case GRU -> {
        float[] bn = new float[hp];
        if (lbr) {
          System.arraycopy(br, 2 * hidden, bn, 0, hidden);
        }
        dir.gru = new Cells.Gru(f, JavaOps.act(spec.activation(d, 1)), spec.clip(), bn);
      }
      case RNN -> dir.rnn = new Cells.Rnn(f, spec.clip());
    }
    return dir;
  }

  /** {@code old}, to be packed over, or new zeroed panels for {@code B [k, columns]}. */
  private Sgemm.Panels panels(Sgemm.Panels old, int k, int columns) {
    return old != null ? old : Sgemm.f32Panels(arena, k, columns);
  }

  /**
   * Gate-major column j of gates {@code [first, first + count)} → canonical row, -1 for padding.
   */
  private int[] columns(int first, int count) {
    int[] map = new int[count * hp];
    for (int j = 0; j < map.length; j++) {
      int u = j % hp;
      map[j] = u < hidden ? (first + j / hp) * hidden + u : -1;
    }
    return map;
  }

  @Override
  public void updateWeights(Map<String, Tensor> w) {
    weights = pack(w);
  }

  // ---------------------------------------------------------------- the SPI

  @Override
  public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
    pass(in, out, ctx, false).close();
  }

  @Override
  public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
    return pass(in, out, ctx, true);
  }

  /** A forward pass; dropout (the spec's, from {@code ctx.seed()}) only in {@code training}. */
  private Saved pass(Tensor[] in, Tensor[] out, ExecContext ctx, boolean training) {
    Scratch s = ctx.cache(this, newScratch);
    boolean bf = spec.isBatchFirst();
    Tensor x = in[Op.RecurrentLayer.X];
    int steps = x.dim(bf ? 1 : 0);
    int batch = x.dim(bf ? 0 : 1);
    s.generation++;
    s.w = weights;
    s.layerDrop = training && spec.dropout() > 0 && layerCount > 1;
    s.recDrop = training && spec.recurrentDropout() > 0;
    s.stream = s.layerDrop || s.recDrop ? DropoutStreams.node(ctx, node) : 0;
    s.prepare(steps, batch);
    s.sortByLength(at(in, Op.RecurrentLayer.LENGTHS));
    s.x = x;
    s.h0 = at(in, Op.RecurrentLayer.H0);
    s.c0 = at(in, Op.RecurrentLayer.C0);
    s.y = at(out, Op.RecurrentLayer.Y);
    s.hN = at(out, Op.RecurrentLayer.HN);
    s.cN = at(out, Op.RecurrentLayer.CN);
    s.backward = false;
    try {
      if (steps == 0 || batch == 0) {
        s.forwardEmpty();
      } else {
        pool.run(s);
      }
    } finally {
      s.release();
    }
    SavedPass p = s.spare;
    if (p == null) {
      p = new SavedPass(s);
    }
    s.spare = null;
    p.open(s.generation, steps, batch);
    return p;
  }

  /**
   * What backward needs: the workspace of its forward pass, while no later forward reused it. A
   * closed one goes back to its workspace for the next forward to hand out again (so a training
   * step allocates nothing); one still open is never handed out twice.
   */
  private final class SavedPass implements Saved {
    final Scratch scratch;
    long generation;
    int steps;
    int batch;
    volatile boolean closed = true;

    SavedPass(Scratch scratch) {
      this.scratch = scratch;
    }

    void open(long generation, int steps, int batch) {
      this.generation = generation;
      this.steps = steps;
      this.batch = batch;
      closed = false;
    }

    JavaRecurrentTraining owner() {
      return JavaRecurrentTraining.this;
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        scratch.spare = this;
      }
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
      ExecContext ctx) {
    if (!(saved instanceof SavedPass p) || p.owner() != this) {
      throw new IllegalArgumentException(
          "backward needs the value this node's forward returned, got " + saved);
    }
    if (p.closed) {
      throw new IllegalStateException("the saved forward pass is used after close");
    }
    Scratch s = p.scratch;
    if (s.generation != p.generation) {
      throw new IllegalStateException(
          "a later forward of node '" + node + "' on the same workspace replaced this saved pass");
    }
    boolean bf = spec.isBatchFirst();
    Tensor x = in[Op.RecurrentLayer.X];
    if (x.dim(bf ? 1 : 0) != p.steps || x.dim(bf ? 0 : 1) != p.batch) {
      throw new IllegalArgumentException(
          "forward ran with T = " + p.steps + ", N = " + p.batch + "; backward got " + x);
    }
    s.dy = at(gradOut, Op.RecurrentLayer.Y);
    s.dhN = at(gradOut, Op.RecurrentLayer.HN);
    s.dcN = at(gradOut, Op.RecurrentLayer.CN);
    s.dx = at(gradIn, Op.RecurrentLayer.X);
    s.dh0 = at(gradIn, Op.RecurrentLayer.H0);
    s.dc0 = at(gradIn, Op.RecurrentLayer.C0);
    s.grads = gradWeights;
    s.backward = true;
    try {
      if (p.steps == 0 || p.batch == 0) {
        s.backwardEmpty();
      } else {
        pool.run(s);
      }
    } finally {
      s.release();
    }
  }

  private static Tensor at(Tensor[] a, int i) {
    return a != null && i < a.length ? a[i] : null;
  }

  /** {@code a} if it holds {@code n} floats, else a new array of that size. */
  private static float[] ensure(float[] a, long n) {
    return a.length >= n ? a : new float[Math.toIntExact(n)];
  }

  // ---------------------------------------------------------------- per-call state

  /** One layer and direction's forward workspace, kept for backward. */
  private static final class Saved1 {
    float[] x = NONE; // [T·N·I] input in processing order (unused when the layer input serves)
    float[] ws = NONE; // [T·N·ldg] gate activations
    float[] dact = NONE; // [T·N·ldg] gate derivatives (clip, or slopes the outputs hide)
    float[] hseq = NONE; // [(T+1)·N·hs] h after each step; slot 0 = h0
    float[] c = NONE; // [(T+1)·N·hp] LSTM c after each step; slot 0 = c0
    float[] hraw = NONE; // [T·N·hp] LSTM output before the projection
    float[] ghn = NONE; // [T·N·hp] GRU lbr: h_n + bR_n
    float[] rh = NONE; // [T·N·hp] GRU reset-first: r⊙h
    float[] rmask = NONE; // [N·hs] recurrent dropout's mask on h_{t−1}, sorted rows (0 in padding)
    float[] hm = NONE; // [T·N·hs] recurrent dropout: m⊙h_{t−1} per step, what R reads
  }

  /** A direction's buffers that no later step or layer needs (one set per concurrent direction). */
  private static final class Temp {
    float[] gh = NONE; // [N·ldg] GRU recurrent product (reset-first: z, r)
    float[] ghn = NONE; // [N·ldn] reset-first: R_n(r⊙h)
    float[] dys = NONE; // [(T+1)·N·ldd] dh per step; slot 0 = dh0
    float[] dg = NONE; // [T·N·ldg] gate pre-activation gradients (input side)
    float[] dgrStep = NONE; // [N·ldg] GRU lbr: this step's recurrent-side gradients
    float[] dc = NONE; // [N·hp]
    float[] dhraw = NONE; // [N·ldhr] LSTM projection: gradient before it
    float[] drh = NONE; // [N·ldrh] reset-first: gradient of r⊙h
    float[] dhm = NONE; // [N·ldd] recurrent dropout: gradient of m⊙h_{t−1}, before the mask
    float[] dx = NONE; // [T·N·ldx] input gradient in processing order
    float[] packA = NONE; // packed B operands of the weight-gradient GEMMs
    float[] packB = NONE;
    float[] packC = NONE;
    float[] packG = NONE; // the gate gradients packed as the A of the weight-gradient GEMMs
    float[] packGrn = NONE; // GRU lbr: the recurrent side's n gate (dN⊙r), packed likewise
    float[] packDh = NONE; // projection: dh per step, the A of dWp
    float[] gW = NONE; // [gw·ldx]
    float[] gR = NONE; // [gw·ldd]
    float[] gRn = NONE; // [gw·ldd] GRU reset-first: the n gate's rows (they see r⊙h)
    float[] gWp = NONE; // [hout·ldhr]
    float[] gb = NONE; // [ldg]
    float[] gbr = NONE; // [ldg]
    float[] gp = NONE; // [3·hp]
    MemorySegment gWs, gRs, gRns, gWps, gbs, gbrs, gps; // heap views of the above
  }

  /**
   * Buffers of one workspace, grown as shapes need and reused, and the pool task that runs a
   * forward or a backward pass. One per workspace, so concurrent calls never share one.
   */
  private final class Scratch implements WorkerPool.Task {
    long generation;
    SavedPass spare; // a closed saved pass, for the next forward to hand out
    Dir[][] w; // the weights the forward ran with
    int steps;
    int batch;
    boolean ragged;
    boolean backward;
    boolean layerDrop; // dropout between layers in this pass
    boolean recDrop; // recurrent dropout in this pass
    long stream; // the node's dropout stream
    final int outSize = spec.outputSize();
    float[] layerIn = NONE; // [T·N·I] time-major copy of x
    final float[][] layerOut = new float[layerCount][]; // [T·N·C] each layer's output
    float[] dLayer = NONE; // [T·N·max(I, C)] gradient of a layer's input/output
    final float[][] dropMask = new float[layerCount][]; // [T·N·C] mask on layer l's input, l ≥ 1
    final Saved1[][] saved = new Saved1[layerCount][JavaRecurrentTraining.this.dirs];
    final Temp[] temp = new Temp[JavaRecurrentTraining.this.dirs];
    float[][] rowTmp = new float[0][]; // per thread, a row for sums
    int[] order = new int[0]; // sorted position → batch row
    int[] pos = new int[0]; // batch row → sorted position
    int[] lens = new int[0]; // sorted position → length
    int[] active = new int[0]; // step → rows still running
    Tensor x, h0, c0, y, hN, cN; // forward call
    Tensor dy, dhN, dcN, dx, dh0, dc0; // backward call
    Map<String, Tensor> grads;

    Scratch() {
      for (int l = 0; l < layerCount; l++) {
        layerOut[l] = NONE;
        dropMask[l] = NONE;
        for (int d = 0; d < temp.length; d++) {
          saved[l][d] = new Saved1();
        }
      }
      for (int d = 0; d < temp.length; d++) {
        temp[d] = new Temp();
      }
    }

    void release() {
      x = h0 = c0 = y = hN = cN = dy = dhN = dcN = dx = dh0 = dc0 = null;
      grads = null;
    }

    void prepare(int t, int n) {
      steps = t;
      batch = n;
      long tn = (long) t * n;
      int maxIn = Math.max(op.inputSize(), outSize);
      layerIn = ensure(layerIn, tn * op.inputSize());
      dLayer = ensure(dLayer, tn * maxIn);
      int ldrh = Simd.roundUp(hout, NR);
      for (int l = 0; l < layerCount; l++) {
        layerOut[l] = ensure(layerOut[l], tn * outSize);
        if (layerDrop && l > 0) {
          dropMask[l] = ensure(dropMask[l], tn * outSize);
        }
        for (int d = 0; d < temp.length; d++) {
          Saved1 b = saved[l][d];
          int in = op.layerInputSize(l);
          b.x = ensure(b.x, tn * in);
          b.ws = ensure(b.ws, tn * ldg);
          b.dact = keepDerivatives ? ensure(b.dact, tn * ldg) : NONE;
          b.hseq = ensure(b.hseq, (tn + n) * hs);
          if (cell == Recurrent.Cell.LSTM) {
            b.c = ensure(b.c, (tn + n) * hp);
          }
          if (spec.projection() > 0) {
            b.hraw = ensure(b.hraw, tn * hp);
          }
          if (lbr) {
            b.ghn = ensure(b.ghn, tn * hp);
          }
          if (resetFirst) {
            b.rh = ensure(b.rh, tn * hp);
          }
          if (recDrop) {
            b.rmask = ensure(b.rmask, (long) n * hs);
            b.hm = ensure(b.hm, tn * hs);
          }
        }
      }
      for (Temp m : temp) {
        m.gh = cell == Recurrent.Cell.GRU ? ensure(m.gh, (long) n * ldg) : NONE;
        m.ghn = resetFirst ? ensure(m.ghn, (long) n * ldrh) : NONE;
        m.dys = ensure(m.dys, (tn + n) * ldd);
        m.dg = ensure(m.dg, tn * ldg);
        m.dgrStep = lbr ? ensure(m.dgrStep, (long) n * ldg) : NONE;
        m.dc = ensure(m.dc, (long) n * hp);
        m.dhraw = spec.projection() > 0 ? ensure(m.dhraw, (long) n * ldhr) : NONE;
        m.drh = resetFirst ? ensure(m.drh, (long) n * ldrh) : NONE;
        if (recDrop) {
          m.dhm = ensure(m.dhm, (long) n * ldd);
        }
        m.dx = ensure(m.dx, tn * ldx);
        int widest = Math.max(maxIn, Math.max(hout, hidden));
        m.packA = ensure(m.packA, SgemmAt.packedSize(Math.toIntExact(tn), widest));
        m.packB = ensure(m.packB, SgemmAt.packedSize(Math.toIntExact(tn), widest));
        if (resetFirst || spec.projection() > 0) {
          m.packC = ensure(m.packC, SgemmAt.packedSize(Math.toIntExact(tn), widest));
        }
        m.packG = ensure(m.packG, SgemmAt.packedASize(Math.toIntExact(tn), gw));
        m.packGrn = lbr ? ensure(m.packGrn, SgemmAt.packedASize(Math.toIntExact(tn), hp)) : NONE;
        if (spec.projection() > 0) {
          m.packDh = ensure(m.packDh, SgemmAt.packedASize(Math.toIntExact(tn), hout));
        }
        if (m.gW.length == 0) {
          m.gW = new float[gw * ldx];
          m.gR = new float[gw * ldd];
          m.gWp = new float[hout * ldhr];
          m.gb = new float[ldg];
          m.gbr = new float[ldg];
          m.gp = new float[3 * hp];
          m.gWs = MemorySegment.ofArray(m.gW);
          m.gRs = MemorySegment.ofArray(m.gR);
          m.gRn = cell == Recurrent.Cell.GRU ? new float[gw * ldd] : NONE;
          m.gRns = MemorySegment.ofArray(m.gRn);
          m.gWps = MemorySegment.ofArray(m.gWp);
          m.gbs = MemorySegment.ofArray(m.gb);
          m.gbrs = MemorySegment.ofArray(m.gbr);
          m.gps = MemorySegment.ofArray(m.gp);
        }
      }
      if (order.length < n) {
        order = new int[n];
        pos = new int[n];
        lens = new int[n];
      }
      if (active.length < t) {
        active = new int[t];
      }
      int threads = pool.size();
      if (rowTmp.length < threads) {
        rowTmp = new float[threads][];
      }
      for (int i = 0; i < threads; i++) {
        rowTmp[i] = ensure(rowTmp[i] == null ? NONE : rowTmp[i], maxIn);
      }
    }

    /** Stable sort of rows by length, longest first; active[k] = rows with length > k. */
    void sortByLength(Tensor lengths) {
      int n = batch;
      int t = steps;
      ragged = false;
      for (int i = 0; i < n; i++) {
        order[i] = i;
        lens[i] = lengths == null ? t : lengths.getInt(i);
        ragged |= lens[i] != t;
      }
      for (int i = 1; i < n; i++) { // insertion sort: stable, allocation-free
        int o = order[i];
        int l = lens[i];
        int j = i - 1;
        for (; j >= 0 && lens[j] < l; j--) {
          order[j + 1] = order[j];
          lens[j + 1] = lens[j];
        }
        order[j + 1] = o;
        lens[j + 1] = l;
      }
      for (int i = 0; i < n; i++) {
        pos[order[i]] = i;
      }
      int rows = n;
      for (int k = 0; k < t; k++) {
        while (rows > 0 && lens[rows - 1] <= k) {
          rows--;
        }
        active[k] = rows;
      }
    }

    @Override
    public void run(WorkerPool.Team team, int tid) {
      int size = team.size();
      boolean split = dirs == 2 && size >= 2;
      int g0 = split ? size / 2 : size;
      int group = tid < g0 ? 0 : 1;
      int rank = group == 0 ? tid : tid - g0;
      int parties = group == 0 ? g0 : size - g0;
      if (backward) {
        backwardAll(team, tid, split, group, rank, parties);
      } else {
        forwardAll(team, tid, split, group, rank, parties);
      }
    }

    // -------------------------------------------------------------- forward

    private void forwardAll(
        WorkerPool.Team team, int tid, boolean split, int group, int rank, int parties) {
      int size = team.size();
      copyInput(tid, size);
      team.barrier();
      for (int l = 0; l < layerCount; l++) {
        float[] input = l == 0 ? layerIn : layerOut[l - 1];
        if (split) {
          forwardDirection(team, group, rank, parties, l, group, input);
        } else {
          for (int d = 0; d < dirs; d++) {
            forwardDirection(team, 0, tid, size, l, d, input);
          }
        }
        team.barrier();
        mergeLayer(l, tid, size);
        team.barrier();
      }
    }

    /** x [T, N, I] or [N, T, I] → time-major floats; this thread's share of the steps. */
    private void copyInput(int tid, int size) {
      MemorySegment xs = x.segment();
      int n = batch;
      int t = steps;
      int in = op.inputSize();
      for (int k = tid * t / size; k < (tid + 1) * t / size; k++) {
        if (!spec.isBatchFirst()) {
          MemorySegment.copy(xs, F, (long) k * n * in * 4, layerIn, k * n * in, n * in);
        } else {
          for (int i = 0; i < n; i++) {
            MemorySegment.copy(xs, F, ((long) i * t + k) * in * 4, layerIn, (k * n + i) * in, in);
          }
        }
      }
    }

    /**
     * One layer, one direction, on the {@code parties} threads of group {@code g}: its input in
     * processing order, the input projection, then the steps, each thread on its rows.
     */
    private void forwardDirection(
        WorkerPool.Team team, int g, int rank, int parties, int l, int d, float[] input) {
      Dir dw = w[l][d];
      Saved1 b = saved[l][d];
      Temp m = temp[d];
      int n = batch;
      int t = steps;
      int in = dw.inSize;
      boolean gather = ragged || dw.reverse;
      for (int k = rank * t / parties; k < (rank + 1) * t / parties; k++) {
        if (gather) {
          gatherRows(input, in, dw.reverse, k, b.x);
        }
        int a = active[k];
        if (a < n) { // rows past their length: finite zeros for the all-steps GEMMs
          Arrays.fill(b.hseq, ((k + 1) * n + a) * hs, (k + 2) * n * hs, 0f);
          if (b.c.length > 0) {
            Arrays.fill(b.c, ((k + 1) * n + a) * hp, (k + 2) * n * hp, 0f);
          }
          if (b.hraw.length > 0) {
            Arrays.fill(b.hraw, (k * n + a) * hp, (k + 1) * n * hp, 0f);
          }
          if (b.rh.length > 0) {
            Arrays.fill(b.rh, (k * n + a) * hp, (k + 1) * n * hp, 0f);
          }
          if (recDrop) {
            Arrays.fill(b.hm, (k * n + a) * hs, (k + 1) * n * hs, 0f);
          }
        }
      }
      if (rank == 0) {
        initState(l, d, b);
        if (recDrop) {
          recurrentMask(l, d, b.rmask);
        }
      }
      team.barrier(g, parties);
      float[] xs = gather ? b.x : input;
      int tn = t * n;
      int tiles = (tn + MR - 1) / MR;
      int r0 = Math.min(tn, rank * tiles / parties * MR);
      int r1 = Math.min(tn, (rank + 1) * tiles / parties * MR);
      if (r1 > r0) {
        Sgemm.gemm(
            r1 - r0,
            xs,
            r0 * in,
            in,
            dw.w,
            0,
            dw.w.panels(),
            b.ws,
            r0 * ldg,
            ldg,
            Sgemm.Mode.BIAS,
            dw.bias,
            0);
      }
      team.barrier(g, parties);
      int prev = -1;
      for (int k = 0; k < t && active[k] > 0; k++) {
        int rows = active[k];
        int rt = (rows + MR - 1) / MR;
        if (prev >= 0 && rt != prev) {
          team.barrier(g, parties); // the rows still running are split anew
        }
        prev = rt;
        int s0 = Math.min(rows, rank * rt / parties * MR);
        int s1 = Math.min(rows, (rank + 1) * rt / parties * MR);
        if (s1 > s0) {
          forwardStep(dw, b, m, k, s0, s1);
        }
      }
      team.barrier(g, parties);
    }

    /** Layer input rows of step k in sorted order, each reversed within its length for reverse. */
    private void gatherRows(float[] in, int width, boolean reverse, int k, float[] dst) {
      int n = batch;
      for (int i = 0; i < n; i++) {
        int len = lens[i];
        int to = (k * n + i) * width;
        if (k >= len) {
          Arrays.fill(dst, to, to + width, 0f);
        } else {
          int tt = reverse ? len - 1 - k : k;
          System.arraycopy(in, (tt * n + order[i]) * width, dst, to, width);
        }
      }
    }

    /**
     * Recurrent dropout's mask of layer {@code l}, direction {@code d} in sorted row order: row i
     * is the mask's row {@code order[i]} (the caller's), zero in the padding columns.
     */
    private void recurrentMask(int l, int d, float[] mask) {
      long st = DropoutStreams.recurrent(stream, l, d);
      float p = spec.recurrentDropout();
      for (int i = 0; i < batch; i++) {
        DropoutMask.fill(st, p, (long) order[i] * hout, mask, i * hs, hout);
        Arrays.fill(mask, i * hs + hout, (i + 1) * hs, 0f);
      }
    }

    /** h0 and c0 (or zeros) into slot 0, sorted. */
    private void initState(int l, int d, Saved1 b) {
      int n = batch;
      long s = (long) l * dirs + d;
      Arrays.fill(b.hseq, 0, n * hs, 0f);
      if (b.c.length > 0) {
        Arrays.fill(b.c, 0, n * hp, 0f);
      }
      for (int i = 0; i < n; i++) {
        long row = s * n + order[i];
        if (h0 != null) {
          MemorySegment.copy(h0.segment(), F, row * hout * 4, b.hseq, i * hs, hout);
        }
        if (c0 != null && b.c.length > 0) {
          MemorySegment.copy(c0.segment(), F, row * hidden * 4, b.c, i * hp, hidden);
        }
      }
    }

    /** Step {@code k} for rows {@code [r0, r1)}: recurrent GEMM(s), fused pass, projection. */
    private void forwardStep(Dir dw, Saved1 b, Temp m, int k, int r0, int r1) {
      int rows = r1 - r0;
      int n = batch;
      int gOff = (k * n + r0) * ldg;
      int prevH = (k * n + r0) * hs;
      int nextH = ((k + 1) * n + r0) * hs;
      int unit = (k * n + r0) * hp; // row r0 of a [T·N·hp] plane at step k
      float[] dact = keepDerivatives ? b.dact : null;
      boolean zigzag = (k & 1) == 1;
      // Recurrent dropout: the recurrent products (and GRU's reset r⊙h) read m⊙h_{t−1}, a masked
      // copy of these rows kept for backward; GRU's carry z⊙h_{t−1} reads h_{t−1}.
      float[] hr = b.hseq;
      if (recDrop) {
        hr = b.hm;
        multiply(b.hseq, prevH, b.rmask, r0 * hs, b.hm, prevH, rows * hs);
      }
      switch (cell) {
        case LSTM -> {
          Sgemm.gemm(
              rows, hr, prevH, hs, dw.r, 0, dw.r.panels(), b.ws, gOff, ldg, ACC, null, 0, zigzag);
          boolean proj = b.hraw.length > 0;
          CellsTraining.lstmForwardTraining(
              b.ws,
              gOff,
              ldg,
              hp,
              dact,
              b.c,
              unit,
              unit + n * hp,
              hp,
              proj ? b.hraw : b.hseq,
              proj ? unit : nextH,
              proj ? hp : hs,
              rows,
              dw.lstm);
          if (proj) {
            Sgemm.gemm(
                rows, b.hraw, unit, hp, dw.wp, 0, dw.wp.panels(), b.hseq, nextH, hs, SET, null, 0);
          }
        }
        case RNN -> {
          Sgemm.gemm(
              rows, hr, prevH, hs, dw.r, 0, dw.r.panels(), b.ws, gOff, ldg, ACC, null, 0, zigzag);
          CellsTraining.rnnForwardTraining(
              b.ws, gOff, ldg, hp, dact, b.hseq, nextH, hs, rows, dw.rnn);
        }
        case GRU -> {
          if (lbr) {
            Sgemm.gemm(
                rows,
                hr,
                prevH,
                hs,
                dw.r,
                0,
                dw.r.panels(),
                m.gh,
                r0 * ldg,
                ldg,
                SET,
                null,
                0,
                zigzag);
            CellsTraining.gruForwardTrainingLbr(
                b.ws, gOff, ldg, hp, dact, m.gh, r0 * ldg, ldg, b.ghn, unit, hp, b.hseq, prevH, hs,
                b.hseq, nextH, hs, rows, dw.gru);
          } else {
            int ldzr = dw.r.columns();
            int ldn = dw.rn.columns();
            Sgemm.gemm(
                rows,
                hr,
                prevH,
                hs,
                dw.r,
                0,
                dw.r.panels(),
                m.gh,
                r0 * ldzr,
                ldzr,
                SET,
                null,
                0,
                zigzag);
            CellsTraining.gruResetHiddenTraining(
                b.ws, gOff, ldg, hp, dact, m.gh, r0 * ldzr, ldzr, hr, prevH, hs, b.rh, unit, hp,
                rows, dw.gru);
            Sgemm.gemm(
                rows,
                b.rh,
                unit,
                hp,
                dw.rn,
                0,
                dw.rn.panels(),
                m.ghn,
                r0 * ldn,
                ldn,
                SET,
                null,
                0,
                zigzag);
            CellsTraining.gruForwardTrainingResetFirst(
                b.ws, gOff, ldg, hp, dact, m.ghn, r0 * ldn, ldn, b.hseq, prevH, hs, b.hseq, nextH,
                hs, rows, dw.gru);
          }
        }
      }
    }

    /**
     * Layer {@code l}'s output, time-major, from its directions (concatenated or summed, zero past
     * each row's length), into {@code y} for the last layer; hN and cN.
     */
    private void mergeLayer(int l, int tid, int size) {
      float[] out = layerOut[l];
      int n = batch;
      int t = steps;
      int c = outSize;
      boolean sum = spec.merge() == Recurrent.Merge.SUM && dirs == 2;
      boolean last = l == layerCount - 1;
      for (int tt = tid * t / size; tt < (tid + 1) * t / size; tt++) {
        for (int nn = 0; nn < n; nn++) {
          int i = pos[nn];
          int len = lens[i];
          int to = (tt * n + nn) * c;
          if (tt >= len) {
            Arrays.fill(out, to, to + c, 0f);
            continue;
          }
          for (int d = 0; d < dirs; d++) {
            int k = w[l][d].reverse ? len - 1 - tt : tt;
            float[] h = saved[l][d].hseq;
            int from = ((k + 1) * n + i) * hs;
            if (!sum || d == 0) {
              System.arraycopy(h, from, out, to + (sum ? 0 : d * hout), hout);
            } else {
              for (int j = 0; j < hout; j++) {
                out[to + j] += h[from + j];
              }
            }
          }
        }
        if (layerDrop && !last) { // the next layer reads this output under its mask, kept
          float[] mask = dropMask[l + 1];
          int o = tt * n * c;
          DropoutMask.fill(
              DropoutStreams.betweenLayers(stream, l + 1), spec.dropout(), o, mask, o, n * c);
          for (int e = o; e < o + n * c; e++) {
            out[e] *= mask[e];
          }
        }
        if (last && y != null) {
          MemorySegment ys = y.segment();
          if (!spec.isBatchFirst()) {
            MemorySegment.copy(out, tt * n * c, ys, F, (long) tt * n * c * 4, n * c);
          } else {
            for (int nn = 0; nn < n; nn++) {
              MemorySegment.copy(out, (tt * n + nn) * c, ys, F, ((long) nn * t + tt) * c * 4, c);
            }
          }
        }
      }
      if (tid == size - 1) {
        for (int d = 0; d < dirs; d++) {
          Saved1 b = saved[l][d];
          long s = (long) l * dirs + d;
          for (int i = 0; i < n; i++) {
            long row = s * n + order[i];
            int slot = lens[i] * n + i;
            if (hN != null) {
              MemorySegment.copy(b.hseq, slot * hs, hN.segment(), F, row * hout * 4, hout);
            }
            if (cN != null && b.c.length > 0) {
              MemorySegment.copy(b.c, slot * hp, cN.segment(), F, row * hidden * 4, hidden);
            }
          }
        }
      }
    }

    /** T = 0 or N = 0: no step runs; hN = h0, cN = c0 (zeros without them). */
    void forwardEmpty() {
      if (hN != null) {
        if (h0 != null) {
          hN.copyFrom(h0);
        } else {
          hN.zero();
        }
      }
      if (cN != null) {
        if (c0 != null) {
          cN.copyFrom(c0);
        } else {
          cN.zero();
        }
      }
    }

    // -------------------------------------------------------------- backward

    /** T = 0 or N = 0: the gradient of h0 (c0) is that of hN (cN); x and the weights get none. */
    void backwardEmpty() {
      if (dx != null) {
        dx.zero();
      }
      for (Tensor[] pair : new Tensor[][] {{dh0, dhN}, {dc0, dcN}}) {
        if (pair[0] != null) {
          if (pair[1] != null) {
            pair[0].copyFrom(pair[1]);
          } else {
            pair[0].zero();
          }
        }
      }
    }

    private void backwardAll(
        WorkerPool.Team team, int tid, boolean split, int group, int rank, int parties) {
      int size = team.size();
      for (int l = layerCount - 1; l >= 0; l--) {
        if (split) {
          backwardDirection(team, group, rank, parties, l, group);
        } else {
          for (int d = 0; d < dirs; d++) {
            backwardDirection(team, 0, tid, size, l, d);
          }
        }
        team.barrier();
        if (l > 0 || dx != null) {
          combineInputGradient(l, tid, size);
        }
        team.barrier();
      }
    }

    /**
     * Backward through one layer and direction on the {@code parties} threads of group {@code g}:
     * the gradient of its output in processing order, the steps from last to first, then the weight
     * gradients and the input gradient over all steps.
     */
    private void backwardDirection(
        WorkerPool.Team team, int g, int rank, int parties, int l, int d) {
      Dir dw = w[l][d];
      Saved1 b = saved[l][d];
      Temp m = temp[d];
      int n = batch;
      int t = steps;
      long s = (long) l * dirs + d;
      int colOff = spec.merge() == Recurrent.Merge.CONCAT ? d * hout : 0;
      for (int k = rank * t / parties; k < (rank + 1) * t / parties; k++) {
        gatherGradient(l == layerCount - 1, k, dw.reverse, colOff, m.dys);
        int a = active[k];
        if (a < n) { // rows past their length: zero gate gradients, so no mask later
          Arrays.fill(m.dg, (k * n + a) * ldg, (k + 1) * n * ldg, 0f);
          SgemmAt.packA(m.dg, 0, ldg, gw, t * n, 0, gw, k * n + a, (k + 1) * n, m.packG);
          if (lbr) { // zeros too: dG's n columns of these rows
            SgemmAt.packA(m.dg, 2 * hp, ldg, hp, t * n, 0, hp, k * n + a, (k + 1) * n, m.packGrn);
          }
        }
      }
      if (rank == 0) {
        Arrays.fill(m.dys, 0, n * ldd, 0f);
        Arrays.fill(m.dc, 0, n * hp, 0f);
        if (dcN != null && cell == Recurrent.Cell.LSTM) {
          for (int i = 0; i < n; i++) {
            MemorySegment.copy(
                dcN.segment(), F, (s * n + order[i]) * hidden * 4, m.dc, i * hp, hidden);
          }
        }
      }
      team.barrier(g, parties);
      if (rank == 0 && dhN != null) { // each row's final h is its slot lens[i]
        MemorySegment dhs = dhN.segment();
        for (int i = 0; i < n; i++) {
          int to = (lens[i] * n + i) * ldd;
          long from = (s * n + order[i]) * hout;
          for (int j = 0; j < hout; j++) {
            m.dys[to + j] += dhs.getAtIndex(F, from + j);
          }
        }
      }
      team.barrier(g, parties);
      int prev = -1;
      for (int k = t - 1; k >= 0; k--) {
        int rows = active[k];
        if (rows == 0) {
          continue;
        }
        int rt = (rows + MR - 1) / MR;
        if (prev >= 0 && rt != prev) {
          team.barrier(g, parties); // the rows still running are split anew
        }
        prev = rt;
        int s0 = Math.min(rows, rank * rt / parties * MR);
        int s1 = Math.min(rows, (rank + 1) * rt / parties * MR);
        if (s1 > s0) {
          backwardStep(dw, b, m, k, s0, s1);
        }
      }
      team.barrier(g, parties);
      if (rank == 0) {
        for (int i = 0; i < n; i++) {
          long row = s * n + order[i];
          if (dh0 != null) {
            MemorySegment.copy(m.dys, i * ldd, dh0.segment(), F, row * hout * 4, hout);
          }
          if (dc0 != null && cell == Recurrent.Cell.LSTM) {
            MemorySegment.copy(m.dc, i * hp, dc0.segment(), F, row * hidden * 4, hidden);
          }
        }
      }
      weightGradients(team, g, rank, parties, l, d);
    }

    /**
     * Slot k+1 of dys: the gradient of the layer output at step k in processing order (zero past
     * the row's length and in the padding columns).
     */
    private void gatherGradient(boolean top, int k, boolean reverse, int colOff, float[] dys) {
      int n = batch;
      int t = steps;
      for (int i = 0; i < n; i++) {
        int to = ((k + 1) * n + i) * ldd;
        int len = lens[i];
        if (k >= len) {
          Arrays.fill(dys, to, to + ldd, 0f);
          continue;
        }
        int tt = reverse ? len - 1 - k : k;
        int nn = order[i];
        if (!top) {
          System.arraycopy(dLayer, (tt * n + nn) * outSize + colOff, dys, to, hout);
        } else if (dy == null) {
          Arrays.fill(dys, to, to + hout, 0f);
        } else {
          long row = spec.isBatchFirst() ? (long) nn * t + tt : (long) tt * n + nn;
          MemorySegment.copy(dy.segment(), F, (row * outSize + colOff) * 4, dys, to, hout);
        }
        Arrays.fill(dys, to + hout, to + ldd, 0f);
      }
    }

    /**
     * Step {@code k} backward for rows {@code [r0, r1)}: the fused pass from dh_t (slot k+1 of dys)
     * and dc_t to dG_t and dc_{t−1}, then dh_{t−1} (slot k) += dG_t·R.
     */
    private void backwardStep(Dir dw, Saved1 b, Temp m, int k, int r0, int r1) {
      int rows = r1 - r0;
      int n = batch;
      int gOff = (k * n + r0) * ldg;
      int dh = ((k + 1) * n + r0) * ldd;
      int dp = (k * n + r0) * ldd;
      int unit = (k * n + r0) * hp;
      int prevH = (k * n + r0) * hs;
      float[] dact = keepDerivatives ? b.dact : null;
      // Recurrent dropout (see forwardStep): the recurrent products' gradient goes to m⊙h_{t−1}
      // (scratch rows dhm, from row 0) and reaches dh_{t−1} (slot k) masked; GRU's carry part goes
      // to slot k directly; dR reads the kept m⊙h_{t−1}.
      float[] rd = recDrop ? m.dhm : m.dys; // where the recurrent products' gradient goes
      int rdOff = recDrop ? r0 * ldd : dp;
      float[] hr = recDrop ? b.hm : b.hseq;
      if (recDrop) { // the products add into the scratch rows
        Arrays.fill(m.dhm, rdOff, rdOff + rows * ldd, 0f);
      }
      switch (cell) {
        case LSTM -> {
          float[] dhv = m.dys;
          int dhOff = dh;
          int lddh = ldd;
          if (dw.wpB != null) { // through the projection: dhraw = dh·Wp
            lddh = dw.wpB.columns();
            Sgemm.gemm(
                rows,
                m.dys,
                dh,
                ldd,
                dw.wpB,
                0,
                dw.wpB.panels(),
                m.dhraw,
                r0 * lddh,
                lddh,
                SET,
                null,
                0);
            dhv = m.dhraw;
            dhOff = r0 * lddh;
          }
          CellsTraining.lstmBackward(
              b.ws,
              gOff,
              ldg,
              hp,
              dact,
              b.c,
              unit,
              unit + n * hp,
              hp,
              dhv,
              dhOff,
              lddh,
              m.dc,
              r0 * hp,
              hp,
              m.dg,
              gOff,
              ldg,
              rows,
              dw.lstm);
          Sgemm.gemm(rows, m.dg, gOff, ldg, dw.rB, 0, dw.rB.panels(), rd, rdOff, ldd, ACC, null, 0);
        }
        case RNN -> {
          CellsTraining.rnnBackward(
              b.ws, gOff, ldg, hp, dact, m.dys, dh, ldd, m.dg, gOff, ldg, rows, dw.rnn);
          Sgemm.gemm(rows, m.dg, gOff, ldg, dw.rB, 0, dw.rB.panels(), rd, rdOff, ldd, ACC, null, 0);
        }
        case GRU -> {
          if (lbr) {
            CellsTraining.gruBackwardLbr(
                b.ws, gOff, ldg, hp, dact, b.ghn, unit, hp, b.hseq, prevH, hs, m.dys, dh, ldd,
                m.dys, dp, ldd, m.dg, gOff, ldg, m.dgrStep, r0 * ldg, ldg, rows, dw.gru);
            Sgemm.gemm(
                rows,
                m.dgrStep,
                r0 * ldg,
                ldg,
                dw.rB,
                0,
                dw.rB.panels(),
                rd,
                rdOff,
                ldd,
                ACC,
                null,
                0);
            // dN⊙r of these rows, packed for dR's n rows (row k·N + r sits at r·ldg here)
            SgemmAt.packA(
                m.dgrStep,
                2 * hp - k * n * ldg,
                ldg,
                hp,
                steps * n,
                0,
                hp,
                k * n + r0,
                k * n + r1,
                m.packGrn);
          } else {
            int ldrh = dw.rnB.columns();
            CellsTraining.gruBackwardResetFirstZn(
                b.ws, gOff, ldg, hp, dact, b.hseq, prevH, hs, m.dys, dh, ldd, m.dys, dp, ldd, m.dg,
                gOff, ldg, rows, dw.gru);
            Sgemm.gemm(
                rows,
                m.dg,
                gOff + 2 * hp,
                ldg,
                dw.rnB,
                0,
                dw.rnB.panels(),
                m.drh,
                r0 * ldrh,
                ldrh,
                SET,
                null,
                0);
            CellsTraining.gruBackwardResetFirstR(
                b.ws, gOff, ldg, hp, dact, hr, prevH, hs, m.drh, r0 * ldrh, ldrh, rd, rdOff, ldd,
                m.dg, gOff, ldg, rows, dw.gru);
            Sgemm.gemm(
                rows, m.dg, gOff, ldg, dw.rB, 0, dw.rB.panels(), rd, rdOff, ldd, ACC, null, 0);
          }
        }
      }
      if (recDrop) { // dh_{t−1} += m ⊙ (gradient of m⊙h_{t−1})
        unmask(m.dhm, r0 * ldd, b.rmask, r0 * hs, m.dys, dp, rows);
      }
      // This step's dG rows into 6-column strips, the A of dW and dR, while they are in cache.
      SgemmAt.packA(m.dg, 0, ldg, gw, steps * n, 0, gw, k * n + r0, k * n + r1, m.packG);
    }

    /** {@code out[o + e] = a[ao + e] · b[bo + e]} for {@code e < n}. */
    private static void multiply(float[] a, int ao, float[] b, int bo, float[] out, int o, int n) {
      for (int e = 0; e < n; e++) {
        out[o + e] = a[ao + e] * b[bo + e];
      }
    }

    /** {@code dh[dhOff + i·ldd + j] += g[gOff + i·ldd + j] · mask[mOff + i·hs + j]}, j < Hout. */
    private void unmask(
        float[] g, int gOff, float[] mask, int mOff, float[] dh, int dhOff, int rows) {
      for (int i = 0; i < rows; i++) {
        int to = dhOff + i * ldd;
        int from = gOff + i * ldd;
        int mo = mOff + i * hs;
        for (int j = 0; j < hout; j++) {
          dh[to + j] = Math.fma(g[from + j], mask[mo + j], dh[to + j]);
        }
      }
    }

    /**
     * The all-steps products of one layer and direction on group {@code g}: packs the GEMM operands
     * (threads split the rows), forms dW, dR, dWp, the bias and peephole sums (threads split the
     * output rows) and dX (threads split its rows), then adds them into the canonical gradients.
     */
    private void weightGradients(WorkerPool.Team team, int g, int rank, int parties, int l, int d) {
      Dir dw = w[l][d];
      Saved1 b = saved[l][d];
      Temp m = temp[d];
      String[] names = dw.names; // no string built per call
      Tensor tW = grads.get(names[0]);
      Tensor tR = grads.get(names[1]);
      Tensor tbW = grads.get(names[2]);
      Tensor tbR = grads.get(names[3]);
      Tensor tP = spec.hasPeepholes() ? grads.get(names[4]) : null;
      Tensor tWp = spec.projection() > 0 ? grads.get(names[5]) : null;
      boolean wantX = l > 0 || dx != null;
      int n = batch;
      int tn = steps * n;
      int in = dw.inSize;
      float[] xs = ragged || dw.reverse ? b.x : (l == 0 ? layerIn : layerOut[l - 1]);
      float[] dgx = m.dg;
      int k0 = rank * tn / parties;
      int k1 = (rank + 1) * tn / parties;
      if (tW != null) {
        SgemmAt.pack(xs, 0, in, in, tn, k0, k1, m.packA);
      }
      if (tR != null) {
        SgemmAt.pack(recDrop ? b.hm : b.hseq, 0, hs, hout, tn, k0, k1, m.packB);
        if (resetFirst) {
          SgemmAt.pack(b.rh, 0, hp, hidden, tn, k0, k1, m.packC);
        }
      }
      if (tWp != null) {
        SgemmAt.pack(b.hraw, 0, hp, hidden, tn, k0, k1, m.packC);
      }
      team.barrier(g, parties);
      int tiles = (gw + SgemmAt.MR - 1) / SgemmAt.MR;
      int m0 = Math.min(gw, rank * tiles / parties * SgemmAt.MR);
      int m1 = Math.min(gw, (rank + 1) * tiles / parties * SgemmAt.MR);
      if (tW != null && m1 > m0) { // dG was packed into strips step by step
        SgemmAt.gemm(m0, m1, m.packG, tn, m.packA, 0, SgemmAt.panels(in), m.gW, 0, ldx, false);
      }
      if (tR != null) {
        int pr = SgemmAt.panels(hout);
        int split = 2 * hp;
        if (cell != Recurrent.Cell.GRU && m1 > m0) {
          SgemmAt.gemm(m0, m1, m.packG, tn, m.packB, 0, pr, m.gR, 0, ldd, false);
        } else if (resetFirst && m1 > m0) { // z, r see h; n sees r⊙h (a strip may hold r and n)
          if (m0 < split) {
            SgemmAt.gemm(m0, Math.min(m1, split), m.packG, tn, m.packB, 0, pr, m.gR, 0, ldd, false);
          }
          if (m1 > split) {
            int from = Math.max(m0, split / SgemmAt.MR * SgemmAt.MR);
            SgemmAt.gemm(from, m1, m.packG, tn, m.packC, 0, pr, m.gRn, 0, ldd, false);
          }
        } else if (lbr) { // z, r from dG; n from its own strips of dN⊙r, rows from 2·hp on
          if (m0 < split && m1 > m0) {
            SgemmAt.gemm(m0, Math.min(m1, split), m.packG, tn, m.packB, 0, pr, m.gR, 0, ldd, false);
          }
          int nt = (hp + SgemmAt.MR - 1) / SgemmAt.MR;
          int n0 = Math.min(hp, rank * nt / parties * SgemmAt.MR);
          int n1 = Math.min(hp, (rank + 1) * nt / parties * SgemmAt.MR);
          if (n1 > n0) {
            SgemmAt.gemm(n0, n1, m.packGrn, tn, m.packB, 0, pr, m.gRn, split * ldd, ldd, false);
          }
        }
      }
      if (m1 > m0 && (tbW != null || tbR != null)) {
        Arrays.fill(m.gb, m0, m1, 0f);
        CellsTraining.columnSums(dgx, 0, ldg, tn, m0, m1, m.gb, 0);
        if (lbr) { // the candidate's recurrent bias sees dN⊙r: Σ dN·r over the kept r
          int lo = Math.max(m0, 2 * hp);
          if (m1 > lo) {
            Arrays.fill(m.gbr, lo, m1, 0f);
            CellsTraining.columnDots(
                dgx, 0, ldg, b.ws, -hp, ldg, tn, lo, m1, m.gbr, 0); // ws col j − hp: r of unit
          }
        }
      }
      if (tP != null && m1 > m0) { // i, f see c_{t−1}; o sees c_t
        int[] gate = PEEP_GATE;
        for (int q = 0; q < 3; q++) {
          int lo = Math.max(m0, gate[q] * hp);
          int hi = Math.min(m1, (gate[q] + 1) * hp);
          if (hi > lo) {
            int a = lo - gate[q] * hp;
            int e = hi - gate[q] * hp;
            Arrays.fill(m.gp, q * hp + a, q * hp + e, 0f);
            CellsTraining.columnDots(
                dgx, gate[q] * hp, ldg, b.c, q == 2 ? n * hp : 0, hp, tn, a, e, m.gp, q * hp);
          }
        }
      }
      if (tWp != null) {
        int pt = (hout + SgemmAt.MR - 1) / SgemmAt.MR;
        int q0 = Math.min(hout, rank * pt / parties * SgemmAt.MR);
        int q1 = Math.min(hout, (rank + 1) * pt / parties * SgemmAt.MR);
        if (q1 > q0) { // dh of steps 1..T (slots 1..T of dys) is the A of dWp
          SgemmAt.packA(m.dys, n * ldd, ldd, hout, tn, q0, q1, m.packDh);
          SgemmAt.gemm(
              q0, q1, m.packDh, tn, m.packC, 0, SgemmAt.panels(hidden), m.gWp, 0, ldhr, false);
        }
      }
      if (wantX) {
        int xt = (tn + MR - 1) / MR;
        int r0 = Math.min(tn, rank * xt / parties * MR);
        int r1 = Math.min(tn, (rank + 1) * xt / parties * MR);
        if (r1 > r0) {
          Sgemm.gemm(
              r1 - r0,
              dgx,
              r0 * ldg,
              ldg,
              dw.wB,
              0,
              dw.wB.panels(),
              m.dx,
              r0 * ldx,
              ldx,
              SET,
              null,
              0);
        }
      }
      team.barrier(g, parties);
      addGradients(rank, parties, dw, m, tW, tR, tbW, tbR, tP, tWp);
    }

    /** The weight gradients of one layer and direction into the canonical tensors (+=). */
    private void addGradients(
        int rank,
        int parties,
        Dir dw,
        Temp m,
        Tensor tW,
        Tensor tR,
        Tensor tbW,
        Tensor tbR,
        Tensor tP,
        Tensor tWp) {
      int rows = gates * hidden;
      int in = dw.inSize;
      for (int cr = rank * rows / parties; cr < (rank + 1) * rows / parties; cr++) {
        int j = cr / hidden * hp + cr % hidden; // gate-major row of the temporaries
        if (tW != null) {
          MemorySegment sw = tW.segment();
          Elementwise.binaryRun(
              Arith.ADD, sw, (long) cr * in, 1, m.gWs, (long) j * ldx, 1, sw, (long) cr * in, in);
        }
        if (tR != null) {
          MemorySegment sr = tR.segment();
          Elementwise.binaryRun(
              Arith.ADD,
              sr,
              (long) cr * hout,
              1,
              cell == Recurrent.Cell.GRU && cr >= 2 * hidden ? m.gRns : m.gRs,
              (long) j * ldd,
              1,
              sr,
              (long) cr * hout,
              hout);
        }
        if (tbW != null) {
          MemorySegment sb = tbW.segment();
          sb.setAtIndex(F, cr, sb.getAtIndex(F, cr) + m.gb[j]);
        }
        if (tbR != null) {
          MemorySegment sb = tbR.segment();
          sb.setAtIndex(F, cr, sb.getAtIndex(F, cr) + (lbr && j >= 2 * hp ? m.gbr[j] : m.gb[j]));
        }
      }
      if (tP != null) {
        MemorySegment sp = tP.segment();
        for (int cr = rank * 3 * hidden / parties; cr < (rank + 1) * 3 * hidden / parties; cr++) {
          int j = cr / hidden * hp + cr % hidden;
          sp.setAtIndex(F, cr, sp.getAtIndex(F, cr) + m.gp[j]);
        }
      }
      if (tWp != null) {
        MemorySegment sw = tWp.segment();
        for (int q = rank * hout / parties; q < (rank + 1) * hout / parties; q++) {
          Elementwise.binaryRun(
              Arith.ADD,
              sw,
              (long) q * hidden,
              1,
              m.gWps,
              (long) q * ldhr,
              1,
              sw,
              (long) q * hidden,
              hidden);
        }
      }
    }

    /**
     * The gradient of layer {@code l}'s input: both directions' dX back in time and batch order
     * (summed), into {@code dLayer} (the gradient of the layer below's output) or, for layer 0,
     * into the gradient of x in the caller's layout.
     */
    private void combineInputGradient(int l, int tid, int size) {
      int in = op.layerInputSize(l);
      int n = batch;
      int t = steps;
      float[] row = rowTmp[tid];
      MemorySegment dxs = l == 0 ? dx.segment() : null;
      for (int tt = tid * t / size; tt < (tid + 1) * t / size; tt++) {
        for (int nn = 0; nn < n; nn++) {
          int i = pos[nn];
          int len = lens[i];
          if (tt >= len) {
            Arrays.fill(row, 0, in, 0f);
          } else {
            for (int d = 0; d < dirs; d++) {
              int k = w[l][d].reverse ? len - 1 - tt : tt;
              float[] src = temp[d].dx;
              int off = (k * n + i) * ldx;
              if (d == 0) {
                System.arraycopy(src, off, row, 0, in);
              } else {
                for (int j = 0; j < in; j++) {
                  row[j] += src[off + j];
                }
              }
            }
          }
          if (l > 0 && layerDrop) { // through the mask on this layer's input
            float[] mask = dropMask[l];
            int o = (tt * n + nn) * in;
            for (int j = 0; j < in; j++) {
              dLayer[o + j] = row[j] * mask[o + j];
            }
          } else if (l > 0) {
            System.arraycopy(row, 0, dLayer, (tt * n + nn) * in, in);
          } else {
            long at = spec.isBatchFirst() ? (long) nn * t + tt : (long) tt * n + nn;
            MemorySegment.copy(row, 0, dxs, F, at * in * 4, in);
          }
        }
      }
    }
  }
}
