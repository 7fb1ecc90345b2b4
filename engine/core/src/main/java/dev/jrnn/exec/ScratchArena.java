package dev.jrnn.exec;

import dev.jrnn.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Scratch memory ({@link dev.jrnn.spi.ExecContext#scratch}) for one call at a time: a bump
 * allocator over native blocks. After a call whose needs outgrew the block, the next reset replaces
 * the blocks with one large enough, so steady state allocates nothing.
 */
final class ScratchArena implements AutoCloseable {

  private static final long ALIGN = Tensor.ALIGNMENT;

  private Arena arena = Arena.ofShared();
  private MemorySegment block = MemorySegment.NULL;
  private long used;
  private long peak;
  private final List<MemorySegment> overflow = new ArrayList<>();

  MemorySegment allocate(long bytes) {
    long aligned = (bytes + ALIGN - 1) & -ALIGN;
    peak += aligned;
    if (used + aligned <= block.byteSize()) {
      MemorySegment s = block.asSlice(used, bytes);
      used += aligned;
      return s;
    }
    MemorySegment s = arena.allocate(Math.max(aligned, ALIGN), ALIGN);
    overflow.add(s);
    return s.asSlice(0, bytes);
  }

  /** Makes all memory reusable; grows the main block if the last call needed more. */
  void reset() {
    if (!overflow.isEmpty()) {
      long size = peak + (peak >> 2);
      arena.close();
      arena = Arena.ofShared();
      block = arena.allocate(size, ALIGN);
      overflow.clear();
    }
    used = 0;
    peak = 0;
  }

  @Override
  public void close() {
    arena.close();
  }
}
