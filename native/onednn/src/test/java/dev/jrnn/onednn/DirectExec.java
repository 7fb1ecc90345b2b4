package dev.jrnn.onednn;

import dev.jrnn.spi.ExecContext;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * An {@link ExecContext} for calling compiled nodes without a session: scratch from an arena freed
 * on close (never reused, so nothing a test reads is overwritten), a cache of its own. One per
 * thread, as a session's workspaces are.
 */
final class DirectExec implements ExecContext, AutoCloseable {

  private final Arena arena = Arena.ofShared();
  private final Map<Object, Object> cache = new HashMap<>();

  @Override
  public int threads() {
    return 1;
  }

  @Override
  public MemorySegment scratch(long bytes) {
    return arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T cache(Object key, Function<Object, T> create) {
    return (T) cache.computeIfAbsent(key, create);
  }

  @Override
  public void close() {
    arena.close();
  }
}
