package dev.jrnn.bench.jmh;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** Counts floating-point operations so JMH reports {@code flop} as a rate next to the time. */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class Flops {
  /** Incremented by the benchmark by the FLOPs of each invocation. */
  public long flop;

  @Setup(Level.Iteration)
  public void clear() {
    flop = 0;
  }
}
