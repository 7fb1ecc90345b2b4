package dev.jrnn.testing;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Closing things while calls use them, on one backend: a session closed under running runs and
 * steps, tensors and states closed under a call in flight, a state stepped by two threads. Every
 * call either completes or fails with an exception naming what was closed or busy; nothing crashes,
 * hangs, or writes into memory that was handed back. Subclass per backend.
 */
public abstract class LifecycleSuite {

  /** The backend under test, with {@code threads} threads per call. */
  protected abstract Options options(int threads);

  /** Rounds per race; each is short. */
  protected int rounds() {
    return 20;
  }

  static final long TIMEOUT_S = 60;

  /** Big enough that a call takes a while (the races need calls in flight). */
  static Graph model() {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(64));
          Value y = b.recurrent(x, Recurrent.lstm(128).name("rnn"));
          b.output("y", y);
          b.output("h", y.finalH());
        });
  }

  static Tensor input(int steps, int batch) {
    Tensor t = Tensor.allocate(DType.F32, steps, batch, 64);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) Math.sin(i * 0.37));
    }
    return t;
  }

  /** Runs {@code task} on {@code n} threads; fails the test if they do not end in time. */
  private static void race(int n, ThrowingTask task) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int id = i;
        fs.add(
            pool.submit(
                () -> {
                  task.run(id);
                  return null;
                }));
      }
      for (Future<?> f : fs) {
        try {
          f.get(TIMEOUT_S, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
          fail("a call did not end within " + TIMEOUT_S + " s: hung");
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  interface ThrowingTask {
    void run(int id) throws Exception;
  }

  /** Runs {@code call}; an exception is fine only if {@code expected} accepts its message. */
  private static void expectCleanly(Runnable call, Predicate<String> expected) {
    try {
      call.run();
    } catch (IllegalStateException | IllegalArgumentException e) {
      String m = String.valueOf(e.getMessage());
      if (!expected.test(m)) {
        throw new AssertionError("unexpected failure: " + e, e);
      }
    }
  }

  private static boolean closedOrBusy(String m) {
    return m.contains("used after close") || m.contains("being stepped by another thread");
  }

  @Test
  void closingTheSessionUnderRunsAndStepsEndsThemCleanly() throws Exception {
    Graph g = model();
    try (Weights w = Weights.random(g, 1);
        Tensor x = input(16, 2)) {
      for (int round = 0; round < rounds(); round++) {
        Session s = Session.open(g, w, options(1));
        CountDownLatch started = new CountDownLatch(3);
        AtomicBoolean stop = new AtomicBoolean();
        race(
            4,
            id -> {
              if (id == 3) {
                started.await();
                s.close();
                stop.set(true);
                return;
              }
              started.countDown();
              State st = id == 0 ? null : newStateOrNull(s);
              while (!stop.get()) {
                expectCleanly(
                    () -> {
                      if (st == null) {
                        s.run(Map.of("x", x)).close();
                      } else {
                        s.step(st, Map.of("x", x)).close();
                      }
                    },
                    LifecycleSuite::closedOrBusy);
              }
              if (st != null) {
                st.close();
              }
            });
        IllegalStateException closed =
            assertThrows(IllegalStateException.class, () -> s.run(Map.of("x", x)));
        assertTrue(closed.getMessage().contains("session is used after close"), closed.toString());
      }
    }
  }

  private static State newStateOrNull(Session s) {
    try {
      return s.newState();
    } catch (IllegalStateException e) {
      return null; // closed already: run instead
    }
  }

  /**
   * An output, an input or a state closed while a call uses it: the memory stays valid until the
   * call ends (a tensor allocated meanwhile is never written by it), the call completes or names
   * the closed tensor.
   */
  @Test
  void tensorsAndStatesClosedUnderACallAreNotWrittenAfterwards() throws Exception {
    Graph g = model();
    try (Weights w = Weights.random(g, 2);
        Session s = Session.open(g, w, options(1))) {
      AtomicInteger midCall = new AtomicInteger(); // rounds whose close landed during the call
      // On a loaded machine the closing thread may miss every call of rounds() rounds: go on (up
      // to 20 times as many) until one close has landed mid-call, so the race is really exercised.
      for (int round = 0;
          round < rounds() || (midCall.get() == 0 && round < 20 * rounds());
          round++) {
        int which = round % 3; // 0: output, 1: input, 2: state
        Tensor x = input(48, 4);
        Tensor y = Tensor.allocate(DType.F32, 48, 4, 128);
        Tensor h = Tensor.allocate(DType.F32, 1, 4, 128);
        State st = s.newState();
        CountDownLatch inFlight = new CountDownLatch(1);
        AtomicBoolean calling = new AtomicBoolean(true);
        List<Tensor> sentinels = new ArrayList<>();
        race(
            2,
            id -> {
              if (id == 0) {
                inFlight.countDown();
                try {
                  expectCleanly(
                      () -> {
                        if (which == 2) {
                          s.step(st, Map.of("x", x), Map.of("y", y, "h", h));
                        } else {
                          s.run(Map.of("x", x), Map.of("y", y, "h", h));
                        }
                      },
                      m -> m.contains("used after close"));
                } finally {
                  calling.set(false);
                }
              } else {
                inFlight.await();
                Thread.sleep(0, 200_000);
                switch (which) {
                  case 0 -> y.close();
                  case 1 -> x.close();
                  default -> st.close();
                }
                if (calling.get()) {
                  midCall.incrementAndGet();
                }
                for (int k = 0; k < 4; k++) { // memory the allocator may hand out again
                  Tensor t = Tensor.allocate(DType.F32, 48, 4, 128);
                  fill(t, -12345f);
                  sentinels.add(t);
                }
              }
            });
        for (Tensor t : sentinels) {
          for (long i = 0; i < t.size(); i++) {
            if (t.getFloat(i) != -12345f) {
              fail(
                  "a tensor allocated after the close was written at "
                      + i
                      + " (round "
                      + round
                      + ")");
            }
          }
          t.close();
        }
        x.close();
        y.close();
        h.close();
        st.close();
      }
      assertTrue(midCall.get() > 0, "no close landed while a call was in flight");
    }
  }

  private static void fill(Tensor t, float v) {
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, v);
    }
  }

  /**
   * A second thread stepping a state that another is stepping gets an exception and leaves the
   * session usable: later runs work and close() returns (it used to keep a read lock forever).
   */
  @Test
  void aStateSteppedByTwoThreadsFailsOneAndDeadlocksNothing() throws Exception {
    Graph g = model();
    try (Weights w = Weights.random(g, 3);
        Tensor big = input(200, 8);
        Tensor small = input(2, 8)) {
      Session s = Session.open(g, w, options(1));
      State st = s.newState();
      AtomicInteger refused = new AtomicInteger();
      AtomicBoolean stop = new AtomicBoolean();
      race(
          2,
          id -> { // a long-stepping thread and a short-stepping one; either may find it busy
            Tensor x = id == 0 ? big : small;
            for (int i = 0; refused.get() == 0 && !stop.get() && (id != 0 || i < 200); i++) {
              try {
                s.step(st, Map.of("x", x)).close();
              } catch (IllegalStateException e) {
                assertTrue(
                    e.getMessage().contains("being stepped by another thread"), e.toString());
                refused.incrementAndGet();
              }
            }
            stop.set(true);
          });
      assertTrue(refused.get() > 0, "neither thread ever found the state busy");
      try (Result r = s.run(Map.of("x", small))) {
        assertEquals(2 * 8 * 128, r.get("y").size());
      }
      race(1, id -> s.close());
      st.close();
    }
  }
}
