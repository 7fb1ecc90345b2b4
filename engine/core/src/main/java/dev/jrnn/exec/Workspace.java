package dev.jrnn.exec;

import dev.jrnn.Tensor;
import dev.jrnn.spi.ExecContext;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.function.Function;

/** What every call on one workspace shares: scratch, node caches, the current plan. */
final class Workspace implements ExecContext, AutoCloseable {
  private final int threads;
  private final ScratchArena scratch = new ScratchArena();
  private final IdentityHashMap<Object, Object> cache = new IdentityHashMap<>();
  Program.Plan plan; // the plan of the last call, reused while input shapes repeat
  private Tensor[] held = new Tensor[8]; // caller tensors retained for the current call
  private int heldCount;
  private long seed;

  Workspace(int threads) {
    this.threads = threads;
  }

  /**
   * Retains a caller's tensor until the call ends, so closing it meanwhile frees nothing a kernel
   * or a native library is still using; throws if it is already closed.
   */
  void hold(Tensor t) {
    t.retain();
    if (heldCount == held.length) {
      held = Arrays.copyOf(held, held.length * 2);
    }
    held[heldCount++] = t;
  }

  /** Sets the seed {@link #seed()} gives until the next call sets another. */
  void seed(long s) {
    seed = s;
  }

  @Override
  public long seed() {
    return seed;
  }

  void releaseHeld() {
    for (int i = 0; i < heldCount; i++) {
      held[i].release();
      held[i] = null;
    }
    heldCount = 0;
  }

  @Override
  public int threads() {
    return threads;
  }

  @Override
  public MemorySegment scratch(long bytes) {
    return scratch.allocate(bytes);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T cache(Object key, Function<Object, T> create) {
    Object v = cache.get(key);
    if (v == null) {
      v = create.apply(key);
      cache.put(key, v);
    }
    return (T) v;
  }

  void reset() {
    scratch.reset();
  }

  @Override
  public void close() {
    if (plan != null) {
      plan.close();
    }
    scratch.close();
  }
}
