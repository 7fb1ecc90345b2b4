package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {

  @Test
  void barriersOrderPhases() {
    try (WorkerPool pool = new WorkerPool(3)) {
      int[] slots = new int[3];
      AtomicInteger errors = new AtomicInteger();
      for (int rep = 0; rep < 200; rep++) {
        pool.run(
            (team, tid) -> {
              for (int phase = 1; phase <= 50; phase++) {
                slots[tid] = phase;
                team.barrier();
                for (int s : slots) {
                  if (s != phase) {
                    errors.incrementAndGet();
                  }
                }
                team.barrier();
              }
            });
      }
      assertEquals(0, errors.get());
    }
  }

  @Test
  void failureInAnyThreadReachesTheCallerWithoutDeadlock() {
    try (WorkerPool pool = new WorkerPool(2)) {
      var e =
          assertThrows(
              IllegalStateException.class,
              () ->
                  pool.run(
                      (team, tid) -> {
                        if (tid == 1) {
                          throw new IllegalStateException("boom in worker");
                        }
                        team.barrier(); // would wait forever without the abort
                      }));
      assertEquals("boom in worker", e.getMessage());
      AtomicInteger ran = new AtomicInteger();
      pool.run((team, tid) -> ran.incrementAndGet());
      assertEquals(2, ran.get()); // still usable
    }
  }

  @Test
  void aConcurrentCallerRunsAlone() throws Exception {
    try (WorkerPool pool = new WorkerPool(2)) {
      CountDownLatch inside = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      Thread holder =
          new Thread(
              () ->
                  pool.run(
                      (team, tid) -> {
                        if (tid == 0) {
                          inside.countDown();
                          try {
                            release.await();
                          } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                          }
                        }
                      }));
      holder.start();
      inside.await();
      AtomicInteger size = new AtomicInteger();
      pool.run((team, tid) -> size.set(team.size()));
      assertEquals(1, size.get());
      release.countDown();
      holder.join();
      assertTrue(!holder.isAlive());
    }
  }
}
