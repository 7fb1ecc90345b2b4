package dev.jrnn.opencl;

import dev.jrnn.Activation;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.DropoutMask;
import dev.jrnn.spi.DropoutStreams;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.TrainableNode;
import java.util.Arrays;
import java.util.Map;
import org.jocl.cl_mem;

/**
 * A recurrent stack on the device. Per layer and direction: one tiled GEMM for the input projection
 * of all timesteps ({@code G = X·Wᵀ + bW}), then per step the recurrent GEMM ({@code HR = h·Rᵀ +
 * bR}) and one fused post-GEMM kernel (activations, state update, output write): 2 launches per
 * step, 3 with LSTM projection (+ {@code hraw·Wpᵀ} and its output kernel), 4 for GRU with the reset
 * gate before the product. At small batch, inference of LSTM without projection, GRU with
 * linearBeforeReset and RNN runs 1 launch per step instead, the product and the cell update fused
 * ({@link #fusedStep}). With {@code -Djrnn.opencl.persistent=true}, LSTM without projection, GRU
 * (both variants) and RNN run 1 launch per layer and direction for the whole sequence instead
 * ({@link #persistent}). The stack's weights sit in one buffer uploaded at compile; h and c stay on
 * the device for the whole call; y, hN and cN are read back when asked for.
 *
 * <p>Training ({@link #forward}): the same launches, per-step (never persistent), keeping per layer
 * and direction G, each step's HR, the states before each step and each layer's output in lane
 * buffers named for this node; {@link ClRecurrentBackward} runs backward from them. Dropout inside
 * the stack draws java's masks ({@link DropoutStreams}) on the device: between layers, the next
 * layer reads (and keeps) its input masked (dropoutSequence, 1 launch per layer); recurrent dropout
 * keeps each step's {@code m ⊙ h(t−1)}, which the recurrent products (and GRU's reset {@code r ⊙
 * h}) read instead of h (recurrentDropout, 1 more launch per step).
 */
final class ClRecurrent implements TrainableNode {

  final OpenClContext owner;
  final Op.RecurrentLayer op;
  final Recurrent spec;
  final String node;
  final cl_mem weights;
  // The backward's operands, same offsets: Wᵀ [I, G·H], Rᵀ [Hout, G·H], Wpᵀ [H, Pr] (Rᵀ is also
  // what the persistent kernels read); null when compiled for inference, not persistent.
  final cl_mem transposed;
  // Per slot (layer · directions + direction): offsets in floats of W, R, bW, bR, P, Wp.
  final int[][] offsets;
  private final int total; // floats in the weight buffer
  static final String[] NAMES = {"W", "R", "bW", "bR", "P", "Wp"};
  final int[][] acts; // per direction slot: kind ordinals of the cell's activations
  final float[][] actParams; // per direction slot: alpha, beta of each
  private final boolean persistent = Boolean.getBoolean("jrnn.opencl.persistent");
  // Whether the persistent kernels read R transposed (coalesced across work-items: GPUs) or as
  // it is (each work-item's row contiguous: CPU devices); -Djrnn.opencl.persistentLayout=
  // transposed|rows overrides (read at compile).
  private final boolean persistentTransposed;
  // -Djrnn.opencl.fused=auto|true|false (read at compile): the one-launch step of fusedStep.
  private final String fused = System.getProperty("jrnn.opencl.fused", "auto");

  /**
   * The largest batch that runs the fused step by default (see {@link #fusedStep}): on PoCL (2
   * cores, LSTM H=I=256, T=128) it beat the GEMM + post-GEMM pair at every N measured, 1 to 32
   * (N=32: 335 against 444 ms), so 32 on CPU devices; 8 on GPUs, where the tiled GEMM should win
   * sooner (not yet measured there).
   */
  private int fusedMaxBatch() {
    return owner.dev.gpu ? 8 : 32;
  }

  ClRecurrent(OpenClContext owner, Op.RecurrentLayer op, String node, Map<String, Tensor> w) {
    this(owner, op, node, w, false);
  }

  ClRecurrent(
      OpenClContext owner,
      Op.RecurrentLayer op,
      String node,
      Map<String, Tensor> w,
      boolean training) {
    this.owner = owner;
    this.persistentTransposed =
        System.getProperty("jrnn.opencl.persistentLayout", owner.dev.gpu ? "transposed" : "rows")
            .equals("transposed");
    this.op = op;
    this.spec = op.spec();
    this.node = node;
    int slots = spec.layers() * spec.directions();
    offsets = new int[slots][6];
    long total = 0;
    for (int l = 0; l < spec.layers(); l++) {
      for (int d = 0; d < spec.directions(); d++) {
        int s = l * spec.directions() + d;
        for (int k = 0; k < NAMES.length; k++) {
          Tensor t = w.get(op.weightPrefix(node, l, d) + NAMES[k]);
          offsets[s][k] = (int) total;
          if (t != null) {
            total += t.size();
          }
        }
      }
    }
    if (total * 4 > owner.dev.globalMemory || total > Integer.MAX_VALUE) {
      throw new IllegalStateException(
          "the weights of '"
              + node
              + "' ("
              + total * 4 / (1 << 20)
              + " MiB) do not fit the opencl device's memory ("
              + owner.dev.globalMemory / (1 << 20)
              + " MiB)");
    }
    this.total = (int) total;
    weights = owner.weights(pack(w, false));
    boolean persistable = spec.cell() != Recurrent.Cell.LSTM || spec.projection() == 0;
    boolean persistentRt = persistent && persistable && persistentTransposed;
    transposed = training || persistentRt ? owner.weights(pack(w, true)) : null;
    int dirs = spec.directions();
    acts = new int[dirs][3];
    actParams = new float[dirs][6];
    int n = spec.cell().activationCount();
    for (int d = 0; d < dirs; d++) {
      for (int k = 0; k < 3; k++) {
        Activation a = spec.activation(d, Math.min(k, n - 1));
        acts[d][k] = a.kind().ordinal();
        actParams[d][2 * k] = a.alpha();
        actParams[d][2 * k + 1] = a.beta();
      }
    }
  }

  /**
   * The stack's weights in one array at {@link #offsets}; {@code transpose}: W, R and Wp transposed
   * (the backward GEMMs' B operands).
   */
  private float[] pack(Map<String, Tensor> w, boolean transpose) {
    float[] packed = new float[total];
    for (int l = 0; l < spec.layers(); l++) {
      for (int d = 0; d < spec.directions(); d++) {
        int s = l * spec.directions() + d;
        for (int k = 0; k < NAMES.length; k++) {
          Tensor t = w.get(op.weightPrefix(node, l, d) + NAMES[k]);
          if (t == null) {
            continue;
          }
          float[] v = t.toFloatArray();
          boolean matrix = k == 0 || k == 1 || k == 5;
          if (transpose && matrix) {
            int rows = t.dim(0);
            int cols = t.dim(1);
            for (int i = 0; i < rows; i++) {
              for (int j = 0; j < cols; j++) {
                packed[offsets[s][k] + j * rows + i] = v[i * cols + j];
              }
            }
          } else {
            System.arraycopy(v, 0, packed, offsets[s][k], v.length);
          }
        }
      }
    }
    return packed;
  }

  @Override
  public void updateWeights(Map<String, Tensor> w) {
    owner.write(weights, pack(w, false));
    if (transposed != null) {
      owner.write(transposed, pack(w, true));
    }
  }

  @Override
  public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
    Lane lane = owner.lane(ctx);
    long generation = lane.bump(node);
    long stream = spec.hasDropout() ? DropoutStreams.node(ctx, node) : 0;
    pass(in, out, lane, true, stream);
    Tensor x = in[Op.RecurrentLayer.X];
    boolean bf = spec.isBatchFirst();
    return new ClRecurrentBackward.Pass(
        this, lane, generation, x.dim(bf ? 1 : 0), x.dim(bf ? 0 : 1), stream);
  }

  /** Whether a training pass masks each upper layer's input (dropout between layers). */
  boolean layerDropout() {
    return spec.dropout() > 0 && spec.layers() > 1;
  }

  /** Whether a training pass masks h(t−1) where the recurrent products read it. */
  boolean recurrentDropout() {
    return spec.recurrentDropout() > 0;
  }

  /**
   * {@code to = from ⊙ m} (in place allowed) for a sequence {@code [T·N, width]} in the stack's
   * layout, m the mask on layer {@code l}'s input ({@link DropoutStreams#betweenLayers}).
   */
  void dropBetweenLayers(
      Lane lane, long stream, int l, int steps, int batch, cl_mem from, cl_mem to) {
    float p = spec.dropout();
    lane.launch(
        "dropoutSequence",
        new long[] {spec.outputSize(), (long) steps * batch},
        null,
        steps,
        batch,
        spec.outputSize(),
        spec.isBatchFirst() ? 1 : 0,
        DropoutStreams.betweenLayers(stream, l),
        ClOpsTraining.threshold(p),
        DropoutMask.scale(p),
        from,
        to);
  }

  /**
   * {@code dst[offDst..] (+)= src[offSrc..] ⊙ m} over {@code [N, Hout]}, m recurrent dropout's mask
   * of slot stream {@code slotStream} ({@link DropoutStreams#recurrent}).
   */
  void dropRecurrent(
      Lane lane,
      long slotStream,
      int batch,
      cl_mem src,
      int offSrc,
      cl_mem dst,
      int offDst,
      boolean add) {
    float p = spec.recurrentDropout();
    int hout = spec.outputHidden();
    lane.launch(
        "recurrentDropout",
        new long[] {hout, batch},
        null,
        batch,
        hout,
        slotStream,
        ClOpsTraining.threshold(p),
        DropoutMask.scale(p),
        src,
        offSrc,
        dst,
        offDst,
        add ? 1 : 0);
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
    ClRecurrentBackward.run(this, saved, in, gradOut, gradIn, gradWeights);
  }

  /** A lane buffer the training forward keeps for backward: named for this node. */
  cl_mem kept(Lane lane, String what, int slot, long bytes) {
    return lane.buffer(node + "#" + what + slot, bytes);
  }

  @Override
  public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
    pass(in, out, owner.lane(ctx), false, 0);
  }

  /**
   * A pass; {@code training}: keeps what backward reads and draws the dropout of {@code stream}.
   */
  private void pass(Tensor[] in, Tensor[] out, Lane lane, boolean training, long stream) {
    Tensor x = in[Op.RecurrentLayer.X];
    Tensor lengths = in[Op.RecurrentLayer.LENGTHS];
    Tensor h0 = in.length > Op.RecurrentLayer.H0 ? in[Op.RecurrentLayer.H0] : null;
    Tensor c0 = in.length > Op.RecurrentLayer.C0 ? in[Op.RecurrentLayer.C0] : null;
    Tensor yOut = out[Op.RecurrentLayer.Y];
    Tensor hOut = out[Op.RecurrentLayer.HN];
    Tensor cOut = out.length > Op.RecurrentLayer.CN ? out[Op.RecurrentLayer.CN] : null;
    boolean bf = spec.isBatchFirst();
    int steps = x.dim(bf ? 1 : 0);
    int batch = x.dim(bf ? 0 : 1);
    if (steps == 0 || batch == 0) {
      // Nothing to run: the final states are the initial ones.
      initialOrZero(h0, hOut);
      initialOrZero(c0, cOut);
      return;
    }
    boolean lstm = spec.cell() == Recurrent.Cell.LSTM;
    int hid = spec.hidden();
    int hout = spec.outputHidden();
    int gh = spec.cell().gates() * hid;
    int width = spec.outputSize();
    int dirs = spec.directions();
    int slots = spec.layers() * dirs;
    long rows = (long) steps * batch;
    if (rows * Math.max(gh, width) > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "T·N·G·H = " + rows * gh + " elements exceeds the opencl kernels' int indexing");
    }
    try {
      int[] len = new int[batch];
      if (lengths != null) {
        len = lengths.toIntArray();
      } else {
        Arrays.fill(len, steps);
      }
      cl_mem lenBuf = lane.buffer("len", batch * 4L);
      lane.upload(len, lenBuf);
      cl_mem xBuf = lane.buffer("x", x.byteSize());
      lane.upload(x, xBuf, 0);
      cl_mem hs = lane.buffer("h", (long) slots * batch * hout * 4);
      cl_mem cs = lstm ? lane.buffer("c", (long) slots * batch * hid * 4) : null;
      initState(lane, h0, hs, (long) slots * batch * hout * 4);
      if (lstm) {
        initState(lane, c0, cs, (long) slots * batch * hid * 4);
      }
      cl_mem g = lane.buffer("gates", rows * gh * 4);
      cl_mem hr = lane.buffer("recurrent", (long) batch * gh * 4);
      boolean fuse = !training && fusedStep(batch);
      cl_mem hAlt = fuse ? lane.buffer("hAlt", (long) slots * batch * hout * 4) : null;
      cl_mem[] ys = {lane.buffer("y0", rows * width * 4), lane.buffer("y1", rows * width * 4)};
      Step step = new Step(lane, lenBuf, g, hr, hs, hAlt, cs, steps, batch, bf);
      cl_mem[] layerOut = new cl_mem[spec.layers()];
      boolean recDrop = training && recurrentDropout();
      for (int l = 0; l < spec.layers(); l++) {
        cl_mem input = l == 0 ? xBuf : layerOut[l - 1];
        if (l > 0 && training && layerDropout()) { // the layer reads (and backward keeps) x ⊙ m
          cl_mem dropped = kept(lane, "Xd", l, rows * width * 4);
          dropBetweenLayers(lane, stream, l, steps, batch, input, dropped);
          input = dropped;
        }
        int inSize = op.layerInputSize(l);
        cl_mem y = training ? kept(lane, "Y", l, rows * width * 4) : ys[l & 1];
        layerOut[l] = y;
        for (int d = 0; d < dirs; d++) {
          int s = l * dirs + d;
          int[] o = offsets[s];
          if (training) {
            g = kept(lane, "G", s, rows * gh * 4);
            step.g = g;
          }
          // G [T·N, G·H] = X [T·N, I] · Wᵀ + bW: every timestep's input projection at once.
          lane.gemm(
              (int) rows,
              gh,
              inSize,
              input,
              0,
              inSize,
              weights,
              o[0],
              inSize,
              g,
              0,
              gh,
              weights,
              o[2],
              false);
          boolean concat = dirs == 2 && spec.merge() == Recurrent.Merge.CONCAT;
          step.direction(
              s,
              d,
              op.isReverse(d),
              y,
              width,
              concat ? d * hout : 0,
              dirs == 2 && !concat && d == 1);
          if (training) {
            // What backward reads: h and c before each step, each step's HR, c after the last.
            long hBytes = (long) batch * hout * 4;
            long cBytes = (long) batch * hid * 4;
            long rBytes = (long) batch * gh * 4;
            cl_mem hKept = kept(lane, "Hs", s, steps * hBytes);
            cl_mem cKept = lstm ? kept(lane, "Cs", s, (steps + 1) * cBytes) : null;
            cl_mem rKept = kept(lane, "HR", s, steps * rBytes);
            // Recurrent dropout: m ⊙ h before each step, what the recurrent products read.
            cl_mem hmKept = recDrop ? kept(lane, "Hm", s, steps * hBytes) : null;
            long slotStream = recDrop ? DropoutStreams.recurrent(stream, l, d) : 0;
            step.hm = hmKept;
            for (int k = 0; k < steps; k++) {
              lane.copy(hs, s * hBytes, hKept, k * hBytes, hBytes);
              if (lstm) {
                lane.copy(cs, s * cBytes, cKept, k * cBytes, cBytes);
              }
              if (recDrop) {
                int at = k * batch * hout;
                dropRecurrent(lane, slotStream, batch, hs, s * batch * hout, hmKept, at, false);
              }
              step.run(k);
              lane.copy(hr, 0, rKept, k * rBytes, rBytes);
            }
            if (lstm) {
              lane.copy(cs, s * cBytes, cKept, steps * cBytes, cBytes);
            }
          } else if (persistent(batch)) {
            step.persistent();
          } else if (fuse) {
            for (int k = 0; k < steps; k++) {
              step.fused(k);
            }
            if ((steps & 1) == 1) {
              // The last step wrote hAlt: bring the slot's state back to hs.
              long hBytes = (long) batch * hout * 4;
              lane.copy(hAlt, s * hBytes, hs, s * hBytes, hBytes);
            }
          } else {
            for (int k = 0; k < steps; k++) {
              step.run(k);
            }
          }
        }
      }
      if (yOut != null) {
        lane.download(layerOut[spec.layers() - 1], 0, yOut);
      }
      if (hOut != null) {
        lane.download(hs, 0, hOut);
      }
      if (cOut != null) {
        lane.download(cs, 0, cOut);
      }
    } finally {
      lane.finish();
    }
  }

  /**
   * Whether a layer and direction runs as one persistent launch of one work-group (no device-wide
   * barrier, so no assumption on which work-groups run together): with {@code
   * -Djrnn.opencl.persistent=true} (read at compile), for LSTM without projection, GRU of either
   * variant and RNN, when what the kernel stages in local memory ({@link #persistentLocalBytes})
   * takes at most half the device's. Else per-step launches. Off by default: on PoCL one work-group
   * runs on one core, and at N=1 T=128 I=H=256 (2 loaded cores) per-step was faster for LSTM (42
   * against 125 ms median), GRU linear-before-reset (14 against 80 ms) and RNN (9 against 14 ms),
   * about even for GRU reset-first (93 against 82 ms, 513 launches against 2). At W3's
   * bidirectional H=32, N=1, T=200 it went the other way (2.3 against 19 ms: launches dominate), so
   * a choice by N·H may pay; left until GPU figures exist (gpu-check.sh measures both).
   */
  private boolean persistent(int batch) {
    return persistent
        && (spec.cell() != Recurrent.Cell.LSTM || spec.projection() == 0)
        && persistentLocalBytes(batch) <= owner.dev.localMemory / 2;
  }

  /** Local memory a persistent kernel stages: h [N, H], and r ⊙ h for GRU with reset first. */
  private long persistentLocalBytes(int batch) {
    boolean resetFirst = spec.cell() == Recurrent.Cell.GRU && !spec.isLinearBeforeReset();
    return (long) batch * spec.hidden() * 4 * (resetFirst ? 2 : 1);
  }

  /**
   * Whether inference runs one fused launch per step (lstmStepFused, gruLbrStepFused, rnnStepFused)
   * instead of the recurrent GEMM and the post-GEMM kernel: for LSTM without projection, GRU with
   * linearBeforeReset and RNN (the others need all of a step's h·Rᵀ or r ⊙ h before their cell
   * update), at batch ≤ {@link #fusedMaxBatch} unless {@code -Djrnn.opencl.fused=true|false} says
   * always or never.
   */
  private boolean fusedStep(int batch) {
    boolean covered =
        switch (spec.cell()) {
          case LSTM -> spec.projection() == 0;
          case GRU -> spec.isLinearBeforeReset();
          case RNN -> true;
        };
    return covered
        && switch (fused) {
          case "true" -> true;
          case "false" -> false;
          default -> batch <= fusedMaxBatch();
        };
  }

  private static void initState(Lane lane, Tensor init, cl_mem state, long bytes) {
    if (init != null) {
      lane.upload(init, state, 0);
    } else {
      lane.zero(state, 0, bytes);
    }
  }

  private static void initialOrZero(Tensor init, Tensor out) {
    if (out == null) {
      return;
    }
    if (init != null) {
      out.copyFrom(init);
    } else {
      out.zero();
    }
  }

  /** One layer and direction's step: its recurrent GEMM(s) and fused cell kernel(s). */
  private final class Step {
    final Lane lane;
    final cl_mem len;
    cl_mem g;
    final cl_mem hr;
    final cl_mem hs;
    final cl_mem hAlt; // the fused step's second h buffer (null on the other paths)
    final cl_mem cs;
    cl_mem hm; // recurrent dropout: [T, N, Hout], m ⊙ h before each step (null: none)
    final int steps;
    final int batch;
    final int bf;
    int slot;
    int dir;
    int reverse;
    cl_mem y;
    int ldy;
    int offY;
    int accumulate;

    Step(
        Lane lane,
        cl_mem len,
        cl_mem g,
        cl_mem hr,
        cl_mem hs,
        cl_mem hAlt,
        cl_mem cs,
        int steps,
        int batch,
        boolean bf) {
      this.lane = lane;
      this.len = len;
      this.g = g;
      this.hr = hr;
      this.hs = hs;
      this.hAlt = hAlt;
      this.cs = cs;
      this.steps = steps;
      this.batch = batch;
      this.bf = bf ? 1 : 0;
    }

    void direction(
        int slot, int dir, boolean reverse, cl_mem y, int ldy, int offY, boolean accumulate) {
      this.slot = slot;
      this.dir = dir;
      this.reverse = reverse ? 1 : 0;
      this.y = y;
      this.ldy = ldy;
      this.offY = offY;
      this.accumulate = accumulate ? 1 : 0;
    }

    /**
     * The whole sequence in one launch of one work-group: lstmPersistentForward,
     * gruLbrPersistentForward, gruPersistentForward (reset first) or rnnPersistentForward.
     */
    void persistent() {
      int hid = spec.hidden();
      int[] o = offsets[slot];
      int[] a = acts[dir];
      float[] p = actParams[dir];
      int offH = slot * batch * hid;
      float clip = spec.hasClip() ? spec.clip() : 0f;
      Lane.LocalBytes hl = new Lane.LocalBytes((long) batch * hid * 4);
      switch (spec.cell()) {
        case LSTM -> {} // below
        case GRU -> {
          boolean lbr = spec.isLinearBeforeReset();
          String kernel = lbr ? "gruLbrPersistentForward" : "gruPersistentForward";
          long[] wg = persistentGroup(kernel);
          Object[] args = {
            batch,
            hid,
            steps,
            reverse,
            bf,
            len,
            g,
            weights,
            persistentTransposed ? transposed : weights,
            o[1],
            persistentTransposed ? 1 : 0,
            o[3],
            hs,
            offH,
            y,
            ldy,
            offY,
            accumulate,
            clip,
            a[0],
            p[0],
            p[1],
            a[1],
            p[2],
            p[3],
            hl,
            hl // reset first: r ⊙ h, as large as h
          };
          lane.launch(kernel, wg, wg, lbr ? Arrays.copyOf(args, args.length - 1) : args);
          return;
        }
        case RNN -> {
          long[] wg = persistentGroup("rnnPersistentForward");
          lane.launch(
              "rnnPersistentForward",
              wg,
              wg,
              batch,
              hid,
              steps,
              reverse,
              bf,
              len,
              g,
              weights,
              persistentTransposed ? transposed : weights,
              o[1],
              persistentTransposed ? 1 : 0,
              o[3],
              hs,
              offH,
              y,
              ldy,
              offY,
              accumulate,
              clip,
              a[0],
              p[0],
              p[1],
              hl);
          return;
        }
      }
      long[] wg = persistentGroup("lstmPersistentForward");
      lane.launch(
          "lstmPersistentForward",
          wg,
          wg,
          batch,
          hid,
          steps,
          reverse,
          bf,
          len,
          g,
          weights,
          persistentTransposed ? transposed : weights,
          o[1],
          persistentTransposed ? 1 : 0,
          o[3],
          cs,
          offH,
          hs,
          offH,
          y,
          ldy,
          offY,
          accumulate,
          o[4],
          spec.hasPeepholes() ? 1 : 0,
          spec.isCoupledInputForget() ? 1 : 0,
          clip,
          a[0],
          p[0],
          p[1],
          a[1],
          p[2],
          p[3],
          a[2],
          p[4],
          p[5],
          hl);
    }

    /**
     * A persistent kernel's one work-group: N·H rounded up to a power of two in [64, 1024] (whole
     * warps and wavefronts; few distinct sizes, since PoCL compiles a kernel per work-group size),
     * within the kernel's and device's limits. Work-items past N·H only join the barriers.
     */
    private long[] persistentGroup(String kernel) {
      long cells = (long) batch * spec.hidden();
      long size = Math.min(1024, Math.max(64, Long.highestOneBit(Math.max(1, cells - 1)) << 1));
      return new long[] {lane.workGroup(kernel, size)};
    }

    /** Step k in one launch: h(t-1) from hs (k even) or hAlt, h(t) into the other. */
    void fused(int k) {
      int hid = spec.hidden();
      int[] o = offsets[slot];
      int offH = slot * batch * hid;
      float clip = spec.hasClip() ? spec.clip() : 0f;
      int[] a = acts[dir];
      float[] p = actParams[dir];
      cl_mem in = (k & 1) == 0 ? hs : hAlt;
      cl_mem out = (k & 1) == 0 ? hAlt : hs;
      long[] units = {hid, (batch + 3) / 4};
      switch (spec.cell()) {
        case LSTM ->
            lane.launch(
                "lstmStepFused",
                units,
                null,
                batch,
                hid,
                steps,
                k,
                reverse,
                bf,
                len,
                g,
                weights,
                o[1],
                o[3],
                cs,
                slot * batch * hid,
                in,
                out,
                offH,
                y,
                ldy,
                offY,
                accumulate,
                o[4],
                spec.hasPeepholes() ? 1 : 0,
                spec.isCoupledInputForget() ? 1 : 0,
                clip,
                a[0],
                p[0],
                p[1],
                a[1],
                p[2],
                p[3],
                a[2],
                p[4],
                p[5]);
        case GRU ->
            lane.launch(
                "gruLbrStepFused",
                units,
                null,
                batch,
                hid,
                steps,
                k,
                reverse,
                bf,
                len,
                g,
                weights,
                o[1],
                o[3],
                in,
                out,
                offH,
                y,
                ldy,
                offY,
                accumulate,
                clip,
                a[0],
                p[0],
                p[1],
                a[1],
                p[2],
                p[3]);
        case RNN ->
            lane.launch(
                "rnnStepFused",
                units,
                null,
                batch,
                hid,
                steps,
                k,
                reverse,
                bf,
                len,
                g,
                weights,
                o[1],
                o[3],
                in,
                out,
                offH,
                y,
                ldy,
                offY,
                accumulate,
                clip,
                a[0],
                p[0],
                p[1]);
      }
    }

    void run(int k) {
      int hid = spec.hidden();
      int hout = spec.outputHidden();
      int gh = spec.cell().gates() * hid;
      int[] o = offsets[slot];
      int offH = slot * batch * hout;
      // What the recurrent products read: h, or m ⊙ h under recurrent dropout.
      cl_mem hr0 = hm != null ? hm : hs;
      int offR0 = hm != null ? k * batch * hout : offH;
      float clip = spec.hasClip() ? spec.clip() : 0f;
      int[] a = acts[dir];
      float[] p = actParams[dir];
      long[] cells = {hid, batch};
      switch (spec.cell()) {
        case LSTM -> {
          lane.gemm(
              batch, gh, hout, hr0, offR0, hout, weights, o[1], hout, hr, 0, gh, weights, o[3],
              false);
          boolean project = spec.projection() > 0;
          cl_mem hraw = project ? lane.buffer("hraw", (long) batch * hid * 4) : hr;
          lane.launch(
              "lstmPostGemmForward",
              cells,
              null,
              batch,
              hid,
              steps,
              k,
              reverse,
              bf,
              len,
              g,
              hr,
              cs,
              slot * batch * hid,
              hs,
              offH,
              hraw,
              y,
              ldy,
              offY,
              accumulate,
              project ? 1 : 0,
              weights,
              o[4],
              spec.hasPeepholes() ? 1 : 0,
              spec.isCoupledInputForget() ? 1 : 0,
              clip,
              a[0],
              p[0],
              p[1],
              a[1],
              p[2],
              p[3],
              a[2],
              p[4],
              p[5]);
          if (project) {
            cl_mem hp = lane.buffer("hproj", (long) batch * hout * 4);
            lane.gemm(
                batch, hout, hid, hraw, 0, hid, weights, o[5], hid, hp, 0, hout, null, 0, false);
            lane.launch(
                "projectedStepOutput",
                new long[] {hout, batch},
                null,
                batch,
                hout,
                steps,
                k,
                reverse,
                bf,
                len,
                hp,
                hs,
                offH,
                y,
                ldy,
                offY,
                accumulate);
          }
        }
        case GRU -> {
          boolean lbr = spec.isLinearBeforeReset();
          if (lbr) {
            lane.gemm(
                batch, gh, hid, hr0, offR0, hid, weights, o[1], hid, hr, 0, gh, weights, o[3],
                false);
          } else {
            // z and r first; then Rn·(r ⊙ h) + bRn into HR's n columns.
            lane.gemm(
                batch, 2 * hid, hid, hr0, offR0, hid, weights, o[1], hid, hr, 0, gh, weights, o[3],
                false);
            cl_mem rh = lane.buffer("resetHidden", (long) batch * hid * 4);
            lane.launch(
                "gruResetHidden",
                cells,
                null,
                batch,
                hid,
                steps,
                k,
                reverse,
                bf,
                len,
                g,
                hr,
                hr0,
                offR0,
                rh,
                clip,
                a[0],
                p[0],
                p[1]);
            lane.gemm(
                batch,
                hid,
                hid,
                rh,
                0,
                hid,
                weights,
                o[1] + 2 * hid * hid,
                hid,
                hr,
                2 * hid,
                gh,
                weights,
                o[3] + 2 * hid,
                false);
          }
          lane.launch(
              "gruPostGemmForward",
              cells,
              null,
              batch,
              hid,
              steps,
              k,
              reverse,
              bf,
              len,
              g,
              hr,
              hs,
              offH,
              y,
              ldy,
              offY,
              accumulate,
              lbr ? 1 : 0,
              clip,
              a[0],
              p[0],
              p[1],
              a[1],
              p[2],
              p[3]);
        }
        case RNN -> {
          lane.gemm(
              batch, hid, hid, hr0, offR0, hid, weights, o[1], hid, hr, 0, hid, weights, o[3],
              false);
          lane.launch(
              "rnnPostGemmForward",
              cells,
              null,
              batch,
              hid,
              steps,
              k,
              reverse,
              bf,
              len,
              g,
              hr,
              hs,
              offH,
              y,
              ldy,
              offY,
              accumulate,
              clip,
              a[0],
              p[0],
              p[1]);
        }
      }
    }
  }
}
