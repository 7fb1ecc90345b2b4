package dev.jrnn.kernels;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of threads for one parallel region at a time: the caller is thread 0, {@code size −
 * 1} daemon workers are the rest. Workers spin briefly between regions (so back-to-back calls and
 * per-step barriers cost well under a microsecond) and then park. A region started while another
 * one holds the pool runs on the caller alone, so concurrent callers never wait for each other. A
 * region allocates nothing.
 */
public final class WorkerPool implements AutoCloseable {

  /** Work for a region; {@code tid} is in {@code [0, team.size())}. */
  @FunctionalInterface
  public interface Task {
    void run(Team team, int tid);
  }

  /** How long an idle worker spins before it parks. */
  private static final long SPIN_NANOS = 2_000_000;

  private static final int MAX_GROUPS = 8;

  private final int size;
  private final Thread[] workers;
  private final AtomicBoolean busy = new AtomicBoolean();
  private final Team full;
  private final Team solo;
  private final AtomicInteger done = new AtomicInteger();
  private volatile Task task;
  private volatile int generation;
  private volatile boolean shutdown;
  private volatile Throwable failure;

  /** A pool of {@code size ≥ 1} threads, the caller included. */
  public WorkerPool(int size) {
    if (size < 1) {
      throw new IllegalArgumentException("pool size must be >= 1, got " + size);
    }
    this.size = size;
    this.full = new Team(size);
    this.solo = new Team(1);
    this.workers = new Thread[size - 1];
    for (int i = 0; i < workers.length; i++) {
      int tid = i + 1;
      workers[i] = new Thread(() -> workerLoop(tid), "jrnn-worker-" + tid);
      workers[i].setDaemon(true);
      workers[i].start();
    }
  }

  /** Threads in a full team. */
  public int size() {
    return size;
  }

  /**
   * Runs {@code t} on every thread of the team and returns when all are done; rethrows the first
   * failure. If another region holds the pool, runs {@code t} on the caller as a team of one.
   */
  public void run(Task t) {
    if (size == 1 || !busy.compareAndSet(false, true)) {
      solo.reset();
      t.run(solo, 0);
      return;
    }
    try {
      full.reset();
      failure = null;
      done.set(0);
      task = t;
      generation++;
      for (Thread w : workers) {
        LockSupport.unpark(w);
      }
      try {
        t.run(full, 0);
      } catch (Throwable e) {
        fail(e);
      }
      for (int spins = 0; done.get() < workers.length; spins++) {
        pause(spins);
      }
      task = null;
      Throwable f = failure;
      if (f != null) {
        if (f instanceof RuntimeException r) {
          throw r;
        }
        if (f instanceof Error e) {
          throw e;
        }
        throw new IllegalStateException(f);
      }
    } finally {
      busy.set(false);
    }
  }

  private void fail(Throwable e) {
    if (!(e instanceof Team.Aborted)) {
      synchronized (this) {
        if (failure == null) {
          failure = e;
        }
      }
    }
    full.aborted = true;
  }

  private void workerLoop(int tid) {
    int seen = 0;
    while (true) {
      long spinUntil = System.nanoTime() + SPIN_NANOS;
      while (generation == seen && !shutdown) {
        if (System.nanoTime() < spinUntil) {
          Thread.onSpinWait();
        } else {
          LockSupport.park(this);
        }
      }
      if (shutdown) {
        return;
      }
      seen = generation;
      try {
        task.run(full, tid);
      } catch (Throwable e) {
        fail(e);
      }
      done.incrementAndGet();
    }
  }

  /**
   * Spins first (a barrier usually opens within a microsecond), then yields, so a team larger than
   * the free cores still makes progress instead of spinning out whole time slices.
   */
  static void pause(int spins) {
    if (spins < 2000) {
      Thread.onSpinWait();
    } else {
      Thread.yield();
    }
  }

  @Override
  public void close() {
    shutdown = true;
    for (Thread w : workers) {
      LockSupport.unpark(w);
    }
    for (Thread w : workers) {
      try {
        w.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** The threads of one region: their number and barriers among them. */
  public static final class Team {

    /** Thrown out of a barrier when another thread of the team failed. */
    static final class Aborted extends RuntimeException {
      Aborted() {
        super("another thread of the team failed", null, false, false);
      }
    }

    private final int size;
    private final Barrier all;
    private final Barrier[] groups = new Barrier[MAX_GROUPS];
    volatile boolean aborted;

    Team(int size) {
      this.size = size;
      this.all = new Barrier();
      for (int i = 0; i < MAX_GROUPS; i++) {
        groups[i] = new Barrier();
      }
    }

    void reset() {
      aborted = false;
      all.arrived.set(0);
      for (Barrier b : groups) {
        b.arrived.set(0);
      }
    }

    /** Threads in this team. */
    public int size() {
      return size;
    }

    /** Waits until every thread of the team has called this. */
    public void barrier() {
      if (size > 1) {
        all.await(size, this);
      }
    }

    /** Waits for the {@code parties} threads of group {@code g} (groups split a team). */
    public void barrier(int g, int parties) {
      if (parties > 1) {
        groups[g].await(parties, this);
      }
    }
  }

  /** Sense-reversing spin barrier. */
  private static final class Barrier {
    private final AtomicInteger arrived = new AtomicInteger();
    private volatile int phase;

    void await(int parties, Team team) {
      int ph = phase;
      if (arrived.incrementAndGet() == parties) {
        arrived.set(0);
        phase = ph + 1;
        return;
      }
      for (int spins = 0; phase == ph; spins++) {
        if (team.aborted) {
          throw new Team.Aborted();
        }
        pause(spins);
      }
    }
  }
}
