package dev.jrnn.opencl;

import static org.jocl.CL.*;

import dev.jrnn.Tensor;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.TrainableNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_mem;

/**
 * One session on the device: the weights of its compiled nodes (uploaded once, at compile) and a
 * {@link Lane} per workspace. {@link #close} releases every buffer, kernel object and queue.
 */
final class OpenClContext implements Backend.Context {

  /** Device buffers this module holds, over all sessions: tests check close brings it back. */
  static final AtomicLong LIVE_BUFFERS = new AtomicLong();

  final ClDevice dev;
  private final List<cl_mem> weights = new ArrayList<>(); // guarded by this
  private final List<Lane> lanes = new ArrayList<>(); // guarded by this
  private boolean closed; // guarded by this
  private cl_command_queue writes; // guarded by this: weight updates, made on first use
  // Bytes of every live buffer of this context, and each buffer's size: guarded by this.
  private long allocated;
  private final java.util.IdentityHashMap<cl_mem, Long> sizes = new java.util.IdentityHashMap<>();

  OpenClContext(ClDevice dev) {
    this.dev = dev;
  }

  @Override
  public CompiledNode compile(Node node, Map<String, Tensor> w) {
    checkOpen();
    return switch (node.op()) {
      case Op.RecurrentLayer r -> new ClRecurrent(this, r, node.name(), w);
      case Op.Embedding e -> ClOps.embedding(this, e, node, w.get(node.name() + ".weight"));
      case Op.Linear l ->
          ClOps.linear(
              this,
              l,
              w.get(node.name() + ".weight"),
              l.bias() ? w.get(node.name() + ".bias") : null);
      case Op.Unary u -> ClOps.unary(this, u.fn());
      case Op.Softmax s -> ClOps.softmax(this, s);
      case Op.LastStep l -> ClOps.lastStep(this, l);
      case Op.Dropout d -> (in, out, ctx) -> out[0].copyFrom(in[0]); // identity at inference
      default ->
          throw new IllegalArgumentException(
              "opencl cannot run " + node.op().kind() + ": " + OpenClBackend.whyNot(node));
    };
  }

  /**
   * Recurrent layers, dropout inside their stacks included ({@link ClRecurrentBackward}), and the
   * ops around them ({@link ClOpsTraining}) train on the device; the host ops on java.
   */
  @Override
  public TrainableNode compileForTraining(Node node, Map<String, Tensor> w) {
    checkOpen();
    return switch (node.op()) {
      case Op.RecurrentLayer r -> new ClRecurrent(this, r, node.name(), w, true);
      case Op.Linear l -> new ClOpsTraining.Linear(this, l, node.name(), w);
      case Op.Embedding e -> new ClOpsTraining.Embedding(this, e, node, w);
      case Op.Unary u -> new ClOpsTraining.Unary(this, u.fn());
      case Op.Softmax s -> new ClOpsTraining.Softmax(this, s);
      case Op.LastStep l -> new ClOpsTraining.LastStep(this, l);
      case Op.Dropout d -> new ClOpsTraining.Dropout(this, d, node.name());
      default -> null;
    };
  }

  /** Overwrites a weight buffer with {@code values} (same size), blocking. */
  synchronized void write(cl_mem buffer, float[] values) {
    checkOpen();
    if (values.length == 0) {
      return;
    }
    if (writes == null) {
      writes = clCreateCommandQueue(dev.context, dev.device, 0, null);
    }
    clEnqueueWriteBuffer(
        writes, buffer, true, 0, (long) values.length * 4, Pointer.to(values), 0, null, null);
  }

  /** Uploads {@code values} into a new read-only buffer kept until close. */
  cl_mem weights(float[] values) {
    long bytes = Math.max(4L, (long) values.length * 4);
    cl_mem m;
    synchronized (this) {
      checkOpen();
      reserve("weights", bytes);
      m =
          clCreateBuffer(
              dev.context,
              CL_MEM_READ_ONLY | (values.length > 0 ? CL_MEM_COPY_HOST_PTR : 0),
              bytes,
              values.length > 0 ? Pointer.to(values) : null,
              null);
      LIVE_BUFFERS.incrementAndGet();
      sizes.put(m, bytes);
      weights.add(m);
    }
    return m;
  }

  /** This call's lane (one per workspace, made on first use). */
  Lane lane(ExecContext ctx) {
    return ctx.cache(
        this,
        k -> {
          synchronized (this) {
            checkOpen();
            Lane l = new Lane(dev, this);
            lanes.add(l);
            return l;
          }
        });
  }

  /**
   * A new read-write buffer of {@code bytes} called {@code name} (for the error): checked against
   * the device's largest allocation and the global memory this context's buffers leave, so a shape
   * too large fails saying which buffer and limit rather than with clCreateBuffer's status.
   */
  synchronized cl_mem allocate(String name, long bytes) {
    reserve(name, bytes);
    cl_mem m = clCreateBuffer(dev.context, CL_MEM_READ_WRITE, bytes, null, null);
    LIVE_BUFFERS.incrementAndGet();
    sizes.put(m, bytes);
    return m;
  }

  /** Counts {@code bytes} against the device's limits; throws naming the buffer when over. */
  private void reserve(String name, long bytes) {
    if (bytes > dev.maxAllocation) {
      throw new IllegalStateException(
          "the opencl buffer '"
              + name
              + "' needs "
              + bytes
              + " bytes ("
              + mib(bytes)
              + "), more than the largest buffer "
              + dev.deviceName
              + " allows (CL_DEVICE_MAX_MEM_ALLOC_SIZE "
              + mib(dev.maxAllocation)
              + "); use a smaller batch or sequence, or a device with more memory");
    }
    if (allocated + bytes > dev.globalMemory) {
      throw new IllegalStateException(
          "the opencl buffer '"
              + name
              + "' needs "
              + mib(bytes)
              + " but the session's buffers already hold "
              + mib(allocated)
              + " of the "
              + mib(dev.globalMemory)
              + " global memory of "
              + dev.deviceName
              + " (CL_DEVICE_GLOBAL_MEM_SIZE); use a smaller batch or sequence, or a device with"
              + " more memory");
    }
    allocated += bytes;
  }

  private static String mib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
  }

  synchronized void release(cl_mem m) {
    clReleaseMemObject(m);
    LIVE_BUFFERS.decrementAndGet();
    Long bytes = sizes.remove(m);
    if (bytes != null) {
      allocated -= bytes;
    }
  }

  synchronized void checkOpen() {
    if (closed) {
      throw new IllegalStateException("opencl context is used after close");
    }
  }

  /** Releases every lane (queue, kernels, scratch) and every weight buffer. */
  @Override
  public void close() {
    List<Lane> ls;
    List<cl_mem> ws;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      ls = new ArrayList<>(lanes);
      ws = new ArrayList<>(weights);
      if (writes != null) {
        clReleaseCommandQueue(writes);
        writes = null;
      }
      lanes.clear();
      weights.clear();
    }
    for (Lane l : ls) {
      l.close();
    }
    for (cl_mem m : ws) {
      release(m);
    }
  }
}
