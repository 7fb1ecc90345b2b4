package dev.jrnn.spi;

import dev.jrnn.kernels.DropoutMask;

/**
 * Which dropout mask a training forward draws where, so that every backend draws the same masks for
 * the same seed (and the backends can be checked against each other with dropout on). Masks come
 * from {@link DropoutMask}; this class fixes their streams and element numbering.
 */
public final class DropoutStreams {

  private DropoutStreams() {}

  /** The stream of node {@code node} in a call with seed {@code ctx.seed()}. */
  public static long node(ExecContext ctx, String node) {
    return DropoutMask.stream(ctx.seed(), node);
  }

  /**
   * The mask on layer {@code l}'s input ({@code l ≥ 1}) in a recurrent stack: element {@code (t·N +
   * n)·C + k} for time step t, batch row n and feature k, time-major whatever the layout.
   */
  public static long betweenLayers(long nodeStream, int l) {
    return DropoutMask.stream(nodeStream, 2L * l);
  }

  /**
   * The variational mask on {@code h(t-1)} of layer {@code l}, direction slot {@code d}: element
   * {@code n·Hout + j} for batch row n (in the caller's order) and unit j, the same every step.
   */
  public static long recurrent(long nodeStream, int l, int d) {
    return DropoutMask.stream(nodeStream, 2L * (2L * l + d) + 1);
  }
}
