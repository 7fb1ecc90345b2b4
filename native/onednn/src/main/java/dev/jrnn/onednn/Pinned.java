package dev.jrnn.onednn;

import dev.jrnn.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The tensors of one call, {@link Tensor#retain() retained} while oneDNN reads and writes their
 * memory through raw pointers: closing one meanwhile frees nothing until the call ends, and a
 * tensor already closed fails the call with {@link IllegalStateException} before oneDNN sees it.
 * Sessions retain caller tensors too; this keeps the node safe under any caller.
 */
final class Pinned implements AutoCloseable {

  private Tensor[] held = new Tensor[12];
  private int count;

  /** The memory of {@code t}, retained until {@link #close}; null for null. */
  MemorySegment segment(Tensor t) {
    if (t == null) {
      return null;
    }
    t.retain();
    if (count == held.length) {
      held = java.util.Arrays.copyOf(held, count * 2);
    }
    held[count++] = t;
    return t.segment();
  }

  @Override
  public void close() {
    for (int i = count - 1; i >= 0; i--) {
      held[i].release();
      held[i] = null;
    }
    count = 0;
  }
}
