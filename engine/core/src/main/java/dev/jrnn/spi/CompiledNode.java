package dev.jrnn.spi;

import dev.jrnn.Tensor;

/**
 * A node prepared by a backend. {@link #run} may be called concurrently from several threads with
 * different tensors; it must not keep per-call state in fields. The executor keeps every tensor it
 * passes alive until the call returns (caller tensors are {@link Tensor#retain() retained}, the
 * others are its own), so a backend may hand their memory to native code as raw pointers.
 */
public interface CompiledNode {

  /**
   * Computes the outputs. {@code inputs} are in node order, null for an absent optional input;
   * {@code outputs} have their shapes already resolved, null where no one reads that output. Input
   * shapes have been checked against the op. Output contents are undefined on entry: write every
   * element (zeros included).
   */
  void run(Tensor[] inputs, Tensor[] outputs, ExecContext ctx);
}
