package dev.jrnn.opencl;

import static org.jocl.CL.*;

import dev.jrnn.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * What one call in flight needs on the device: an in-order command queue, its own kernel objects (a
 * kernel's arguments are not thread-safe to set) and grow-only scratch buffers by name. A session
 * keeps one lane per workspace ({@code ExecContext.cache}), so concurrent calls never share one and
 * need no lock; the session's context frees every lane on close.
 */
final class Lane implements AutoCloseable {

  private final ClDevice dev;
  private final OpenClContext owner;
  final cl_command_queue queue;

  /** Kernels enqueued by every lane of the process (GEMMs included): for launch counts. */
  static final java.util.concurrent.atomic.AtomicLong LAUNCHES =
      new java.util.concurrent.atomic.AtomicLong();

  private final Map<String, cl_kernel> kernels = new HashMap<>();
  private final Map<String, cl_mem> buffers = new HashMap<>();
  private final Map<String, Long> capacity = new HashMap<>();
  private final Map<String, Long> generations = new HashMap<>();
  // The register-blocked GEMM instead of the local-memory tiles: on CPU devices, unless
  // -Djrnn.opencl.gemm=tiled (read when the lane is made).
  private final boolean blockedGemm;

  Lane(ClDevice dev, OpenClContext owner) {
    this.dev = dev;
    this.owner = owner;
    this.blockedGemm =
        System.getProperty("jrnn.opencl.gemm", dev.gpu ? "tiled" : "blocked").equals("blocked");
    this.queue = clCreateCommandQueue(dev.context, dev.device, 0, null);
  }

  /** The scratch buffer called {@code name} with room for at least {@code bytes}. */
  cl_mem buffer(String name, long bytes) {
    cl_mem m = buffers.get(name);
    if (m != null && capacity.get(name) >= bytes) {
      return m;
    }
    if (m != null) {
      buffers.remove(name);
      capacity.remove(name);
      owner.release(m);
    }
    // A quarter to spare for the next, larger call, unless that passes the device's limit.
    long size = Math.max(64, bytes + bytes / 4);
    if (size > dev.maxAllocation) {
      size = Math.max(64, bytes);
    }
    m = owner.allocate(name, size);
    buffers.put(name, m);
    capacity.put(name, size);
    return m;
  }

  /**
   * Counts a training forward of node {@code key} on this lane and returns its number: its kept
   * buffers hold that pass until the next.
   */
  long bump(String key) {
    return generations.merge(key, 1L, Long::sum);
  }

  /** The number of the last training forward of {@code key} on this lane (0: none). */
  long generation(String key) {
    return generations.getOrDefault(key, 0L);
  }

  /**
   * The work-group size for {@code wanted} work-items of kernel {@code name} in one group: at most
   * the device's and the kernel's limits (CL_KERNEL_WORK_GROUP_SIZE, lower than the device's for
   * kernels heavy in registers on GPUs).
   */
  long workGroup(String name, long wanted) {
    long[] v = new long[1];
    clGetKernelWorkGroupInfo(
        kernel(name), dev.device, CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(v), null);
    return Math.max(1, Math.min(wanted, Math.min(dev.maxWorkGroup, v[0])));
  }

  /** A kernel of the device's program, made for this lane on first use. */
  private cl_kernel kernel(String name) {
    return kernels.computeIfAbsent(name, k -> clCreateKernel(dev.program, k, null));
  }

  /**
   * Enqueues kernel {@code name} over {@code global} work-items (rounded up to {@code local}; null:
   * the device picks), arguments in order: Integer, Long, Float, cl_mem or LocalBytes.
   */
  void launch(String name, long[] global, long[] local, Object... args) {
    cl_kernel k = kernel(name);
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case Integer v -> clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
        case Long v -> clSetKernelArg(k, i, Sizeof.cl_long, Pointer.to(new long[] {v}));
        case Float v -> clSetKernelArg(k, i, Sizeof.cl_float, Pointer.to(new float[] {v}));
        case cl_mem m -> clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(m));
        case LocalBytes l -> clSetKernelArg(k, i, l.bytes(), null);
        default -> throw new IllegalArgumentException("kernel argument " + args[i]);
      }
    }
    long[] g = global.clone();
    for (int d = 0; d < g.length; d++) {
      if (g[d] == 0) {
        return; // nothing to compute
      }
      if (local != null) {
        g[d] = (g[d] + local[d] - 1) / local[d] * local[d];
      }
    }
    LAUNCHES.incrementAndGet();
    clEnqueueNDRangeKernel(queue, k, g.length, null, g, local, 0, null, null);
  }

  /**
   * {@code C[M, N] (+)= A[M, K] · B[N, K]ᵀ (+ bias)}, offsets and leading dimensions in floats: the
   * tiled kernel for many rows, one work-item per column below a tile's height.
   */
  void gemm(
      int m,
      int n,
      int k,
      cl_mem a,
      int offA,
      int lda,
      cl_mem b,
      int offB,
      int ldb,
      cl_mem c,
      int offC,
      int ldc,
      cl_mem bias,
      int offBias,
      boolean accumulate) {
    int flags = (bias != null ? 1 : 0) | (accumulate ? 2 : 0);
    cl_mem bs = bias != null ? bias : b;
    int ts = dev.tile;
    if (blockedGemm) {
      launch(
          "sgemmNtBlocked",
          new long[] {(n + 3) / 4, (m + 3) / 4},
          null,
          m,
          n,
          k,
          a,
          offA,
          lda,
          b,
          offB,
          ldb,
          c,
          offC,
          ldc,
          bs,
          offBias,
          flags);
    } else if (m >= ts) {
      launch(
          "sgemmNtTiled",
          new long[] {n, m},
          new long[] {ts, ts},
          m,
          n,
          k,
          a,
          offA,
          lda,
          b,
          offB,
          ldb,
          c,
          offC,
          ldc,
          bs,
          offBias,
          flags);
    } else {
      launch(
          "sgemmNtFewRows",
          new long[] {n},
          null,
          m,
          n,
          k,
          a,
          offA,
          lda,
          b,
          offB,
          ldb,
          c,
          offC,
          ldc,
          bs,
          offBias,
          flags);
    }
  }

  /** A kernel argument: this many bytes of local memory. */
  record LocalBytes(long bytes) {}

  /** Copies a host tensor into {@code dst} at byte {@code offset} (non-blocking: see finish). */
  void upload(Tensor t, cl_mem dst, long offset) {
    long bytes = t.byteSize();
    if (bytes > 0) {
      clEnqueueWriteBuffer(
          queue, dst, false, offset, bytes, pointer(t.segment(), bytes), 0, null, null);
    }
  }

  /** Copies {@code bytes} of {@code src} at byte {@code offset} into a host tensor, blocking. */
  void download(cl_mem src, long offset, Tensor t) {
    long bytes = t.byteSize();
    if (bytes > 0) {
      clEnqueueReadBuffer(
          queue, src, true, offset, bytes, pointer(t.segment(), bytes), 0, null, null);
    }
  }

  /** Writes {@code values} into {@code dst} at its start, blocking. */
  void upload(int[] values, cl_mem dst) {
    if (values.length > 0) {
      clEnqueueWriteBuffer(
          queue,
          dst,
          true,
          0,
          (long) values.length * Sizeof.cl_int,
          Pointer.to(values),
          0,
          null,
          null);
    }
  }

  /** Fills {@code bytes} of {@code dst} from byte {@code offset} with zeros. */
  void zero(cl_mem dst, long offset, long bytes) {
    if (bytes > 0) {
      clEnqueueFillBuffer(
          queue, dst, Pointer.to(new float[] {0}), Sizeof.cl_float, offset, bytes, 0, null, null);
    }
  }

  void copy(cl_mem src, long srcOffset, cl_mem dst, long dstOffset, long bytes) {
    if (bytes > 0) {
      clEnqueueCopyBuffer(queue, src, dst, srcOffset, dstOffset, bytes, 0, null, null);
    }
  }

  /** Waits until everything enqueued is done: no device work refers to host memory afterwards. */
  void finish() {
    clFinish(queue);
  }

  private static Pointer pointer(MemorySegment s, long bytes) {
    return Pointer.to(s.asSlice(0, bytes).asByteBuffer());
  }

  @Override
  public void close() {
    for (cl_kernel k : kernels.values()) {
      clReleaseKernel(k);
    }
    kernels.clear();
    for (cl_mem m : buffers.values()) {
      owner.release(m);
    }
    buffers.clear();
    clReleaseCommandQueue(queue);
  }
}
