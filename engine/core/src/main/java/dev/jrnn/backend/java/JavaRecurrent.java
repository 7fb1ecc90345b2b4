package dev.jrnn.backend.java;

import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.Act;
import dev.jrnn.kernels.Cells;
import dev.jrnn.kernels.PackedWeights;
import dev.jrnn.kernels.Sgemm;
import dev.jrnn.kernels.Simd;
import dev.jrnn.kernels.WorkerPool;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.ExecContext;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * A recurrent layer stack on the Vector API kernels, the way the fastest engines run it:
 *
 * <ol>
 *   <li>one GEMM for the input projection of a chunk of time steps, biases folded in;
 *   <li>per step, the recurrent GEMM (GEMV at batch 1) of the active rows;
 *   <li>per step, one fused pass: activations and state update.
 * </ol>
 *
 * Weights are packed once, here, into gate-interleaved column panels: per block of {@code BW}
 * hidden units all gates of those units sit side by side, so a thread owning a range of blocks
 * computes its gates and its share of h without reading anyone else's columns; a step costs one
 * barrier (two with a projection or a reset-first GRU). The hidden size is padded to whole blocks
 * with zero weights, so no kernel sees a tail in the gate dimension.
 *
 * <p>Ragged batches are sorted by length (longest first), so the rows still running are always a
 * prefix; the reverse direction of a ragged batch runs forward over each row reversed within its
 * length. Both directions of a bidirectional layer run at once on separate thread groups.
 */
final class JavaRecurrent implements CompiledNode {

  private static final int BW = Simd.BW;
  private static final int NR = Sgemm.NR;
  private static final float[] NONE = new float[0];
  private static final Sgemm.Mode ACC = Sgemm.Mode.ACCUMULATE;
  private static final Sgemm.Mode SET = Sgemm.Mode.OVERWRITE;

  /** Floats of input projection computed ahead (the time chunk), bounding scratch memory. */
  private static final int CHUNK_FLOATS = 1 << 21;

  /** Per-step FLOPs below which one more thread costs more in barriers than it saves. */
  private static final long FLOPS_PER_THREAD = 150_000;

  private final Op.RecurrentLayer op;
  private final Recurrent spec;
  private final Recurrent.Cell cell;
  private final int gates; // G
  private final int hidden; // H
  private final int hout; // Hout (projection or H)
  private final int dirs; // D
  private final int blocks; // unit blocks of BW, padded to whole split groups
  private final int hp; // blocks * BW
  private final int group; // blocks per split unit (panel alignment)
  private final int ldg; // gates row stride: packed columns of W
  private final int pp; // projection padded to panels, 0 if none
  private final int hs; // stride of an h row in the sequence buffer
  private final boolean resetFirst; // GRU with linearBeforeReset = false
  private final Dir[][] layers; // [layer][direction]
  private final WorkerPool pool;
  private final float[] zeros; // [hout], for the padding of ragged rows in y
  // Made once: a lambda capturing `this` at the call site would allocate on every call.
  private final java.util.function.Function<Object, Scratch> newScratch = k -> new Scratch();

  /** Packed weights and cell options of one layer and direction. */
  private static final class Dir {
    final boolean reverse;
    final int inSize;
    PackedWeights w; // [inSize -> ldg]
    float[] bias; // [ldg]
    PackedWeights r; // [hout -> ldg] (GRU reset-first: z, r gates only)
    PackedWeights rn; // GRU reset-first: n gate [hout -> hp]
    PackedWeights wp; // projection [hidden -> pp]
    Cells.Lstm lstm;
    Cells.Gru gru;
    Cells.Rnn rnn;

    Dir(boolean reverse, int inSize) {
      this.reverse = reverse;
      this.inSize = inSize;
    }
  }

  /** Packs the weights of {@code node} with {@code packer}. */
  JavaRecurrent(
      Op.RecurrentLayer op,
      String node,
      Map<String, Tensor> weights,
      WorkerPool pool,
      JavaBackend.WeightPacker packer) {
    this.op = op;
    this.spec = op.spec();
    this.cell = spec.cell();
    this.gates = cell.gates();
    this.hidden = spec.hidden();
    this.hout = spec.outputHidden();
    this.dirs = spec.directions();
    this.pool = pool;
    this.resetFirst = cell == Recurrent.Cell.GRU && !spec.isLinearBeforeReset();
    int nv = Sgemm.NV;
    int g = 1;
    for (int width : resetFirst ? new int[] {3, 2, 1} : new int[] {gates}) {
      g = lcm(g, nv / gcd(nv, width));
    }
    this.group = g;
    this.blocks = Simd.roundUp((hidden + BW - 1) / BW, group);
    this.hp = blocks * BW;
    this.ldg = Simd.roundUp(gates * hp, NR);
    this.pp = spec.projection() > 0 ? Simd.roundUp(hout, NR) : 0;
    this.hs = pp > 0 ? pp : hp;
    this.zeros = new float[hout];
    this.layers = new Dir[spec.layers()][dirs];
    for (int l = 0; l < spec.layers(); l++) {
      for (int d = 0; d < dirs; d++) {
        layers[l][d] = pack(node, l, d, weights, packer);
      }
    }
  }

  private Dir pack(
      String node, int l, int d, Map<String, Tensor> weights, JavaBackend.WeightPacker packer) {
    String pre = op.weightPrefix(node, l, d);
    Dir dir = new Dir(op.isReverse(d), op.layerInputSize(l));
    float[] bw = weights.get(pre + "bW").toFloatArray();
    float[] br = weights.get(pre + "bR").toFloatArray();
    int[] all = columns(0, gates, gates);
    dir.w = packer.pack(weights, pre + "W", dir.inSize, all);
    dir.bias = new float[dir.w.columns()];
    boolean lbr = cell == Recurrent.Cell.GRU && spec.isLinearBeforeReset();
    for (int j = 0; j < all.length; j++) {
      int row = all[j];
      if (row >= 0) {
        boolean candidate = cell == Recurrent.Cell.GRU && row >= 2 * hidden;
        dir.bias[j] = bw[row] + (lbr && candidate ? 0f : br[row]);
      }
    }
    if (resetFirst) {
      dir.r = packer.pack(weights, pre + "R", hout, columns(0, 2, 2));
      dir.rn = packer.pack(weights, pre + "R", hout, columns(2, 1, 1));
    } else {
      dir.r = packer.pack(weights, pre + "R", hout, all);
    }
    if (spec.projection() > 0) {
      int[] map = new int[pp];
      for (int j = 0; j < pp; j++) {
        map[j] = j < hout ? j : -1;
      }
      dir.wp = packer.pack(weights, pre + "Wp", hidden, map);
    }
    int dd = d;
    Act f = JavaOps.act(spec.activation(dd, 0));
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
                JavaOps.act(spec.activation(dd, 1)),
                JavaOps.act(spec.activation(dd, 2)),
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
        dir.gru = new Cells.Gru(f, JavaOps.act(spec.activation(dd, 1)), spec.clip(), bn);
      }
      case RNN -> dir.rnn = new Cells.Rnn(f, spec.clip());
    }
    return dir;
  }

  /**
   * Packed column j -> canonical row of W or R for gates {@code [first, first + count)} laid out
   * blocked ({@code count} gates of BW units per block); -1 for padding units.
   */
  private int[] columns(int first, int count, int stride) {
    int[] map = new int[blocks * count * BW];
    for (int j = 0; j < map.length; j++) {
      int b = j / (stride * BW);
      int gate = first + (j % (stride * BW)) / BW;
      int u = b * BW + j % BW;
      map[j] = u < hidden ? gate * hidden + u : -1;
    }
    return map;
  }

  private static int gcd(int a, int b) {
    return b == 0 ? a : gcd(b, a % b);
  }

  private static int lcm(int a, int b) {
    return a / gcd(a, b) * b;
  }

  @Override
  public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
    Scratch s = ctx.cache(this, newScratch);
    boolean bf = spec.isBatchFirst();
    Tensor x = in[Op.RecurrentLayer.X];
    int steps = x.dim(bf ? 1 : 0);
    int batch = x.dim(bf ? 0 : 1);
    s.prepare(steps, batch);
    copyInput(x.segment(), bf, steps, batch, op.inputSize(), s.layerIn);
    s.sortByLength(in[Op.RecurrentLayer.LENGTHS], steps, batch);
    s.h0 = in[Op.RecurrentLayer.H0];
    s.c0 = in.length > Op.RecurrentLayer.C0 ? in[Op.RecurrentLayer.C0] : null;
    s.y = out[Op.RecurrentLayer.Y];
    s.hN = out[Op.RecurrentLayer.HN];
    s.cN = out.length > Op.RecurrentLayer.CN ? out[Op.RecurrentLayer.CN] : null;
    pool.run(s);
    s.h0 = s.c0 = s.y = s.hN = s.cN = null;
  }

  /** x [T, N, I] or [N, T, I] -> time-major float rows. */
  private static void copyInput(
      MemorySegment x, boolean bf, int steps, int batch, int in, float[] dst) {
    if (!bf) {
      MemorySegment.copy(x, ValueLayout.JAVA_FLOAT, 0, dst, 0, steps * batch * in);
      return;
    }
    for (int n = 0; n < batch; n++) {
      for (int t = 0; t < steps; t++) {
        MemorySegment.copy(
            x,
            ValueLayout.JAVA_FLOAT,
            ((long) n * steps + t) * in * 4L,
            dst,
            (t * batch + n) * in,
            in);
      }
    }
  }

  /**
   * Buffers of one call, reused while shapes repeat, and the pool task that runs the stack. One per
   * workspace, so concurrent calls never share one.
   */
  private final class Scratch implements WorkerPool.Task {
    int steps = -1;
    int batch = -1;
    int chunk; // time steps per input-projection chunk
    boolean ragged;
    final int outSize = spec.outputSize();
    float[] layerIn = NONE; // [T·N·I] layer 0 input, time-major
    float[][] layerOut = {NONE, NONE}; // [T·N·C] layer outputs, ping-pong
    float[] sumBuf = NONE; // reverse direction's output when directions are summed
    float[][] xdir = {NONE, NONE}; // [T·N·I_l] sorted/reversed input per direction (ragged)
    float[][] gatesBuf = {NONE, NONE}; // [chunk·N·ldg] input projection + recurrent sums
    float[][] hseq = {NONE, NONE}; // [(T+1)·N·hs] h per processed step; slot 0 = h0
    float[][] cBuf = {NONE, NONE}; // [N·hp]
    float[][] ghBuf = {NONE, NONE}; // GRU: recurrent product [N·ldg] (lbr) or z,r [N·ldzr]
    float[][] rhBuf = {NONE, NONE}; // GRU reset-first: r⊙h, then R_n(r⊙h) in ghn
    float[][] ghnBuf = {NONE, NONE};
    float[][] hraw = {NONE, NONE}; // [N·hp] LSTM output before projection
    int[] order = new int[0]; // sorted position -> batch row
    int[] lens = new int[0]; // sorted position -> length
    int[] active = new int[0]; // step -> rows still running
    Tensor h0;
    Tensor c0;
    Tensor y;
    Tensor hN;
    Tensor cN;

    void prepare(int t, int n) {
      if (t == steps && n == batch) {
        return;
      }
      steps = t;
      batch = n;
      int maxIn = Math.max(op.inputSize(), outSize);
      chunk = Math.max(1, Math.min(t, CHUNK_FLOATS / Math.max(1, n * ldg)));
      layerIn = new float[t * n * op.inputSize()];
      layerOut = new float[][] {new float[t * n * outSize], new float[t * n * outSize]};
      sumBuf = spec.merge() == Recurrent.Merge.SUM && dirs == 2 ? new float[t * n * hout] : NONE;
      int ldzr = Simd.roundUp(2 * hp, NR);
      for (int d = 0; d < dirs; d++) {
        xdir[d] = new float[t * n * maxIn];
        gatesBuf[d] = new float[chunk * n * ldg];
        hseq[d] = new float[(t + 1) * n * hs];
        cBuf[d] = new float[n * hp];
        ghBuf[d] = cell == Recurrent.Cell.GRU ? new float[n * (resetFirst ? ldzr : ldg)] : NONE;
        rhBuf[d] = resetFirst ? new float[n * hp] : NONE;
        ghnBuf[d] = resetFirst ? new float[n * hp] : NONE;
        hraw[d] = pp > 0 ? new float[n * hp] : NONE;
      }
      order = new int[n];
      lens = new int[n];
      active = new int[t];
    }

    /** Stable sort of rows by length, longest first; active[k] = rows with length > k. */
    void sortByLength(Tensor lengths, int t, int n) {
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
      int g0 = split ? size / 2 : size; // threads in group 0
      int myGroup = tid < g0 ? 0 : 1;
      int rank = myGroup == 0 ? tid : tid - g0;
      int parties = myGroup == 0 ? g0 : size - g0;
      for (int l = 0; l < layers.length; l++) {
        float[] input = l == 0 ? layerIn : layerOut[(l - 1) % 2];
        float[] output = layerOut[l % 2];
        if (split) {
          direction(team, myGroup, rank, parties, l, myGroup, input, output);
        } else if (dirs == 2 && size == 1) {
          bothDirections(team, l, input, output);
        } else {
          for (int d = 0; d < dirs; d++) {
            direction(team, 0, rank, parties, l, d, input, output);
          }
        }
        team.barrier();
        if (sumBuf.length > 0) {
          addSum(output, tid, size);
          team.barrier();
        }
      }
      writeY(layerOut[(layers.length - 1) % 2], tid, size);
    }

    /**
     * One layer, one direction, on the {@code parties} threads of group {@code g}. Group barriers
     * use id {@code g}; the per-step barriers among the working threads use {@code 2 + g}, so
     * threads sitting out the step loop never touch them.
     */
    private void direction(
        WorkerPool.Team team,
        int g,
        int rank,
        int parties,
        int l,
        int d,
        float[] input,
        float[] output) {
      long perStep = 2L * batch * ldg * hout;
      int useful = (int) Math.min(Math.max(1, perStep / FLOPS_PER_THREAD), blocks / group);
      int workers = Math.max(1, Math.min(parties, useful));
      if (rank == 0) {
        prepare(l, d, input);
      }
      team.barrier(g, parties);
      if (rank < workers) {
        int groupsTotal = blocks / group;
        int b0 = rank * groupsTotal / workers * group;
        int b1 = (rank + 1) * groupsTotal / workers * group;
        int ppanels = pp / NR;
        int q0 = rank * ppanels / workers;
        int q1 = (rank + 1) * ppanels / workers;
        float[] x = ragged ? xdir[d] : input;
        for (int k = 0; k < steps && active[k] > 0; k++) {
          advance(l, d, k, x, b0, b1, q0, q1, team, 2 + g, workers);
          team.barrier(2 + g, workers);
        }
      }
      team.barrier(g, parties);
      writeDirection(l, d, rank, parties, output);
    }

    /**
     * Both directions of a layer on one thread, in lockstep: step k of one direction does not
     * depend on step k of the other, so the core overlaps their latency chains (measured on W3).
     */
    private void bothDirections(WorkerPool.Team team, int l, float[] input, float[] output) {
      prepare(l, 0, input);
      prepare(l, 1, input);
      float[] x0 = ragged ? xdir[0] : input;
      float[] x1 = ragged ? xdir[1] : input;
      int ppanels = pp / NR;
      for (int k = 0; k < steps && active[k] > 0; k++) {
        advance(l, 0, k, x0, 0, blocks, 0, ppanels, team, 2, 1);
        advance(l, 1, k, x1, 0, blocks, 0, ppanels, team, 3, 1);
      }
      writeDirection(l, 0, 0, 1, output);
      writeDirection(l, 1, 0, 1, output);
    }

    /** The direction's input in processing order (ragged), and its initial state. */
    private void prepare(int l, int d, float[] input) {
      Dir dir = layers[l][d];
      if (ragged) {
        gatherSorted(input, dir.inSize, dir.reverse, xdir[d]);
      }
      initState(l, d);
    }

    /**
     * Step {@code k} of layer {@code l}, direction {@code d}, for unit blocks {@code [b0, b1)} and
     * projection panels {@code [q0, q1)}: projects the next chunk of inputs when k starts one, then
     * runs the recurrent step.
     */
    private void advance(
        int l,
        int d,
        int k,
        float[] x,
        int b0,
        int b1,
        int q0,
        int q1,
        WorkerPool.Team team,
        int stepBarrier,
        int workers) {
      Dir dir = layers[l][d];
      int n = batch;
      int t = steps;
      boolean timeReversed = dir.reverse && !ragged;
      int c0 = k / chunk * chunk;
      int tc = Math.min(chunk, t - c0);
      int chunkStart = timeReversed ? t - c0 - tc : c0;
      float[] gbuf = gatesBuf[d];
      if (k == c0) { // input projection of the next chunk of steps, my columns only
        dir.w.multiply(
            tc * n,
            x,
            chunkStart * n * dir.inSize,
            dir.inSize,
            b0 * gates * BW / NR,
            b1 * gates * BW / NR,
            gbuf,
            0,
            ldg,
            Sgemm.Mode.BIAS,
            dir.bias,
            0,
            false);
      }
      int tIn = timeReversed ? t - 1 - k : k; // time index of step k in the projected chunk
      int gOff = (tIn - chunkStart) * n * ldg;
      int stepRows = n * hs;
      step(
          dir,
          d,
          active[k],
          gbuf,
          gOff,
          hseq[d],
          k * stepRows, // h of step k-1 (slot 0 = h0)
          (k + 1) * stepRows,
          b0,
          b1,
          q0,
          q1,
          team,
          stepBarrier,
          workers,
          (k & 1) == 1);
    }

    /** One time step for {@code rows} rows: recurrent GEMM(s), fused pass, projection. */
    private void step(
        Dir dir,
        int d,
        int rows,
        float[] gbuf,
        int gOff,
        float[] hsq,
        int prev,
        int next,
        int b0,
        int b1,
        int q0,
        int q1,
        WorkerPool.Team team,
        int stepBarrier,
        int workers,
        boolean zigzag) {
      float[] hTarget = pp > 0 ? hraw[d] : hsq;
      int hOff = pp > 0 ? 0 : next;
      int ldh = pp > 0 ? hp : hs;
      switch (cell) {
        case LSTM -> {
          recurrentGemm(rows, hsq, prev, dir.r, 4, b0, b1, gbuf, gOff, ldg, ACC, zigzag);
          Cells.lstmPostGemmForward(
              gbuf, gOff, ldg, cBuf[d], hp, hTarget, hOff, ldh, rows, b0, b1, dir.lstm);
        }
        case RNN -> {
          recurrentGemm(rows, hsq, prev, dir.r, 1, b0, b1, gbuf, gOff, ldg, ACC, zigzag);
          Cells.rnnPostGemmForward(gbuf, gOff, ldg, hTarget, hOff, ldh, rows, b0, b1, dir.rnn);
        }
        case GRU -> {
          float[] gh = ghBuf[d];
          if (!resetFirst) {
            recurrentGemm(rows, hsq, prev, dir.r, 3, b0, b1, gh, 0, ldg, SET, zigzag);
            Cells.gruPostGemmForwardLbr(
                gbuf, gOff, ldg, gh, ldg, hsq, prev, hs, hTarget, hOff, ldh, rows, b0, b1, dir.gru);
          } else {
            int ldzr = Simd.roundUp(2 * hp, NR);
            recurrentGemm(rows, hsq, prev, dir.r, 2, b0, b1, gh, 0, ldzr, SET, zigzag);
            Cells.gruResetHidden(
                gbuf, gOff, ldg, gh, ldzr, hsq, prev, hs, rhBuf[d], hp, rows, b0, b1, dir.gru);
            team.barrier(stepBarrier, workers); // R_n needs all of r⊙h
            // R_n reads r⊙h [N, hp] instead of h
            dir.rn.multiply(
                rows,
                rhBuf[d],
                0,
                hp,
                b0 * BW / NR,
                b1 * BW / NR,
                ghnBuf[d],
                0,
                hp,
                SET,
                null,
                0,
                zigzag);
            Cells.gruPostGemmForwardResetFirst(
                gbuf, gOff, ldg, gh, ldzr, ghnBuf[d], hp, hsq, prev, hs, hTarget, hOff, ldh, rows,
                b0, b1, dir.gru);
          }
        }
      }
      if (pp > 0) {
        team.barrier(stepBarrier, workers); // the projection needs all of h before it
        dir.wp.multiply(
            rows, hraw[d], 0, hp, q0, q1, hsq, next, hs, Sgemm.Mode.OVERWRITE, null, 0, false);
      }
    }

    /**
     * The recurrent product of h (rows at {@code hOff}) for unit blocks {@code [b0, b1)} of a
     * weight whose blocks hold {@code width} gates each.
     */
    private void recurrentGemm(
        int rows,
        float[] h,
        int hOff,
        PackedWeights r,
        int width,
        int b0,
        int b1,
        float[] c,
        int cOff,
        int ldc,
        Sgemm.Mode mode,
        boolean zigzag) {
      r.multiply(
          rows,
          h,
          hOff,
          hs,
          b0 * width * BW / NR,
          b1 * width * BW / NR,
          c,
          cOff,
          ldc,
          mode,
          null,
          0,
          zigzag);
    }

    /** Layer input rows in sorted order, each reversed within its length for reverse. */
    private void gatherSorted(float[] in, int width, boolean reverse, float[] dst) {
      int n = batch;
      for (int k = 0; k < steps; k++) {
        for (int i = 0; i < n; i++) {
          int len = lens[i];
          int to = (k * n + i) * width;
          if (k >= len) {
            java.util.Arrays.fill(dst, to, to + width, 0f);
          } else {
            int tt = reverse ? len - 1 - k : k;
            System.arraycopy(in, (tt * n + order[i]) * width, dst, to, width);
          }
        }
      }
    }

    /** h0 and c0 (or zeros) into slot 0 of the sequence buffer and the cell buffer, sorted. */
    private void initState(int l, int d) {
      int n = batch;
      int s = l * dirs + d;
      float[] hsq = hseq[d];
      float[] c = cBuf[d];
      java.util.Arrays.fill(hsq, 0, n * hs, 0f);
      java.util.Arrays.fill(c, 0f);
      for (int i = 0; i < n; i++) {
        long row = (long) s * n + order[i];
        if (h0 != null) {
          MemorySegment.copy(
              h0.segment(), ValueLayout.JAVA_FLOAT, row * hout * 4, hsq, i * hs, hout);
        }
        if (c0 != null) {
          MemorySegment.copy(
              c0.segment(), ValueLayout.JAVA_FLOAT, row * hidden * 4, c, i * hp, hidden);
        }
      }
    }

    /** Scatters the direction's h sequence into the layer output and its final states out. */
    private void writeDirection(int l, int d, int rank, int parties, float[] output) {
      boolean reversedRows = ragged && layers[l][d].reverse;
      int n = batch;
      int t = steps;
      boolean sumSecond = sumBuf.length > 0 && d == 1;
      float[] dst = sumSecond ? sumBuf : output;
      int width = sumSecond ? hout : outSize;
      int colOff = spec.merge() == Recurrent.Merge.CONCAT ? d * hout : 0;
      if (sumSecond) {
        colOff = 0;
      }
      float[] hsq = hseq[d];
      boolean timeReversed = layers[l][d].reverse && !ragged;
      // The last layer goes straight into y (unless the directions are summed first).
      boolean direct = l == layers.length - 1 && y != null && sumBuf.length == 0;
      MemorySegment ys = direct ? y.segment() : null;
      boolean bf = spec.isBatchFirst();
      for (int k = rank * t / parties; k < (rank + 1) * t / parties; k++) {
        for (int i = 0; i < n; i++) {
          int len = lens[i];
          int row = order[i];
          int from = (k + 1) * n * hs + i * hs;
          if (k < len) {
            int tt = reversedRows ? len - 1 - k : (timeReversed ? t - 1 - k : k);
            if (direct) {
              long at = (bf ? (long) row * t + tt : (long) tt * n + row) * width + colOff;
              MemorySegment.copy(hsq, from, ys, ValueLayout.JAVA_FLOAT, at * 4, hout);
            } else {
              System.arraycopy(hsq, from, dst, (tt * n + row) * width + colOff, hout);
            }
          } else if (direct) { // past the row's length the output is zero
            long at = (bf ? (long) row * t + k : (long) k * n + row) * width + colOff;
            MemorySegment.copy(zeros, 0, ys, ValueLayout.JAVA_FLOAT, at * 4, hout);
          } else {
            int to = (k * n + row) * width + colOff;
            java.util.Arrays.fill(dst, to, to + hout, 0f);
          }
        }
      }
      if (rank == 0) {
        int s = l * dirs + d;
        for (int i = 0; i < n; i++) {
          long at = (long) s * n + order[i];
          if (hN != null) {
            MemorySegment.copy(
                hsq,
                lens[i] * n * hs + i * hs,
                hN.segment(),
                ValueLayout.JAVA_FLOAT,
                at * hout * 4,
                hout);
          }
          if (cN != null) {
            MemorySegment.copy(
                cBuf[d], i * hp, cN.segment(), ValueLayout.JAVA_FLOAT, at * hidden * 4, hidden);
          }
        }
      }
    }

    private void addSum(float[] output, int tid, int size) {
      int total = steps * batch;
      for (int r = tid * total / size; r < (tid + 1) * total / size; r++) {
        for (int j = 0; j < hout; j++) {
          output[r * hout + j] += sumBuf[r * hout + j];
        }
      }
    }

    /** The last layer's output into y, in the caller's layout. */
    private void writeY(float[] last, int tid, int size) {
      if (y == null || sumBuf.length == 0) {
        return; // written directly by writeDirection
      }
      MemorySegment seg = y.segment();
      int n = batch;
      int c = outSize;
      if (!spec.isBatchFirst()) {
        int total = steps * n;
        int r0 = tid * total / size;
        int r1 = (tid + 1) * total / size;
        MemorySegment.copy(
            last, r0 * c, seg, ValueLayout.JAVA_FLOAT, (long) r0 * c * 4, (r1 - r0) * c);
        return;
      }
      for (int t = tid * steps / size; t < (tid + 1) * steps / size; t++) {
        for (int i = 0; i < n; i++) {
          MemorySegment.copy(
              last,
              (t * n + i) * c,
              seg,
              ValueLayout.JAVA_FLOAT,
              ((long) i * steps + t) * c * 4,
              c);
        }
      }
    }
  }
}
