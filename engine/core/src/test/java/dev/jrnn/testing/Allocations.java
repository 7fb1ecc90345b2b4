package dev.jrnn.testing;

import java.lang.management.ManagementFactory;

/** Heap allocation of a call once warm, counted on the calling thread and jrnn's pool workers. */
public final class Allocations {

  private static final com.sun.management.ThreadMXBean MX =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private static long[] workerIds() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("jrnn-worker-"))
        .mapToLong(Thread::threadId)
        .toArray();
  }

  /**
   * Heap bytes allocated per call by this thread and the pool's workers, once warm. The thread list
   * is taken beforehand and the caller's own counter is read last before and first after the loop,
   * so the measurement itself is not counted. Vector code allocates (boxes) until C2 has compiled
   * it, and a kernel called once per run gets hot later than one called once per step, so rounds
   * repeat until one allocates nothing (at most ten): that is the steady state.
   */
  public static long bytesPerCall(Runnable call) {
    for (int i = 0; i < 3000; i++) { // warm-up: compile, size the buffers, build the plan
      call.run();
    }
    long perCall = -1;
    for (int round = 0; round < 10 && perCall != 0; round++) {
      perCall = measure(call, 2000);
    }
    return perCall;
  }

  private static long measure(Runnable call, int calls) {
    long[] workers = workerIds();
    long self = Thread.currentThread().threadId();
    long others = 0;
    for (long id : workers) {
      others -= MX.getThreadAllocatedBytes(id);
    }
    long mine = -MX.getThreadAllocatedBytes(self);
    for (int i = 0; i < calls; i++) {
      call.run();
    }
    mine += MX.getThreadAllocatedBytes(self);
    for (long id : workers) {
      others += MX.getThreadAllocatedBytes(id);
    }
    return (mine + others) / calls;
  }

  private Allocations() {}
}
