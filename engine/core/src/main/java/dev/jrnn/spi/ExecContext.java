package dev.jrnn.spi;

import java.lang.foreign.MemorySegment;
import java.util.function.Function;

/** What a running node may use besides its tensors. */
public interface ExecContext {

  /** Threads the session may use for this call. */
  int threads();

  /**
   * 64-byte-aligned scratch memory that stays valid until the call returns; its contents are
   * undefined. Usable from any thread.
   */
  MemorySegment scratch(long bytes);

  /**
   * The seed of this call's random choices (dropout masks in a training forward; 0 otherwise).
   * Nodes mix in their own name, so two dropout nodes draw different masks; see {@code
   * dev.jrnn.kernels.DropoutMask}.
   */
  default long seed() {
    return 0;
  }

  /**
   * An object kept between calls for {@code key} (typically the compiled node) on this call's
   * workspace, made by {@code create} on first use. Calls never share one concurrently, so a node
   * can keep reusable buffers here and allocate nothing once warm.
   */
  <T> T cache(Object key, Function<Object, T> create);
}
