package dev.jrnn.opencl;

import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.DropoutStreams;
import dev.jrnn.spi.TrainableNode;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Map;
import org.jocl.cl_mem;

/**
 * Backward of a recurrent stack on the device, from what {@link ClRecurrent#forward} kept. Per
 * layer (top first) and direction, dataflow and launches:
 *
 * <pre>
 * per step, last to first:
 *   fused cell kernel: dh_t (+ dy_t), dc_t → dG_t (gate pre-activation gradients), dc_{t−1}
 *   dh_{t−1} += dG_t · R                      1 GEMM (+1 before it with a projection: dsum·Wp;
 *                                             GRU reset-first: drh = dn·Rn and a second kernel)
 * at the end:
 *   dW = dGᵀ · X, dR = dGkᵀ · H_{t−1}         1 GEMM each over all steps (operands transposed
 *                                             once, so the NT GEMM of the forward serves)
 *   dX (+)= dG · W                            1 GEMM, both directions summed
 *   db = Σ dG, dP = Σ dG ⊙ c                  column sums
 * </pre>
 *
 * The weight gradients are read back once per layer and direction and added into the canonical
 * tensors on the host; dh0, dc0 and dx once per call. Dropout between layers: an upper layer's dX
 * is masked in place (its input was {@code y ⊙ m}), and its dW reads the masked input the forward
 * kept. Recurrent dropout: each step's recurrent product goes to a scratch {@code [N, Hout]} (GRU
 * reset-first adds its {@code drh ⊙ r} there too) and reaches dh through the mask (1 more launch
 * per step); dR reads the kept {@code m ⊙ h(t−1)}.
 */
final class ClRecurrentBackward {

  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

  private ClRecurrentBackward() {}

  /** One training forward's kept state: valid while no later forward of the node on its lane. */
  static final class Pass implements TrainableNode.Saved {
    final ClRecurrent owner;
    final Lane lane;
    final long generation;
    final int steps;
    final int batch;
    final long stream; // the node's dropout stream of this pass
    volatile boolean closed;

    Pass(ClRecurrent owner, Lane lane, long generation, int steps, int batch, long stream) {
      this.owner = owner;
      this.lane = lane;
      this.generation = generation;
      this.steps = steps;
      this.batch = batch;
      this.stream = stream;
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  static void run(
      ClRecurrent node,
      TrainableNode.Saved saved,
      Tensor[] in,
      Tensor[] gradOut,
      Tensor[] gradIn,
      Map<String, Tensor> grads) {
    if (!(saved instanceof Pass p) || p.owner != node) {
      throw new IllegalArgumentException(
          "backward needs the value this node's forward returned, got " + saved);
    }
    if (p.closed) {
      throw new IllegalStateException("the saved forward pass is used after close");
    }
    if (p.lane.generation(node.node) != p.generation) {
      throw new IllegalStateException(
          "a later forward of node '" + node.node + "' on the same workspace replaced this pass");
    }
    Recurrent spec = node.spec;
    boolean bf = spec.isBatchFirst();
    Tensor x = in[Op.RecurrentLayer.X];
    if (x.dim(bf ? 1 : 0) != p.steps || x.dim(bf ? 0 : 1) != p.batch) {
      throw new IllegalArgumentException(
          "forward ran with T = " + p.steps + ", N = " + p.batch + "; backward got " + x);
    }
    Tensor dx = at(gradIn, Op.RecurrentLayer.X);
    Tensor dh0 = at(gradIn, Op.RecurrentLayer.H0);
    Tensor dc0 = at(gradIn, Op.RecurrentLayer.C0);
    if (p.steps == 0 || p.batch == 0) {
      // No steps: the final states are the initial ones.
      copyOrZero(at(gradOut, Op.RecurrentLayer.HN), dh0);
      copyOrZero(at(gradOut, Op.RecurrentLayer.CN), dc0);
      if (dx != null) {
        dx.zero();
      }
      return;
    }
    try {
      new Run(node, p, in, gradOut, grads).all(dx, dh0, dc0);
    } finally {
      p.lane.finish();
    }
  }

  private static Tensor at(Tensor[] a, int i) {
    return a != null && i < a.length ? a[i] : null;
  }

  private static void copyOrZero(Tensor from, Tensor to) {
    if (to == null) {
      return;
    }
    if (from != null) {
      to.copyFrom(from);
    } else {
      to.zero();
    }
  }

  /** One backward call's shapes and buffers. */
  private static final class Run {
    final ClRecurrent node;
    final Recurrent spec;
    final Lane lane;
    final Map<String, Tensor> grads;
    final Tensor[] in;
    final int steps;
    final int batch;
    final int bf;
    final int rows; // T·N
    final int hid; // H
    final int hout; // Hout: projection or H
    final int gh; // G·H
    final int width; // the stack's output width
    final int dirs;
    final boolean lstm;
    final float clip;
    final cl_mem len;
    final cl_mem dH; // [L·D, N, Hout]: dh of every state, dhN in, dh0 out
    final cl_mem dC; // [L·D, N, H]
    final Tensor dyTop; // the gradient of y, null: zero
    final long stream; // the forward's dropout stream
    cl_mem dhm; // recurrent dropout: the gradient of m ⊙ h(t−1) [N, Hout]; null: none
    long slotStream; // recurrent dropout: this direction's mask stream

    Run(ClRecurrent node, Pass p, Tensor[] in, Tensor[] gradOut, Map<String, Tensor> grads) {
      this.node = node;
      this.spec = node.spec;
      this.lane = p.lane;
      this.grads = grads;
      this.in = in;
      this.dyTop = at(gradOut, Op.RecurrentLayer.Y);
      this.steps = p.steps;
      this.batch = p.batch;
      this.stream = p.stream;
      this.bf = spec.isBatchFirst() ? 1 : 0;
      this.rows = steps * batch;
      this.hid = spec.hidden();
      this.hout = spec.outputHidden();
      this.gh = spec.cell().gates() * hid;
      this.width = spec.outputSize();
      this.dirs = spec.directions();
      this.lstm = spec.cell() == Recurrent.Cell.LSTM;
      this.clip = spec.hasClip() ? spec.clip() : 0f;
      int slots = spec.layers() * dirs;
      int[] lengths = new int[batch];
      Tensor lt = at(in, Op.RecurrentLayer.LENGTHS);
      if (lt != null) {
        lengths = lt.toIntArray();
      } else {
        Arrays.fill(lengths, steps);
      }
      len = lane.buffer("len", batch * 4L);
      lane.upload(lengths, len);
      dH = lane.buffer("b.dH", (long) slots * batch * hout * 4);
      upload(at(gradOut, Op.RecurrentLayer.HN), dH, (long) slots * batch * hout * 4);
      dC = lstm ? lane.buffer("b.dC", (long) slots * batch * hid * 4) : null;
      if (lstm) {
        upload(at(gradOut, Op.RecurrentLayer.CN), dC, (long) slots * batch * hid * 4);
      }
    }

    private void upload(Tensor t, cl_mem to, long bytes) {
      if (t != null) {
        lane.upload(t, to, 0);
      } else {
        lane.zero(to, 0, bytes);
      }
    }

    void all(Tensor dx, Tensor dh0, Tensor dc0) {
      int layers = spec.layers();
      cl_mem dy = lane.buffer("b.dy" + ((layers - 1) & 1), (long) rows * width * 4);
      upload(dyTop, dy, (long) rows * width * 4);
      cl_mem xBuf = lane.buffer("b.x", in[Op.RecurrentLayer.X].byteSize());
      lane.upload(in[Op.RecurrentLayer.X], xBuf, 0);
      boolean layerDrop = node.layerDropout();
      for (int l = layers - 1; l >= 0; l--) {
        // An upper layer's input as the forward fed it: y of the layer below, masked (kept).
        cl_mem input =
            l == 0
                ? xBuf
                : layerDrop
                    ? node.kept(lane, "Xd", l, (long) rows * width * 4)
                    : node.kept(lane, "Y", l - 1, (long) rows * width * 4);
        int inSize = node.op.layerInputSize(l);
        boolean wantX = l > 0 || dx != null;
        cl_mem dxBuf =
            l > 0
                ? lane.buffer("b.dy" + ((l - 1) & 1), (long) rows * width * 4)
                : lane.buffer("b.dx", (long) rows * inSize * 4);
        cl_mem dyBuf = lane.buffer("b.dy" + (l & 1), (long) rows * width * 4);
        cl_mem xT = lane.buffer("b.xT", (long) rows * inSize * 4);
        transpose(input, 0, inSize, rows, inSize, xT);
        for (int d = 0; d < dirs; d++) {
          direction(l, d, inSize, xT, dyBuf, wantX ? dxBuf : null);
        }
        if (l > 0 && layerDrop) { // through the mask to the layer below's y
          node.dropBetweenLayers(lane, stream, l, steps, batch, dxBuf, dxBuf);
        }
      }
      if (dx != null) {
        lane.download(lane.buffer("b.dx", dx.byteSize()), 0, dx);
      }
      if (dh0 != null) {
        lane.download(dH, 0, dh0);
      }
      if (dc0 != null) {
        lane.download(dC, 0, dc0);
      }
    }

    /** Backward of layer {@code l}, direction {@code d}: the steps, then the all-steps products. */
    private void direction(int l, int d, int inSize, cl_mem xT, cl_mem dy, cl_mem dxOut) {
      int s = l * dirs + d;
      int[] o = node.offsets[s];
      int[] a = node.acts[d];
      float[] q = node.actParams[d];
      int reverse = node.op.isReverse(d) ? 1 : 0;
      boolean concat = dirs == 2 && spec.merge() == Recurrent.Merge.CONCAT;
      int offY = concat ? d * hout : 0;
      boolean project = spec.projection() > 0;
      boolean peep = spec.hasPeepholes();
      boolean lbr = spec.isLinearBeforeReset();
      long tb = (long) rows;
      cl_mem g = node.kept(lane, "G", s, tb * gh * 4);
      cl_mem hr = node.kept(lane, "HR", s, tb * gh * 4);
      cl_mem hs = node.kept(lane, "Hs", s, tb * hout * 4);
      cl_mem cs = lstm ? node.kept(lane, "Cs", s, (tb + batch) * hid * 4) : null;
      cl_mem dG = lane.buffer("b.dG", tb * gh * 4);
      cl_mem dGk = lane.buffer("b.dGk", tb * gh * 4);
      lane.zero(dG, 0, tb * gh * 4); // rows past their length are never written
      cl_mem dP = peep ? lane.buffer("b.dPs", (long) batch * 3 * hid * 4) : null;
      if (peep) {
        lane.zero(dP, 0, (long) batch * 3 * hid * 4);
      }
      cl_mem dsum = project ? lane.buffer("b.dsum", tb * hout * 4) : null;
      cl_mem hraw = project ? lane.buffer("b.hraw", tb * hid * 4) : null;
      cl_mem dhraw = project ? lane.buffer("b.dhraw", (long) batch * hid * 4) : null;
      cl_mem rh =
          spec.cell() == Recurrent.Cell.GRU && !lbr ? lane.buffer("b.rh", tb * hid * 4) : null;
      cl_mem drh = rh != null ? lane.buffer("b.drh", (long) batch * hid * 4) : null;
      cl_mem w = node.weights;
      cl_mem wt = node.transposed;
      int offH = s * batch * hout;
      // Recurrent dropout: what the recurrent products read was m ⊙ h(t−1), kept per step.
      cl_mem hm = null;
      dhm = null;
      if (node.recurrentDropout()) {
        hm = node.kept(lane, "Hm", s, tb * hout * 4);
        dhm = lane.buffer("b.dhm", (long) batch * hout * 4);
        slotStream = DropoutStreams.recurrent(stream, l, d);
      }
      long[] cells = {hid, batch};
      for (int k = steps - 1; k >= 0; k--) {
        switch (spec.cell()) {
          case LSTM -> {
            if (project) {
              lane.launch(
                  "projectedStepBackward",
                  new long[] {hout, batch},
                  null,
                  batch,
                  hout,
                  steps,
                  k,
                  reverse,
                  bf,
                  len,
                  dH,
                  offH,
                  dy,
                  width,
                  offY,
                  dsum);
              lane.gemm(
                  batch,
                  hid,
                  hout,
                  dsum,
                  k * batch * hout,
                  hout,
                  wt,
                  o[5],
                  hout,
                  dhraw,
                  0,
                  hid,
                  null,
                  0,
                  false);
            }
            lane.launch(
                "lstmBackward",
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
                0,
                dH,
                offH,
                dC,
                s * batch * hid,
                dy,
                width,
                offY,
                project ? 1 : 0,
                project ? dhraw : dG,
                project ? hraw : dG,
                w,
                o[4],
                peep ? 1 : 0,
                spec.isCoupledInputForget() ? 1 : 0,
                peep ? dP : dG,
                clip,
                a[0],
                q[0],
                q[1],
                a[1],
                q[2],
                q[3],
                a[2],
                q[4],
                q[5],
                dG,
                dGk);
            recurrentGemm(k, gh, o[1], offH, false);
          }
          case RNN -> {
            lane.launch(
                "rnnBackward",
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
                dH,
                offH,
                dy,
                width,
                offY,
                clip,
                a[0],
                q[0],
                q[1],
                dG,
                dGk);
            recurrentGemm(k, gh, o[1], offH, false);
          }
          case GRU -> {
            String kernel = lbr ? "gruBackwardLbr" : "gruBackwardResetFirstN";
            lane.launch(
                kernel, cells, null, batch, hid, steps, k, reverse, bf, len, g, hr, hs, 0, dH, offH,
                dy, width, offY, clip, a[0], q[0], q[1], a[1], q[2], q[3], dG, dGk);
            if (lbr) {
              recurrentGemm(k, gh, o[1], offH, false);
            } else {
              // drh = dn · Rn: Rnᵀ is columns 2H.. of Rᵀ [H, 3H].
              lane.gemm(
                  batch,
                  hid,
                  hid,
                  dGk,
                  k * batch * gh + 2 * hid,
                  gh,
                  wt,
                  o[1] + 2 * hid,
                  gh,
                  drh,
                  0,
                  hid,
                  null,
                  0,
                  false);
              if (dhm != null) {
                lane.zero(dhm, 0, (long) batch * hout * 4);
              }
              // r ⊙ h read m ⊙ h under recurrent dropout: its gradient goes through the mask too.
              lane.launch(
                  "gruBackwardResetFirstR",
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
                  hm != null ? hm : hs,
                  0,
                  dhm != null ? dhm : dH,
                  dhm != null ? 0 : offH,
                  drh,
                  rh,
                  clip,
                  a[0],
                  q[0],
                  q[1],
                  dG,
                  dGk);
              recurrentGemm(k, 2 * hid, o[1], offH, true);
            }
          }
        }
      }
      cl_mem hRead = hm != null ? hm : hs; // what dR's products read
      weightGradients(l, d, s, inSize, xT, dG, dGk, hRead, rh, dP, dsum, hraw, dxOut);
    }

    /**
     * dH [N, Hout] += dGk_k [N, cols of gate columns] · Rᵀ's first {@code cols} columns; under
     * recurrent dropout the product goes to dhm (added to what it holds when {@code started}) and
     * reaches dH through the mask.
     */
    private void recurrentGemm(int k, int cols, int offR, int offH, boolean started) {
      cl_mem dGk = lane.buffer("b.dGk", (long) rows * gh * 4);
      boolean drop = dhm != null;
      lane.gemm(
          batch,
          hout,
          cols,
          dGk,
          k * batch * gh,
          gh,
          node.transposed,
          offR,
          gh,
          drop ? dhm : dH,
          drop ? 0 : offH,
          hout,
          null,
          0,
          !drop || started);
      if (drop) {
        node.dropRecurrent(lane, slotStream, batch, dhm, 0, dH, offH, true);
      }
    }

    /** out [C, R] = in [R, C]ᵀ (row stride ld). */
    private void transpose(cl_mem src, int off, int ld, int r, int c, cl_mem out) {
      lane.launch("transpose", new long[] {r, c}, null, r, c, src, off, ld, out);
    }

    private void weightGradients(
        int l,
        int d,
        int s,
        int inSize,
        cl_mem xT,
        cl_mem dG,
        cl_mem dGk,
        cl_mem hs,
        cl_mem rh,
        cl_mem dP,
        cl_mem dsum,
        cl_mem hraw,
        cl_mem dxOut) {
      String pre = node.op.weightPrefix(node.node, l, d);
      int[] o = node.offsets[s];
      Tensor tW = grads.get(pre + "W");
      Tensor tR = grads.get(pre + "R");
      Tensor tbW = grads.get(pre + "bW");
      Tensor tbR = grads.get(pre + "bR");
      Tensor tP = spec.hasPeepholes() ? grads.get(pre + "P") : null;
      Tensor tWp = spec.projection() > 0 ? grads.get(pre + "Wp") : null;
      // dG and dGk transposed: the A of dW and dR, and bias sums that read contiguously.
      cl_mem dGT = null;
      if (tW != null || tbW != null) {
        dGT = lane.buffer("b.dGT", (long) rows * gh * 4);
        transpose(dG, 0, gh, rows, gh, dGT);
      }
      cl_mem dGkT = null;
      if (tR != null || tbR != null) {
        dGkT = lane.buffer("b.dGkT", (long) rows * gh * 4);
        transpose(dGk, 0, gh, rows, gh, dGkT);
      }
      if (tW != null) {
        cl_mem out = lane.buffer("b.dW", (long) gh * inSize * 4);
        lane.gemm(gh, inSize, rows, dGT, 0, rows, xT, 0, rows, out, 0, inSize, null, 0, false);
        add(out, tW);
      }
      if (tR != null) {
        cl_mem hT = lane.buffer("b.hT", (long) rows * hout * 4);
        transpose(hs, 0, hout, rows, hout, hT);
        cl_mem out = lane.buffer("b.dR", (long) gh * hout * 4);
        if (rh == null) {
          lane.gemm(gh, hout, rows, dGkT, 0, rows, hT, 0, rows, out, 0, hout, null, 0, false);
        } else { // z, r rows see h_{t−1}; n rows see r ⊙ h_{t−1}
          lane.gemm(2 * hid, hid, rows, dGkT, 0, rows, hT, 0, rows, out, 0, hid, null, 0, false);
          cl_mem rhT = lane.buffer("b.rhT", (long) rows * hid * 4);
          transpose(rh, 0, hid, rows, hid, rhT);
          lane.gemm(
              hid,
              hid,
              rows,
              dGkT,
              2 * hid * rows,
              rows,
              rhT,
              0,
              rows,
              out,
              2 * hid * hid,
              hid,
              null,
              0,
              false);
        }
        add(out, tR);
      }
      if (tbW != null) {
        add(rowSums(dGT, rows, gh, "b.dbW"), tbW);
      }
      if (tbR != null) {
        add(rowSums(dGkT, rows, gh, "b.dbR"), tbR);
      }
      if (tP != null) {
        add(columnSums(dP, batch, 3 * hid, "b.dP"), tP);
      }
      if (tWp != null) {
        cl_mem dsT = lane.buffer("b.dsumT", (long) rows * hout * 4);
        transpose(dsum, 0, hout, rows, hout, dsT);
        cl_mem hrT = lane.buffer("b.hrawT", (long) rows * hid * 4);
        transpose(hraw, 0, hid, rows, hid, hrT);
        cl_mem out = lane.buffer("b.dWp", (long) hout * hid * 4);
        lane.gemm(hout, hid, rows, dsT, 0, rows, hrT, 0, rows, out, 0, hid, null, 0, false);
        add(out, tWp);
      }
      if (dxOut != null) { // dX (+)= dG · W: Wᵀ [I, G·H] is the NT GEMM's B
        lane.gemm(
            rows,
            inSize,
            gh,
            dG,
            0,
            gh,
            node.transposed,
            o[0],
            gh,
            dxOut,
            0,
            inSize,
            null,
            0,
            d > 0);
      }
    }

    /** Each row of a transposed {@code [c, r]} buffer summed: {@code out[j] = Σ src[j·r + i]}. */
    private cl_mem rowSums(cl_mem src, int r, int c, String name) {
      cl_mem out = lane.buffer(name, (long) c * 4);
      lane.launch("rowSums", new long[] {c}, null, r, c, src, r, out);
      return out;
    }

    private cl_mem columnSums(cl_mem src, int r, int c, String name) {
      cl_mem out = lane.buffer(name, (long) c * 4);
      lane.launch("columnSums", new long[] {c}, null, r, c, src, c, out);
      return out;
    }

    /** {@code t += } the first {@code t.size()} floats of {@code src} (blocking read). */
    private void add(cl_mem src, Tensor t) {
      try (Tensor tmp = Tensor.allocate(t.dtype(), t.shape())) {
        lane.download(src, 0, tmp);
        MemorySegment a = t.segment();
        MemorySegment b = tmp.segment();
        for (long i = 0; i < t.size(); i++) {
          a.setAtIndex(F, i, a.getAtIndex(F, i) + b.getAtIndex(F, i));
        }
      }
    }
  }
}
