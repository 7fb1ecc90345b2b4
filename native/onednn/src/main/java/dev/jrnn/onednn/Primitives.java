package dev.jrnn.onednn;

import static dev.jrnn.onednn.OneDnn.check;
import static dev.jrnn.onednn.OneDnn.handle;
import static java.lang.foreign.ValueLayout.ADDRESS;

import dev.jrnn.Precision;
import dev.jrnn.onednn.ffi.Dnnl;
import dev.jrnn.onednn.ffi.dnnl_exec_arg_t;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One weight group's primitive for one shape and propagation kind, and what a call needs to run it:
 * the descriptors it chose, the weights reordered for it (held from the group), its scratchpad and
 * workspace sizes. Owns its native objects: {@link #close} destroys them and gives the weights
 * back.
 */
final class Primitives implements AutoCloseable {

  private static final AtomicInteger LIVE = new AtomicInteger();
  private static final AtomicInteger CREATED = new AtomicInteger();

  private final WeightGroup group;
  private final MemorySegment engine;
  MemorySegment pd = MemorySegment.NULL;
  private MemorySegment primitive = MemorySegment.NULL;
  final EnumMap<Arg, MemorySegment> mds = new EnumMap<>(Arg.class); // valid while pd is
  private final EnumMap<Arg, MemorySegment> weights = new EnumMap<>(Arg.class); // reordered
  private final MemorySegment scratchpadMd;
  final long scratchpadBytes;
  final long workspaceBytes;
  private boolean counted; // in LIVE
  private boolean closed;

  /**
   * Creates the primitive of {@code g} for shape (T, N); {@code hint} is the forward one a backward
   * primitive is made against (it must outlive this one).
   */
  Primitives(
      RnnStack s,
      WeightGroup g,
      int steps,
      int batch,
      boolean first,
      boolean last,
      int range,
      RnnDescriptors.Prop prop,
      Primitives hint) {
    this.group = g;
    this.engine = s.engine;
    try (Arena tmp = Arena.ofConfined()) {
      MemorySegment desc = RnnDescriptors.describe(tmp, s, g, steps, batch, first, last, prop);
      MemorySegment attrOut = tmp.allocate(ADDRESS);
      check(Dnnl.dnnl_primitive_attr_create(attrOut), "dnnl_primitive_attr_create");
      MemorySegment attr = handle(attrOut);
      try {
        // User scratchpad: concurrent calls never share one.
        check(
            Dnnl.dnnl_primitive_attr_set_scratchpad_mode(attr, Dnnl.dnnl_scratchpad_mode_user()),
            "dnnl_primitive_attr_set_scratchpad_mode");
        if (s.precision == Precision.INT8) {
          OneDnn.setRnnDataQparams(attr, Reduced.dataScale(range), Reduced.SHIFT);
          OneDnn.setRnnWeightsQparams(attr, g.int8Scales(), tmp);
        }
        MemorySegment pdOut = tmp.allocate(ADDRESS);
        check(
            Dnnl.dnnl_primitive_desc_create(
                pdOut, desc, attr, engine, hint == null ? MemorySegment.NULL : hint.pd),
            "dnnl_primitive_desc_create");
        pd = handle(pdOut);
        MemorySegment primOut = tmp.allocate(ADDRESS);
        check(Dnnl.dnnl_primitive_create(primOut, pd), "dnnl_primitive_create");
        primitive = handle(primOut);
      } finally {
        Dnnl.dnnl_primitive_attr_destroy(attr);
      }
      for (Arg a : Arg.ALL) {
        mds.put(a, OneDnn.queryMd(pd, Dnnl.dnnl_query_exec_arg_md(), a.dnnl()));
      }
      scratchpadMd = OneDnn.queryMd(pd, Dnnl.dnnl_query_scratchpad_md(), 0);
      scratchpadBytes = Dnnl.dnnl_memory_desc_get_size(scratchpadMd);
      workspaceBytes = Dnnl.dnnl_memory_desc_get_size(mds.get(Arg.WORKSPACE));
      for (Arg a : g.weightArgs()) {
        weights.put(a, g.acquire(a, mds.get(a)));
      }
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
    LIVE.incrementAndGet();
    CREATED.incrementAndGet();
    counted = true;
  }

  /** Primitives made in the process so far, for tests. */
  static int created() {
    return CREATED.get();
  }

  /** Primitives alive in the process, for tests. */
  static int live() {
    return LIVE.get();
  }

  /**
   * Runs the primitive on {@code stream} and waits: data handles for {@code data}, the reordered
   * weights, and {@code scratchpad} ({@link #scratchpadBytes}). The caller keeps every segment
   * alive until this returns.
   */
  void execute(Map<Arg, MemorySegment> data, MemorySegment scratchpad, MemorySegment stream) {
    try (Arena call = Arena.ofConfined()) {
      MemorySegment[] temporaries = new MemorySegment[Arg.ALL.length + 1];
      int made = 0;
      MemorySegment args = dnnl_exec_arg_t.allocateArray(Arg.ALL.length + 1, call);
      int n = 0;
      try {
        for (Arg a : Arg.ALL) {
          MemorySegment mem = weights.get(a);
          MemorySegment d = data.get(a);
          if (mem == null && d != null) {
            mem = OneDnn.memory(engine, mds.get(a), d, call);
            temporaries[made++] = mem;
          }
          if (mem != null) {
            MemorySegment e = dnnl_exec_arg_t.asSlice(args, n++);
            dnnl_exec_arg_t.arg(e, a.dnnl());
            dnnl_exec_arg_t.memory(e, mem);
          }
        }
        if (scratchpadBytes > 0) {
          MemorySegment mem = OneDnn.memory(engine, scratchpadMd, scratchpad, call);
          temporaries[made++] = mem;
          MemorySegment e = dnnl_exec_arg_t.asSlice(args, n++);
          dnnl_exec_arg_t.arg(e, Dnnl.DNNL_ARG_SCRATCHPAD());
          dnnl_exec_arg_t.memory(e, mem);
        }
        check(Dnnl.dnnl_primitive_execute(primitive, stream, n, args), "dnnl_primitive_execute");
        check(Dnnl.dnnl_stream_wait(stream), "dnnl_stream_wait");
      } finally {
        for (int i = 0; i < made; i++) {
          Dnnl.dnnl_memory_destroy(temporaries[i]);
        }
      }
    }
  }

  /** Destroys the primitive and its descriptor, and gives the reordered weights back. */
  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      weights.values().forEach(group::release);
      weights.clear();
      if (counted) {
        LIVE.decrementAndGet();
      }
      if (!primitive.equals(MemorySegment.NULL)) {
        Dnnl.dnnl_primitive_destroy(primitive);
      }
      if (!pd.equals(MemorySegment.NULL)) {
        Dnnl.dnnl_primitive_desc_destroy(pd);
      }
    }
  }
}
