package dev.jrnn.onednn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.jrnn.onednn.ffi.Dnnl;
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
 * dnnl_status_t} into an exception, and the OpenMP thread count of the calling thread.
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

  /** Reads the handle a {@code dnnl_*_create(&handle, ...)} call stored. */
  static MemorySegment handle(MemorySegment out) {
    return out.get(ADDRESS, 0);
  }
}
