package dev.jrnn.onednn;

import static dev.jrnn.onednn.OneDnn.check;
import static dev.jrnn.onednn.OneDnn.handle;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.onednn.ffi.Dnnl;
import dev.jrnn.onednn.ffi.dnnl_exec_arg_t;
import dev.jrnn.onednn.ffi.dnnl_memory_desc_t;
import dev.jrnn.onednn.ffi.dnnl_rnn_desc_t;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.Op;
import dev.jrnn.spi.RecurrentTrainer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A recurrent layer stack on oneDNN primitives. Layers whose channel sizes allow it share one
 * primitive (oneDNN's multi-layer RNN needs the same input size for every layer); otherwise layer 0
 * runs alone and the rest together. Primitives are created once per distinct (T, N) and cached;
 * canonical weights are given to oneDNN once, in plain layouts that match them ({@code ldgoi} is
 * jrnn's {@code W [G·H, I]} per layer and direction), and reordered into whatever layout each
 * primitive chose. Tensors reach oneDNN zero-copy as data handles.
 *
 * <p>Training: {@link #trainer()} runs {@code forward_training} (keeping oneDNN's workspace) and
 * the backward primitives, built with the forward one as hint.
 */
final class OneDnnRecurrent implements CompiledNode {

  private final Op.RecurrentLayer op;
  private final String node;
  private final Recurrent spec;
  private final OneDnnBackend.OneDnnContext ctx;
  private final List<Group> groups = new ArrayList<>();
  private final Map<Long, Prims[]> inference = new ConcurrentHashMap<>();
  private final int dirs;
  private final int gates;
  private final int hidden; // DHC
  private final int hout; // DIC
  private final boolean lstm;
  private final boolean lbr; // GRU with linear before reset: a fourth bias slot

  /** Primitive arguments: data, weights, and their gradients. */
  enum Arg {
    SRC_LAYER(false),
    SRC_ITER(false),
    SRC_ITER_C(false),
    WEIGHTS_LAYER(true),
    WEIGHTS_ITER(true),
    WEIGHTS_PEEPHOLE(true),
    WEIGHTS_PROJECTION(true),
    BIAS(true),
    DST_LAYER(false),
    DST_ITER(false),
    DST_ITER_C(false),
    WORKSPACE(false),
    DIFF_SRC_LAYER(false),
    DIFF_SRC_ITER(false),
    DIFF_SRC_ITER_C(false),
    DIFF_WEIGHTS_LAYER(false),
    DIFF_WEIGHTS_ITER(false),
    DIFF_WEIGHTS_PEEPHOLE(false),
    DIFF_WEIGHTS_PROJECTION(false),
    DIFF_BIAS(false),
    DIFF_DST_LAYER(false),
    DIFF_DST_ITER(false),
    DIFF_DST_ITER_C(false);

    final boolean weight;

    Arg(boolean weight) {
      this.weight = weight;
    }

    int dnnl() {
      return switch (this) {
        case SRC_LAYER -> Dnnl.DNNL_ARG_SRC_LAYER();
        case SRC_ITER -> Dnnl.DNNL_ARG_SRC_ITER();
        case SRC_ITER_C -> Dnnl.DNNL_ARG_SRC_ITER_C();
        case WEIGHTS_LAYER -> Dnnl.DNNL_ARG_WEIGHTS_LAYER();
        case WEIGHTS_ITER -> Dnnl.DNNL_ARG_WEIGHTS_ITER();
        case WEIGHTS_PEEPHOLE -> Dnnl.DNNL_ARG_WEIGHTS_PEEPHOLE();
        case WEIGHTS_PROJECTION -> Dnnl.DNNL_ARG_WEIGHTS_PROJECTION();
        case BIAS -> Dnnl.DNNL_ARG_BIAS();
        case DST_LAYER -> Dnnl.DNNL_ARG_DST_LAYER();
        case DST_ITER -> Dnnl.DNNL_ARG_DST_ITER();
        case DST_ITER_C -> Dnnl.DNNL_ARG_DST_ITER_C();
        case WORKSPACE -> Dnnl.DNNL_ARG_WORKSPACE();
        case DIFF_SRC_LAYER -> Dnnl.DNNL_ARG_DIFF_SRC_LAYER();
        case DIFF_SRC_ITER -> Dnnl.DNNL_ARG_DIFF_SRC_ITER();
        case DIFF_SRC_ITER_C -> Dnnl.DNNL_ARG_DIFF_SRC_ITER_C();
        case DIFF_WEIGHTS_LAYER -> Dnnl.DNNL_ARG_DIFF_WEIGHTS_LAYER();
        case DIFF_WEIGHTS_ITER -> Dnnl.DNNL_ARG_DIFF_WEIGHTS_ITER();
        case DIFF_WEIGHTS_PEEPHOLE -> Dnnl.DNNL_ARG_DIFF_WEIGHTS_PEEPHOLE();
        case DIFF_WEIGHTS_PROJECTION -> Dnnl.DNNL_ARG_DIFF_WEIGHTS_PROJECTION();
        case DIFF_BIAS -> Dnnl.DNNL_ARG_DIFF_BIAS();
        case DIFF_DST_LAYER -> Dnnl.DNNL_ARG_DIFF_DST_LAYER();
        case DIFF_DST_ITER -> Dnnl.DNNL_ARG_DIFF_DST_ITER();
        case DIFF_DST_ITER_C -> Dnnl.DNNL_ARG_DIFF_DST_ITER_C();
      };
    }

    /** The weight a gradient argument belongs to. */
    Arg weightOf() {
      return switch (this) {
        case DIFF_WEIGHTS_LAYER -> WEIGHTS_LAYER;
        case DIFF_WEIGHTS_ITER -> WEIGHTS_ITER;
        case DIFF_WEIGHTS_PEEPHOLE -> WEIGHTS_PEEPHOLE;
        case DIFF_WEIGHTS_PROJECTION -> WEIGHTS_PROJECTION;
        case DIFF_BIAS -> BIAS;
        default -> throw new IllegalArgumentException(name());
      };
    }
  }

  /** Consecutive layers {@code [l0, l1)} run by one primitive, with their canonical weights. */
  private final class Group {
    final int l0;
    final int l1;
    final int slc; // input channels
    // Canonical weights of every layer and direction of the group, in oneDNN's plain layouts.
    final EnumMap<Arg, MemorySegment> user = new EnumMap<>(Arg.class);
    // Weights reordered into layouts primitives chose, reused when a layout repeats:
    // {arg ordinal as long, descriptor copy, memory}.
    final List<MemorySegment[]> reordered = new ArrayList<>();

    Group(int l0, int l1, int slc, Map<String, Tensor> w) {
      this.l0 = l0;
      this.l1 = l1;
      this.slc = slc;
      int n = (l1 - l0) * dirs;
      user.put(Arg.WEIGHTS_LAYER, ctx.arena.allocate((long) n * gates * hidden * slc * 4, 64));
      user.put(Arg.WEIGHTS_ITER, ctx.arena.allocate((long) n * gates * hidden * hout * 4, 64));
      user.put(Arg.BIAS, ctx.arena.allocate((long) n * biasGates() * hidden * 4, 64));
      if (spec.hasPeepholes()) {
        user.put(Arg.WEIGHTS_PEEPHOLE, ctx.arena.allocate((long) n * 3 * hidden * 4, 64));
      }
      if (spec.projection() > 0) {
        user.put(Arg.WEIGHTS_PROJECTION, ctx.arena.allocate((long) n * hout * hidden * 4, 64));
      }
      load(w);
    }

    /** Copies canonical weights in; drops every reordered copy. */
    void load(Map<String, Tensor> w) {
      int k = 0;
      for (int l = l0; l < l1; l++) {
        for (int d = 0; d < dirs; d++, k++) {
          String p = op.weightPrefix(node, l, d);
          put(Arg.WEIGHTS_LAYER, k, w.get(p + "W").toFloatArray());
          put(Arg.WEIGHTS_ITER, k, w.get(p + "R").toFloatArray());
          float[] bw = w.get(p + "bW").toFloatArray();
          float[] br = w.get(p + "bR").toFloatArray();
          float[] b = new float[biasGates() * hidden];
          for (int i = 0; i < gates * hidden; i++) {
            boolean candidate = lbr && i >= 2 * hidden;
            b[i] = bw[i] + (candidate ? 0f : br[i]);
          }
          if (lbr) { // the fourth slot: the recurrent candidate bias, applied inside r ⊙ (·)
            System.arraycopy(br, 2 * hidden, b, 3 * hidden, hidden);
          }
          put(Arg.BIAS, k, b);
          if (spec.hasPeepholes()) {
            put(Arg.WEIGHTS_PEEPHOLE, k, w.get(p + "P").toFloatArray());
          }
          if (spec.projection() > 0) {
            put(Arg.WEIGHTS_PROJECTION, k, w.get(p + "Wp").toFloatArray());
          }
        }
      }
      reordered.clear(); // their memories stay alive until close; primitives hold no pointers
    }

    private void put(Arg a, int k, float[] v) {
      MemorySegment.copy(v, 0, user.get(a), JAVA_FLOAT, (long) k * v.length * 4, v.length);
    }

    int layers() {
      return l1 - l0;
    }

    /** The plain (user) descriptor of a weight argument of this group. */
    MemorySegment userMd(Arena a, Arg arg) {
      int l = layers();
      return switch (arg) {
        case WEIGHTS_LAYER -> md(a, Dnnl.dnnl_ldgoi(), l, dirs, slc, gates, hidden);
        case WEIGHTS_ITER -> md(a, Dnnl.dnnl_ldgoi(), l, dirs, hout, gates, hidden);
        case BIAS -> md(a, Dnnl.dnnl_ldgo(), l, dirs, biasGates(), hidden);
        case WEIGHTS_PEEPHOLE -> md(a, Dnnl.dnnl_ldgo(), l, dirs, 3, hidden);
        case WEIGHTS_PROJECTION -> md(a, Dnnl.dnnl_ldoi(), l, dirs, hidden, hout);
        default -> throw new IllegalArgumentException(arg.name());
      };
    }
  }

  /** One group's primitive for one shape and propagation, and what a call needs to run it. */
  private static final class Prims {
    MemorySegment pd;
    MemorySegment primitive;
    final EnumMap<Arg, MemorySegment> mds = new EnumMap<>(Arg.class); // the primitive's
    final EnumMap<Arg, MemorySegment> weights = new EnumMap<>(Arg.class); // reordered
    MemorySegment scratchpadMd;
    long scratchpadBytes;
    long workspaceBytes;
  }

  OneDnnRecurrent(
      Op.RecurrentLayer op,
      String node,
      Map<String, Tensor> weights,
      OneDnnBackend.OneDnnContext ctx) {
    this.op = op;
    this.node = node;
    this.spec = op.spec();
    this.ctx = ctx;
    this.dirs = spec.directions();
    this.gates = spec.cell().gates();
    this.hidden = spec.hidden();
    this.hout = spec.outputHidden();
    this.lstm = spec.cell() == Recurrent.Cell.LSTM;
    this.lbr = spec.cell() == Recurrent.Cell.GRU && spec.isLinearBeforeReset();
    int layers = spec.layers();
    int later = spec.layerInputSize(1, op.inputSize()); // input size of layers > 0
    if (layers == 1 || op.inputSize() == later) {
      groups.add(new Group(0, layers, op.inputSize(), weights));
    } else {
      groups.add(new Group(0, 1, op.inputSize(), weights));
      groups.add(new Group(1, layers, later, weights));
    }
  }

  private int biasGates() {
    return lbr ? gates + 1 : gates;
  }

  // ------------------------------------------------------------------------------------ inference

  @Override
  public void run(Tensor[] in, Tensor[] out, ExecContext ec) {
    boolean bf = spec.isBatchFirst();
    Tensor x = in[Op.RecurrentLayer.X];
    int steps = x.dim(bf ? 1 : 0);
    int batch = x.dim(bf ? 0 : 1);
    // Before anything else: oneDNN sizes its parallelism when a primitive is created.
    OneDnn.setThreads(ctx.threads);
    Prims[] prims =
        inference.computeIfAbsent(
            key(steps, batch), k -> create(steps, batch, Prop.INFERENCE, null));
    Tensor h0 = in[Op.RecurrentLayer.H0];
    Tensor c0 = in.length > Op.RecurrentLayer.C0 ? in[Op.RecurrentLayer.C0] : null;
    Tensor y = out[Op.RecurrentLayer.Y];
    Tensor hN = out[Op.RecurrentLayer.HN];
    Tensor cN = out.length > Op.RecurrentLayer.CN ? out[Op.RecurrentLayer.CN] : null;
    long hBytes = stateBytes(batch, hout);
    long cBytes = stateBytes(batch, hidden);
    // Missing states are zeros in, or discarded out, from the call's scratch.
    MemorySegment h0s = h0 != null ? h0.segment() : zeros(ec.scratch(hBytes));
    MemorySegment c0s = !lstm ? null : c0 != null ? c0.segment() : zeros(ec.scratch(cBytes));
    MemorySegment hNs = hN != null ? hN.segment() : ec.scratch(hBytes);
    MemorySegment cNs = !lstm ? null : cN != null ? cN.segment() : ec.scratch(cBytes);
    MemorySegment stream = ec.cache(ctx, this::newStream);
    MemorySegment input = x.segment();
    try (Arena call = Arena.ofConfined()) {
      for (int gi = 0; gi < groups.size(); gi++) {
        Group g = groups.get(gi);
        boolean last = gi == groups.size() - 1;
        MemorySegment output =
            last && y != null ? y.segment() : ec.scratch(layerBytes(steps, batch));
        EnumMap<Arg, MemorySegment> data = new EnumMap<>(Arg.class);
        data.put(Arg.SRC_LAYER, input);
        data.put(Arg.DST_LAYER, output);
        states(g, batch, data, h0s, c0s, Arg.SRC_ITER, Arg.SRC_ITER_C);
        states(g, batch, data, hNs, cNs, Arg.DST_ITER, Arg.DST_ITER_C);
        execute(prims[gi], data, ec.scratch(prims[gi].scratchpadBytes), stream, call);
        input = output;
      }
    }
  }

  private static long key(int steps, int batch) {
    return ((long) steps << 32) | batch;
  }

  private long stateBytes(int batch, int size) {
    return (long) spec.layers() * dirs * batch * size * 4;
  }

  private long layerBytes(int steps, int batch) {
    return (long) steps * batch * spec.outputSize() * 4;
  }

  /** The group's slices of full-stack states {@code [L·D, N, ·]} under {@code h} and {@code c}. */
  private void states(
      Group g,
      int batch,
      EnumMap<Arg, MemorySegment> data,
      MemorySegment h,
      MemorySegment c,
      Arg hArg,
      Arg cArg) {
    long rows = (long) g.layers() * dirs * batch;
    long first = (long) g.l0 * dirs * batch;
    data.put(hArg, h.asSlice(first * hout * 4, rows * hout * 4));
    if (lstm) {
      data.put(cArg, c.asSlice(first * hidden * 4, rows * hidden * 4));
    }
  }

  private static MemorySegment zeros(MemorySegment s) {
    s.fill((byte) 0);
    return s;
  }

  /** A stream for one workspace (calls on a workspace never overlap), freed with the session. */
  private MemorySegment newStream(Object key) {
    return rawStream().reinterpret(ctx.arena, Dnnl::dnnl_stream_destroy);
  }

  private MemorySegment rawStream() {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check(
          Dnnl.dnnl_stream_create(out, ctx.engine, Dnnl.dnnl_stream_default_flags()),
          "dnnl_stream_create");
      return handle(out);
    }
  }

  /** Runs a primitive: data handles for the tensors, the reordered weights, a user scratchpad. */
  private void execute(
      Prims p,
      Map<Arg, MemorySegment> data,
      MemorySegment scratchpad,
      MemorySegment stream,
      Arena call) {
    List<MemorySegment> temporaries = new ArrayList<>();
    MemorySegment args = dnnl_exec_arg_t.allocateArray(Arg.values().length + 1, call);
    int n = 0;
    try {
      for (Arg a : Arg.values()) {
        MemorySegment mem = p.weights.get(a);
        if (mem == null && data.get(a) != null) {
          mem = memory(p.mds.get(a), data.get(a), call);
          temporaries.add(mem);
        }
        if (mem != null) {
          MemorySegment e = dnnl_exec_arg_t.asSlice(args, n++);
          dnnl_exec_arg_t.arg(e, a.dnnl());
          dnnl_exec_arg_t.memory(e, mem);
        }
      }
      if (p.scratchpadBytes > 0) { // user scratchpad: concurrent calls never share one
        MemorySegment mem = memory(p.scratchpadMd, scratchpad, call);
        temporaries.add(mem);
        MemorySegment e = dnnl_exec_arg_t.asSlice(args, n++);
        dnnl_exec_arg_t.arg(e, Dnnl.DNNL_ARG_SCRATCHPAD());
        dnnl_exec_arg_t.memory(e, mem);
      }
      check(Dnnl.dnnl_primitive_execute(p.primitive, stream, n, args), "dnnl_primitive_execute");
      check(Dnnl.dnnl_stream_wait(stream), "dnnl_stream_wait");
    } finally {
      for (MemorySegment m : temporaries) {
        Dnnl.dnnl_memory_destroy(m);
      }
    }
  }

  private MemorySegment memory(MemorySegment md, MemorySegment data, Arena arena) {
    MemorySegment out = arena.allocate(ADDRESS);
    check(Dnnl.dnnl_memory_create(out, md, ctx.engine, data), "dnnl_memory_create");
    return handle(out);
  }

  // ----------------------------------------------------------------------------------- primitives

  private enum Prop {
    INFERENCE,
    TRAINING,
    BACKWARD
  }

  /** The primitives of every group for shape (T, N); {@code hints} are the forward ones. */
  private Prims[] create(int steps, int batch, Prop prop, Prims[] hints) {
    Prims[] all = new Prims[groups.size()];
    synchronized (groups) { // weight reorders are shared between shapes
      for (int i = 0; i < all.length; i++) {
        all[i] =
            create(
                groups.get(i),
                steps,
                batch,
                i == 0,
                i == all.length - 1,
                prop,
                hints == null ? null : hints[i]);
      }
    }
    return all;
  }

  private Prims create(
      Group g, int steps, int batch, boolean first, boolean last, Prop prop, Prims hint) {
    Prims p = new Prims();
    int l = g.layers();
    boolean bf = spec.isBatchFirst();
    int any = Dnnl.dnnl_format_tag_any();
    try (Arena tmp = Arena.ofConfined()) {
      // Data descriptors are plain; weight descriptors say "any" so oneDNN picks their layout.
      EnumMap<Arg, MemorySegment> m = new EnumMap<>(Arg.class);
      for (boolean diff :
          prop == Prop.BACKWARD ? new boolean[] {false, true} : new boolean[] {false}) {
        m.put(
            pick(Arg.SRC_LAYER, diff),
            md(tmp, first && bf ? Dnnl.dnnl_ntc() : Dnnl.dnnl_tnc(), steps, batch, g.slc));
        m.put(pick(Arg.SRC_ITER, diff), md(tmp, Dnnl.dnnl_ldnc(), l, dirs, batch, hout));
        m.put(pick(Arg.SRC_ITER_C, diff), md(tmp, Dnnl.dnnl_ldnc(), l, dirs, batch, hidden));
        m.put(pick(Arg.WEIGHTS_LAYER, diff), md(tmp, any, l, dirs, g.slc, gates, hidden));
        m.put(pick(Arg.WEIGHTS_ITER, diff), md(tmp, any, l, dirs, hout, gates, hidden));
        m.put(pick(Arg.BIAS, diff), md(tmp, any, l, dirs, biasGates(), hidden));
        if (spec.hasPeepholes()) {
          m.put(pick(Arg.WEIGHTS_PEEPHOLE, diff), md(tmp, any, l, dirs, 3, hidden));
        }
        if (spec.projection() > 0) {
          m.put(pick(Arg.WEIGHTS_PROJECTION, diff), md(tmp, any, l, dirs, hidden, hout));
        }
        m.put(
            pick(Arg.DST_LAYER, diff),
            md(
                tmp,
                last && bf ? Dnnl.dnnl_ntc() : Dnnl.dnnl_tnc(),
                steps,
                batch,
                spec.outputSize()));
        m.put(pick(Arg.DST_ITER, diff), md(tmp, Dnnl.dnnl_ldnc(), l, dirs, batch, hout));
        m.put(pick(Arg.DST_ITER_C, diff), md(tmp, Dnnl.dnnl_ldnc(), l, dirs, batch, hidden));
      }
      MemorySegment desc = describe(tmp, m, prop);
      MemorySegment attrOut = tmp.allocate(ADDRESS);
      check(Dnnl.dnnl_primitive_attr_create(attrOut), "dnnl_primitive_attr_create");
      MemorySegment attr = handle(attrOut);
      try {
        check(
            Dnnl.dnnl_primitive_attr_set_scratchpad_mode(attr, Dnnl.dnnl_scratchpad_mode_user()),
            "dnnl_primitive_attr_set_scratchpad_mode");
        MemorySegment pdOut = tmp.allocate(ADDRESS);
        check(
            Dnnl.dnnl_primitive_desc_create(
                pdOut, desc, attr, ctx.engine, hint == null ? MemorySegment.NULL : hint.pd),
            "dnnl_primitive_desc_create");
        p.pd = handle(pdOut).reinterpret(ctx.arena, Dnnl::dnnl_primitive_desc_destroy);
        MemorySegment primOut = tmp.allocate(ADDRESS);
        check(Dnnl.dnnl_primitive_create(primOut, p.pd), "dnnl_primitive_create");
        p.primitive = handle(primOut).reinterpret(ctx.arena, Dnnl::dnnl_primitive_destroy);
        for (Arg a : Arg.values()) {
          p.mds.put(a, queryMd(p.pd, Dnnl.dnnl_query_exec_arg_md(), a.dnnl()));
        }
        p.scratchpadMd = queryMd(p.pd, Dnnl.dnnl_query_scratchpad_md(), 0);
        p.scratchpadBytes = Dnnl.dnnl_memory_desc_get_size(p.scratchpadMd);
        p.workspaceBytes = Dnnl.dnnl_memory_desc_get_size(p.mds.get(Arg.WORKSPACE));
        for (Arg a : g.user.keySet()) {
          p.weights.put(a, reordered(g, a, p.mds.get(a), tmp));
        }
      } finally {
        Dnnl.dnnl_primitive_attr_destroy(attr);
      }
    }
    return p;
  }

  private static Arg pick(Arg a, boolean diff) {
    return diff ? Arg.valueOf("DIFF_" + a.name()) : a;
  }

  /** The RNN operation descriptor for the cell, direction and propagation. */
  private MemorySegment describe(Arena tmp, EnumMap<Arg, MemorySegment> m, Prop prop) {
    MemorySegment d = dnnl_rnn_desc_t.allocate(tmp);
    MemorySegment nul = MemorySegment.NULL;
    int dir = direction();
    int kind =
        switch (prop) {
          case INFERENCE -> Dnnl.dnnl_forward_inference();
          case TRAINING -> Dnnl.dnnl_forward_training();
          case BACKWARD -> Dnnl.dnnl_backward();
        };
    boolean back = prop == Prop.BACKWARD;
    switch (spec.cell()) {
      case LSTM -> {
        MemorySegment peep = m.getOrDefault(Arg.WEIGHTS_PEEPHOLE, nul);
        MemorySegment proj = m.getOrDefault(Arg.WEIGHTS_PROJECTION, nul);
        if (!back) {
          check(
              Dnnl.dnnl_lstm_forward_desc_init_v3(
                  d,
                  kind,
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.SRC_ITER_C),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  peep,
                  proj,
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  m.get(Arg.DST_ITER_C),
                  0),
              "dnnl_lstm_forward_desc_init_v3");
        } else {
          check(
              Dnnl.dnnl_lstm_backward_desc_init_v3(
                  d,
                  kind,
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.SRC_ITER_C),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  peep,
                  proj,
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  m.get(Arg.DST_ITER_C),
                  m.get(Arg.DIFF_SRC_LAYER),
                  m.get(Arg.DIFF_SRC_ITER),
                  m.get(Arg.DIFF_SRC_ITER_C),
                  m.get(Arg.DIFF_WEIGHTS_LAYER),
                  m.get(Arg.DIFF_WEIGHTS_ITER),
                  m.getOrDefault(Arg.DIFF_WEIGHTS_PEEPHOLE, nul),
                  m.getOrDefault(Arg.DIFF_WEIGHTS_PROJECTION, nul),
                  m.get(Arg.DIFF_BIAS),
                  m.get(Arg.DIFF_DST_LAYER),
                  m.get(Arg.DIFF_DST_ITER),
                  m.get(Arg.DIFF_DST_ITER_C),
                  0),
              "dnnl_lstm_backward_desc_init_v3");
        }
      }
      case GRU -> {
        // The lbr and plain GRU descriptors take the same arguments.
        if (!back) {
          GruForward init =
              lbr ? Dnnl::dnnl_lbr_gru_forward_desc_init : Dnnl::dnnl_gru_forward_desc_init;
          check(
              init.apply(
                  d,
                  kind,
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  0),
              lbr ? "dnnl_lbr_gru_forward_desc_init" : "dnnl_gru_forward_desc_init");
        } else {
          GruBackward init =
              lbr ? Dnnl::dnnl_lbr_gru_backward_desc_init : Dnnl::dnnl_gru_backward_desc_init;
          check(
              init.apply(
                  d,
                  kind,
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  m.get(Arg.DIFF_SRC_LAYER),
                  m.get(Arg.DIFF_SRC_ITER),
                  m.get(Arg.DIFF_WEIGHTS_LAYER),
                  m.get(Arg.DIFF_WEIGHTS_ITER),
                  m.get(Arg.DIFF_BIAS),
                  m.get(Arg.DIFF_DST_LAYER),
                  m.get(Arg.DIFF_DST_ITER),
                  0),
              lbr ? "dnnl_lbr_gru_backward_desc_init" : "dnnl_gru_backward_desc_init");
        }
      }
      case RNN -> {
        float[] act = OneDnnBackend.rnnActivation(spec);
        if (!back) {
          check(
              Dnnl.dnnl_vanilla_rnn_forward_desc_init(
                  d,
                  kind,
                  (int) act[0],
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  0,
                  act[1],
                  0f),
              "dnnl_vanilla_rnn_forward_desc_init");
        } else {
          check(
              Dnnl.dnnl_vanilla_rnn_backward_desc_init(
                  d,
                  kind,
                  (int) act[0],
                  dir,
                  m.get(Arg.SRC_LAYER),
                  m.get(Arg.SRC_ITER),
                  m.get(Arg.WEIGHTS_LAYER),
                  m.get(Arg.WEIGHTS_ITER),
                  m.get(Arg.BIAS),
                  m.get(Arg.DST_LAYER),
                  m.get(Arg.DST_ITER),
                  m.get(Arg.DIFF_SRC_LAYER),
                  m.get(Arg.DIFF_SRC_ITER),
                  m.get(Arg.DIFF_WEIGHTS_LAYER),
                  m.get(Arg.DIFF_WEIGHTS_ITER),
                  m.get(Arg.DIFF_BIAS),
                  m.get(Arg.DIFF_DST_LAYER),
                  m.get(Arg.DIFF_DST_ITER),
                  0,
                  act[1],
                  0f),
              "dnnl_vanilla_rnn_backward_desc_init");
        }
      }
    }
    return d;
  }

  /** {@code dnnl_gru_forward_desc_init} and its lbr twin. */
  @FunctionalInterface
  private interface GruForward {
    int apply(
        MemorySegment desc,
        int kind,
        int direction,
        MemorySegment srcLayer,
        MemorySegment srcIter,
        MemorySegment weightsLayer,
        MemorySegment weightsIter,
        MemorySegment bias,
        MemorySegment dstLayer,
        MemorySegment dstIter,
        int flags);
  }

  /** {@code dnnl_gru_backward_desc_init} and its lbr twin. */
  @FunctionalInterface
  private interface GruBackward {
    int apply(
        MemorySegment desc,
        int kind,
        int direction,
        MemorySegment srcLayer,
        MemorySegment srcIter,
        MemorySegment weightsLayer,
        MemorySegment weightsIter,
        MemorySegment bias,
        MemorySegment dstLayer,
        MemorySegment dstIter,
        MemorySegment diffSrcLayer,
        MemorySegment diffSrcIter,
        MemorySegment diffWeightsLayer,
        MemorySegment diffWeightsIter,
        MemorySegment diffBias,
        MemorySegment diffDstLayer,
        MemorySegment diffDstIter,
        int flags);
  }

  private int direction() {
    return switch (spec.direction()) {
      case FORWARD -> Dnnl.dnnl_unidirectional_left2right();
      case REVERSE -> Dnnl.dnnl_unidirectional_right2left();
      case BIDIRECTIONAL ->
          spec.merge() == Recurrent.Merge.SUM
              ? Dnnl.dnnl_bidirectional_sum()
              : Dnnl.dnnl_bidirectional_concat();
    };
  }

  /** A memory descriptor of f32 {@code dims} in layout {@code tag}. */
  static MemorySegment md(Arena arena, int tag, long... dims) {
    MemorySegment md = dnnl_memory_desc_t.allocate(arena);
    MemorySegment d = arena.allocateFrom(JAVA_LONG, dims);
    check(
        Dnnl.dnnl_memory_desc_init_by_tag(md, dims.length, d, Dnnl.dnnl_f32(), tag),
        "dnnl_memory_desc_init_by_tag");
    return md;
  }

  /** The descriptor a primitive descriptor holds for {@code what}; valid while {@code pd} is. */
  private static MemorySegment queryMd(MemorySegment pd, int what, int index) {
    return Dnnl.dnnl_primitive_desc_query_md(pd, what, index)
        .reinterpret(dnnl_memory_desc_t.sizeof());
  }

  /**
   * The group's canonical weights for {@code arg} in layout {@code want}: reordered once, reused by
   * every primitive that chose the same layout.
   */
  private MemorySegment reordered(Group g, Arg arg, MemorySegment want, Arena tmp) {
    for (MemorySegment[] r : g.reordered) {
      if (r[0].get(JAVA_LONG, 0) == arg.ordinal() && Dnnl.dnnl_memory_desc_equal(r[1], want) == 1) {
        return r[2];
      }
    }
    long bytes = Dnnl.dnnl_memory_desc_get_size(want);
    MemorySegment buf = ctx.arena.allocate(Math.max(bytes, 1), 64);
    MemorySegment dst =
        memory(want, buf, ctx.arena).reinterpret(ctx.arena, Dnnl::dnnl_memory_destroy);
    reorder(g.userMd(tmp, arg), g.user.get(arg), want, dst, tmp);
    // Keep a copy of the descriptor: the primitive descriptor that owns `want` may go first.
    MemorySegment mdCopy = ctx.arena.allocate(dnnl_memory_desc_t.sizeof(), 8);
    mdCopy.copyFrom(want);
    MemorySegment tag = ctx.arena.allocate(JAVA_LONG);
    tag.set(JAVA_LONG, 0, arg.ordinal());
    g.reordered.add(new MemorySegment[] {tag, mdCopy, dst});
    return dst;
  }

  /** Copies {@code src} (layout {@code srcMd}) into the memory {@code dst} (layout dstMd). */
  private void reorder(
      MemorySegment srcMd, MemorySegment src, MemorySegment dstMd, MemorySegment dst, Arena tmp) {
    MemorySegment from = memory(srcMd, src, tmp);
    try {
      MemorySegment rpdOut = tmp.allocate(ADDRESS);
      check(
          Dnnl.dnnl_reorder_primitive_desc_create(
              rpdOut, srcMd, ctx.engine, dstMd, ctx.engine, MemorySegment.NULL),
          "dnnl_reorder_primitive_desc_create");
      MemorySegment rpd = handle(rpdOut);
      MemorySegment rprimOut = tmp.allocate(ADDRESS);
      try {
        check(Dnnl.dnnl_primitive_create(rprimOut, rpd), "dnnl_primitive_create (reorder)");
      } finally {
        Dnnl.dnnl_primitive_desc_destroy(rpd);
      }
      MemorySegment rprim = handle(rprimOut);
      MemorySegment stream = rawStream();
      try {
        MemorySegment args = dnnl_exec_arg_t.allocateArray(2, tmp);
        dnnl_exec_arg_t.arg(dnnl_exec_arg_t.asSlice(args, 0), Dnnl.DNNL_ARG_FROM());
        dnnl_exec_arg_t.memory(dnnl_exec_arg_t.asSlice(args, 0), from);
        dnnl_exec_arg_t.arg(dnnl_exec_arg_t.asSlice(args, 1), Dnnl.DNNL_ARG_TO());
        dnnl_exec_arg_t.memory(dnnl_exec_arg_t.asSlice(args, 1), dst);
        check(
            Dnnl.dnnl_primitive_execute(rprim, stream, 2, args),
            "dnnl_primitive_execute (reorder)");
        check(Dnnl.dnnl_stream_wait(stream), "dnnl_stream_wait");
      } finally {
        Dnnl.dnnl_primitive_destroy(rprim);
        Dnnl.dnnl_stream_destroy(stream);
      }
    } finally {
      Dnnl.dnnl_memory_destroy(from);
    }
  }

  // ------------------------------------------------------------------------------------- training

  /** A trainer over these weights; see {@link RecurrentTrainer}. */
  RecurrentTrainer trainer() {
    return new Trainer();
  }

  private final class Trainer implements RecurrentTrainer {
    private final Map<Long, Prims[][]> prims = new ConcurrentHashMap<>(); // {training, backward}
    private volatile boolean closed;

    private Prims[][] prims(int steps, int batch) {
      return prims.computeIfAbsent(
          key(steps, batch),
          k -> {
            Prims[] fwd = create(steps, batch, Prop.TRAINING, null);
            return new Prims[][] {fwd, create(steps, batch, Prop.BACKWARD, fwd)};
          });
    }

    /** Copies of everything backward reads, and oneDNN's workspaces. */
    private final class OneDnnTape implements Tape {
      final Arena arena = Arena.ofShared();
      final int steps;
      final int batch;
      final MemorySegment[] inputs; // per group: src_layer
      final MemorySegment[] outputs; // per group: dst_layer
      final MemorySegment[] workspaces;
      final MemorySegment h0;
      final MemorySegment c0;
      final MemorySegment hN;
      final MemorySegment cN;

      OneDnnTape(int steps, int batch) {
        this.steps = steps;
        this.batch = batch;
        int n = groups.size();
        inputs = new MemorySegment[n];
        outputs = new MemorySegment[n];
        workspaces = new MemorySegment[n];
        h0 = arena.allocate(stateBytes(batch, hout), 64);
        c0 = lstm ? arena.allocate(stateBytes(batch, hidden), 64) : null;
        hN = arena.allocate(stateBytes(batch, hout), 64);
        cN = lstm ? arena.allocate(stateBytes(batch, hidden), 64) : null;
      }

      @Override
      public void close() {
        arena.close();
      }
    }

    @Override
    public Tape forward(Tensor x, Tensor h0, Tensor c0, Tensor y, Tensor hN, Tensor cN) {
      checkOpen();
      boolean bf = spec.isBatchFirst();
      int steps = x.dim(bf ? 1 : 0);
      int batch = x.dim(bf ? 0 : 1);
      OneDnn.setThreads(ctx.threads);
      Prims[] fwd = prims(steps, batch)[0];
      OneDnnTape tape = new OneDnnTape(steps, batch);
      try (Arena call = Arena.ofConfined()) {
        copyOrZero(h0, tape.h0);
        if (lstm) {
          copyOrZero(c0, tape.c0);
        }
        MemorySegment input = tape.arena.allocate(x.byteSize(), 64).copyFrom(x.segment());
        MemorySegment stream = rawStream();
        try {
          for (int gi = 0; gi < groups.size(); gi++) {
            Group g = groups.get(gi);
            Prims p = fwd[gi];
            MemorySegment output = tape.arena.allocate(layerBytes(steps, batch), 64);
            tape.inputs[gi] = input;
            tape.outputs[gi] = output;
            tape.workspaces[gi] = tape.arena.allocate(Math.max(1, p.workspaceBytes), 64);
            EnumMap<Arg, MemorySegment> data = new EnumMap<>(Arg.class);
            data.put(Arg.SRC_LAYER, input);
            data.put(Arg.DST_LAYER, output);
            data.put(Arg.WORKSPACE, tape.workspaces[gi]);
            states(g, batch, data, tape.h0, tape.c0, Arg.SRC_ITER, Arg.SRC_ITER_C);
            states(g, batch, data, tape.hN, tape.cN, Arg.DST_ITER, Arg.DST_ITER_C);
            MemorySegment scratch = call.allocate(Math.max(1, p.scratchpadBytes), 64);
            execute(p, data, scratch, stream, call);
            input = output;
          }
        } finally {
          Dnnl.dnnl_stream_destroy(stream);
        }
        copyOut(tape.outputs[groups.size() - 1], y);
        copyOut(tape.hN, hN);
        if (lstm) {
          copyOut(tape.cN, cN);
        }
      } catch (RuntimeException | Error e) {
        tape.close();
        throw e;
      }
      return tape;
    }

    @Override
    public void backward(
        Tape t,
        Tensor dy,
        Tensor dhN,
        Tensor dcN,
        Tensor dx,
        Tensor dh0,
        Tensor dc0,
        Map<String, Tensor> grads) {
      checkOpen();
      if (!(t instanceof OneDnnTape tape) || !tape.arena.scope().isAlive()) {
        throw new IllegalArgumentException("the tape does not come from this trainer or is closed");
      }
      int steps = tape.steps;
      int batch = tape.batch;
      OneDnn.setThreads(ctx.threads);
      Prims[] bwd = prims(steps, batch)[1];
      try (Arena call = Arena.ofShared()) {
        MemorySegment dhNs = call.allocate(stateBytes(batch, hout), 64);
        copyOrZero(dhN, dhNs);
        MemorySegment dcNs = lstm ? call.allocate(stateBytes(batch, hidden), 64) : null;
        if (lstm) {
          copyOrZero(dcN, dcNs);
        }
        MemorySegment dh0s = call.allocate(stateBytes(batch, hout), 64);
        MemorySegment dc0s = lstm ? call.allocate(stateBytes(batch, hidden), 64) : null;
        MemorySegment diffDst = call.allocate(layerBytes(steps, batch), 64);
        copyOrZero(dy, diffDst);
        MemorySegment stream = rawStream();
        try {
          for (int gi = groups.size() - 1; gi >= 0; gi--) {
            Group g = groups.get(gi);
            Prims p = bwd[gi];
            MemorySegment diffSrc = call.allocate((long) steps * batch * g.slc * 4, 64);
            EnumMap<Arg, MemorySegment> data = new EnumMap<>(Arg.class);
            data.put(Arg.SRC_LAYER, tape.inputs[gi]);
            data.put(Arg.DST_LAYER, tape.outputs[gi]);
            data.put(Arg.WORKSPACE, tape.workspaces[gi]);
            states(g, batch, data, tape.h0, tape.c0, Arg.SRC_ITER, Arg.SRC_ITER_C);
            states(g, batch, data, tape.hN, tape.cN, Arg.DST_ITER, Arg.DST_ITER_C);
            data.put(Arg.DIFF_DST_LAYER, diffDst);
            data.put(Arg.DIFF_SRC_LAYER, diffSrc);
            states(g, batch, data, dhNs, dcNs, Arg.DIFF_DST_ITER, Arg.DIFF_DST_ITER_C);
            states(g, batch, data, dh0s, dc0s, Arg.DIFF_SRC_ITER, Arg.DIFF_SRC_ITER_C);
            EnumMap<Arg, MemorySegment> diffWeights = new EnumMap<>(Arg.class);
            for (Arg w : g.user.keySet()) {
              Arg diff = Arg.valueOf("DIFF_" + w.name());
              MemorySegment buf =
                  call.allocate(Math.max(1, Dnnl.dnnl_memory_desc_get_size(p.mds.get(diff))), 64);
              buf.fill((byte) 0); // whether oneDNN adds or overwrites, start from zero
              data.put(diff, buf);
              diffWeights.put(diff, buf);
            }
            MemorySegment scratch = call.allocate(Math.max(1, p.scratchpadBytes), 64);
            execute(p, data, scratch, stream, call);
            for (Map.Entry<Arg, MemorySegment> e : diffWeights.entrySet()) {
              addGradients(g, p, e.getKey(), e.getValue(), grads, call);
            }
            diffDst = diffSrc;
          }
        } finally {
          Dnnl.dnnl_stream_destroy(stream);
        }
        copyOut(diffDst, dx);
        copyOut(dh0s, dh0);
        if (lstm) {
          copyOut(dc0s, dc0);
        }
      }
    }

    /** Reorders a weight gradient to the canonical layout and adds it into {@code grads}. */
    private void addGradients(
        Group g, Prims p, Arg diff, MemorySegment value, Map<String, Tensor> grads, Arena call) {
      Arg w = diff.weightOf();
      MemorySegment userMd = g.userMd(call, w);
      MemorySegment plain = call.allocate(Dnnl.dnnl_memory_desc_get_size(userMd), 64);
      MemorySegment dst = memory(userMd, plain, call);
      try {
        reorder(p.mds.get(diff), value, userMd, dst, call);
      } finally {
        Dnnl.dnnl_memory_destroy(dst);
      }
      int k = 0;
      for (int l = g.l0; l < g.l1; l++) {
        for (int d = 0; d < dirs; d++, k++) {
          String pre = op.weightPrefix(node, l, d);
          switch (w) {
            case WEIGHTS_LAYER -> add(grads, pre + "W", plain, k, gates * hidden * g.slc);
            case WEIGHTS_ITER -> add(grads, pre + "R", plain, k, gates * hidden * hout);
            case WEIGHTS_PEEPHOLE -> add(grads, pre + "P", plain, k, 3 * hidden);
            case WEIGHTS_PROJECTION -> add(grads, pre + "Wp", plain, k, hout * hidden);
            case BIAS -> {
              // One bias in oneDNN is bW + bR in jrnn: both get its gradient. With linear before
              // reset, slot 2 is the input candidate bias and slot 3 the recurrent one.
              int per = biasGates() * hidden;
              long base = (long) k * per * 4;
              int[] slots = new int[gates]; // bias slot of each canonical gate
              for (int q = 0; q < gates; q++) {
                slots[q] = q;
              }
              addBias(grads, pre + "bW", plain, base, slots);
              if (lbr) {
                slots[2] = 3;
              }
              addBias(grads, pre + "bR", plain, base, slots);
            }
            default -> throw new IllegalStateException(w.name());
          }
        }
      }
    }

    private void add(Map<String, Tensor> grads, String name, MemorySegment src, int k, int n) {
      Tensor t = grad(grads, name, n);
      MemorySegment to = t.segment();
      long base = (long) k * n * 4;
      for (int i = 0; i < n; i++) {
        to.setAtIndex(
            JAVA_FLOAT, i, to.getAtIndex(JAVA_FLOAT, i) + src.get(JAVA_FLOAT, base + i * 4L));
      }
    }

    private void addBias(
        Map<String, Tensor> grads, String name, MemorySegment src, long base, int[] slots) {
      Tensor t = grad(grads, name, gates * hidden);
      MemorySegment to = t.segment();
      for (int gi = 0; gi < gates; gi++) {
        for (int j = 0; j < hidden; j++) {
          int i = gi * hidden + j;
          float v = src.get(JAVA_FLOAT, base + ((long) slots[gi] * hidden + j) * 4);
          to.setAtIndex(JAVA_FLOAT, i, to.getAtIndex(JAVA_FLOAT, i) + v);
        }
      }
    }

    private Tensor grad(Map<String, Tensor> grads, String name, int size) {
      Tensor t = grads.get(name);
      if (t == null) {
        throw new IllegalArgumentException("no gradient tensor for weight '" + name + "'");
      }
      if (t.size() != size) {
        throw new IllegalArgumentException(
            "gradient tensor for '" + name + "' holds " + t.size() + " floats, the weight " + size);
      }
      return t;
    }

    private void copyOrZero(Tensor src, MemorySegment dst) {
      if (src == null) {
        dst.fill((byte) 0);
      } else {
        if (src.byteSize() != dst.byteSize()) {
          throw new IllegalArgumentException(
              "tensor " + src.describe() + " does not have " + dst.byteSize() / 4 + " elements");
        }
        dst.copyFrom(src.segment());
      }
    }

    private void copyOut(MemorySegment src, Tensor dst) {
      if (dst != null) {
        if (dst.byteSize() != src.byteSize()) {
          throw new IllegalArgumentException(
              "tensor " + dst.describe() + " does not have " + src.byteSize() / 4 + " elements");
        }
        dst.segment().copyFrom(src);
      }
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {
      checkOpen();
      synchronized (groups) {
        for (Group g : groups) {
          g.load(weights);
        }
        prims.clear(); // primitives point at the old reordered weights
        inference.clear();
      }
    }

    private void checkOpen() {
      if (closed) {
        throw new IllegalStateException("trainer is used after close");
      }
    }

    @Override
    public void close() {
      closed = true;
    }
  }
}
