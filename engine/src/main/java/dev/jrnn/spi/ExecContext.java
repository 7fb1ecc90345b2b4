package dev.jrnn.spi;

import java.lang.foreign.MemorySegment;

/** What a running node may use besides its tensors. */
public interface ExecContext {

  /** Threads the session may use for this call. */
  int threads();

  /**
   * 64-byte-aligned scratch memory that stays valid until the call returns; its contents are
   * undefined. Usable from any thread.
   */
  MemorySegment scratch(long bytes);
}
