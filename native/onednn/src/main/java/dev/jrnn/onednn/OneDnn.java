package dev.jrnn.onednn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.jrnn.Tensor;
import dev.jrnn.onednn.ffi.Dnnl;
import dev.jrnn.onednn.ffi.dnnl_exec_arg_t;
import dev.jrnn.onednn.ffi.dnnl_memory_desc_t;
import dev.jrnn.onednn.ffi.dnnl_version_t;
import dev.jrnn.spi.Availability;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Map;

/**
 * Small helpers over the generated bindings: loading and versioning, turning a {@code
 * dnnl_status_t} into an exception, the OpenMP thread count of the calling thread, and the memory
 * descriptors, memories, streams and reorders every primitive needs.
 */
final class OneDnn {

  private OneDnn() {}

  private static final Map<Integer, String> STATUS =
      Map.of(
          0, "dnnl_success",
          1, "dnnl_out_of_memory",
          2, "dnnl_invalid_arguments",
          3, "dnnl_unimplemented",
          4, "dnnl_iterator_ends",
          5, "dnnl_runtime_error",
          6, "dnnl_not_required");

  /** Throws naming the function and the status unless {@code status} is success. */
  static void check(int status, String function) {
    if (status != Dnnl.dnnl_success()) {
      throw new OneDnnException(
          function + " failed: " + STATUS.getOrDefault(status, "status " + status));
    }
  }

  /** A oneDNN call failed. */
  static final class OneDnnException extends RuntimeException {
    OneDnnException(String message) {
      super(message);
    }
  }

  /** omp_set_num_threads of the OpenMP runtime libdnnl.so.2 is built with, or null. */
  private static final MethodHandle SET_THREADS = ompSetNumThreads();

  private static MethodHandle ompSetNumThreads() {
    try {
      SymbolLookup gomp = SymbolLookup.libraryLookup("libgomp.so.1", Arena.global());
      return gomp.find("omp_set_num_threads")
          .map(s -> Linker.nativeLinker().downcallHandle(s, FunctionDescriptor.ofVoid(JAVA_INT)))
          .orElse(null);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static final Availability AVAILABILITY = probe();

  /** Whether libdnnl.so.2 loads and speaks the v2 API, with the reason when not. */
  static Availability availability() {
    return AVAILABILITY;
  }

  private static Availability probe() {
    try {
      MemorySegment v = Dnnl.dnnl_version().reinterpret(dnnl_version_t.sizeof());
      int major = dnnl_version_t.major(v);
      int minor = dnnl_version_t.minor(v);
      int patch = dnnl_version_t.patch(v);
      if (major != 2) {
        return Availability.no(
            "libdnnl.so.2 reports oneDNN "
                + major
                + "."
                + minor
                + "; these bindings use the v2 API");
      }
      limitPrimitiveCache();
      return Availability.yes(
          "oneDNN "
              + major
              + "."
              + minor
              + "."
              + patch
              + " (libdnnl.so.2"
              + (SET_THREADS != null ? ", OpenMP)" : ")"));
    } catch (Throwable t) { // ExceptionInInitializerError / NoClassDefFoundError: no library
      Throwable root = t;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      return Availability.no(
          "libdnnl.so.2 cannot be loaded ("
              + root.getMessage()
              + "); install the Debian package libdnnl2 (make deps)");
    }
  }

  /**
   * oneDNN keeps a process-wide cache of primitives (1,024 by default): with one entry per input
   * shape it grew the RSS by ~185 MB over T = 1…2000 even though each node keeps only its 16 most
   * recent shapes. Unless {@code ONEDNN_PRIMITIVE_CACHE_CAPACITY} says otherwise, jrnn caps it at
   * {@code -Djrnn.onednn.primitiveCache} (default 64).
   */
  private static void limitPrimitiveCache() {
    if (System.getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY") != null) {
      return;
    }
    int capacity = Integer.getInteger("jrnn.onednn.primitiveCache", 64);
    check(Dnnl.dnnl_set_primitive_cache_capacity(capacity), "dnnl_set_primitive_cache_capacity");
  }

  /**
   * Sets the OpenMP thread count for parallel regions started by the calling thread (oneDNN's
   * primitives run their work in such regions). OpenMP keeps it per thread, so concurrent callers
   * with different counts do not interfere.
   */
  static void setThreads(int n) {
    if (SET_THREADS != null) {
      try {
        SET_THREADS.invokeExact(n);
      } catch (Throwable e) {
        throw new IllegalStateException("omp_set_num_threads failed", e);
      }
    }
  }

  /**
   * The memory of {@code t} (null for null), handed to oneDNN as a raw pointer: the executor keeps
   * every tensor of a call alive until the call returns (see {@code CompiledNode}).
   */
  static MemorySegment segment(Tensor t) {
    return t == null ? null : t.segment();
  }

  /** Reads the handle a {@code dnnl_*_create(&handle, ...)} call stored. */
  static MemorySegment handle(MemorySegment out) {
    return out.get(ADDRESS, 0);
  }

  /** A memory descriptor of f32 {@code dims} in layout {@code tag}, allocated in {@code arena}. */
  static MemorySegment md(Arena arena, int tag, long... dims) {
    return typedMd(arena, Dnnl.dnnl_f32(), tag, dims);
  }

  /**
   * A memory descriptor of {@code dims} of data type {@code dt} ({@code Dnnl.dnnl_bf16()}, ...); a
   * name of its own, as an overload of {@link #md} would take int dimensions for the type and tag.
   */
  static MemorySegment typedMd(Arena arena, int dt, int tag, long... dims) {
    MemorySegment md = dnnl_memory_desc_t.allocate(arena);
    MemorySegment d = arena.allocateFrom(JAVA_LONG, dims);
    check(
        Dnnl.dnnl_memory_desc_init_by_tag(md, dims.length, d, dt, tag),
        "dnnl_memory_desc_init_by_tag");
    return md;
  }

  // dnnl_cpu_isa_t bits (dnnl_types.h): an ISA's value contains the bits of every ISA it extends.
  // Plain values, not the bindings' constants: reading those loads libdnnl.so.2, which this class
  // must survive the absence of (see availability).
  static final int ISA_AVX512_CORE_VNNI = 0x67;
  static final int ISA_AVX512_CORE_BF16 = 0xe7;

  /**
   * The {@code dnnl_cpu_isa_t} oneDNN dispatches to on this machine (its CPU, capped by {@code
   * ONEDNN_MAX_CPU_ISA}), or 0 where unknown.
   */
  static int effectiveIsa() {
    return availability().available() ? Dnnl.dnnl_get_effective_cpu_isa() : 0;
  }

  /** Whether the effective ISA includes every bit of {@code isa}. */
  static boolean hasIsa(int isa) {
    return (effectiveIsa() & isa) == isa;
  }

  /** {@code dnnl_primitive_attr_set_rnn_data_qparams}: u8 = x · scale + shift, for every state. */
  static void setRnnDataQparams(MemorySegment attr, float scale, float shift) {
    check(
        Dnnl.dnnl_primitive_attr_set_rnn_data_qparams(attr, scale, shift),
        "dnnl_primitive_attr_set_rnn_data_qparams");
  }

  /**
   * {@code dnnl_primitive_attr_set_rnn_weights_qparams} with one scale per output channel (mask 24:
   * the gate and output dimensions of {@code ldigo}): s8 = w · scales[g·H + o].
   */
  static void setRnnWeightsQparams(MemorySegment attr, float[] scales, Arena tmp) {
    MemorySegment s = tmp.allocateFrom(JAVA_FLOAT, scales);
    check(
        Dnnl.dnnl_primitive_attr_set_rnn_weights_qparams(attr, scales.length, 24, s),
        "dnnl_primitive_attr_set_rnn_weights_qparams");
  }

  /** A new primitive attribute, freed with {@code tmp}. */
  static MemorySegment attr(Arena tmp) {
    MemorySegment out = tmp.allocate(ADDRESS);
    check(Dnnl.dnnl_primitive_attr_create(out), "dnnl_primitive_attr_create");
    return handle(out).reinterpret(tmp, Dnnl::dnnl_primitive_attr_destroy);
  }

  /** The descriptor a primitive descriptor holds for {@code what}; valid while {@code pd} is. */
  static MemorySegment queryMd(MemorySegment pd, int what, int index) {
    return Dnnl.dnnl_primitive_desc_query_md(pd, what, index)
        .reinterpret(dnnl_memory_desc_t.sizeof());
  }

  /**
   * A oneDNN memory over {@code data} (not owned: the caller keeps it alive and destroys the memory
   * with {@code dnnl_memory_destroy}); {@code scratch} holds the out-parameter.
   */
  static MemorySegment memory(
      MemorySegment engine, MemorySegment md, MemorySegment data, Arena scratch) {
    MemorySegment out = scratch.allocate(ADDRESS);
    check(Dnnl.dnnl_memory_create(out, md, engine, data), "dnnl_memory_create");
    return handle(out);
  }

  /** A new stream on {@code engine}; the caller destroys it with {@code dnnl_stream_destroy}. */
  static MemorySegment stream(MemorySegment engine) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check(
          Dnnl.dnnl_stream_create(out, engine, Dnnl.dnnl_stream_default_flags()),
          "dnnl_stream_create");
      return handle(out);
    }
  }

  /**
   * Copies {@code src} (plain memory in layout {@code srcMd}) into the oneDNN memory {@code dst}
   * (layout {@code dstMd}) with a one-off reorder primitive and stream.
   */
  static void reorder(
      MemorySegment engine,
      MemorySegment srcMd,
      MemorySegment src,
      MemorySegment dstMd,
      MemorySegment dst,
      Arena tmp) {
    reorder(engine, srcMd, src, dstMd, dst, MemorySegment.NULL, tmp);
  }

  /** {@link #reorder} with primitive attributes {@code attr} (e.g. int8 weight scales). */
  static void reorder(
      MemorySegment engine,
      MemorySegment srcMd,
      MemorySegment src,
      MemorySegment dstMd,
      MemorySegment dst,
      MemorySegment attr,
      Arena tmp) {
    MemorySegment from = memory(engine, srcMd, src, tmp);
    try {
      MemorySegment rpdOut = tmp.allocate(ADDRESS);
      check(
          Dnnl.dnnl_reorder_primitive_desc_create(rpdOut, srcMd, engine, dstMd, engine, attr),
          "dnnl_reorder_primitive_desc_create");
      MemorySegment rpd = handle(rpdOut);
      MemorySegment rprimOut = tmp.allocate(ADDRESS);
      try {
        check(Dnnl.dnnl_primitive_create(rprimOut, rpd), "dnnl_primitive_create (reorder)");
      } finally {
        Dnnl.dnnl_primitive_desc_destroy(rpd);
      }
      MemorySegment rprim = handle(rprimOut);
      try {
        MemorySegment stream = stream(engine);
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
          Dnnl.dnnl_stream_destroy(stream);
        }
      } finally {
        Dnnl.dnnl_primitive_destroy(rprim);
      }
    } finally {
      Dnnl.dnnl_memory_destroy(from);
    }
  }
}
