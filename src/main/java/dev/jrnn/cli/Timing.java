package dev.jrnn.cli;

import java.util.Arrays;

/** Timing and comparison shared by the commands that measure. */
final class Timing {

  private Timing() {}

  /**
   * Runs {@code call} untimed for {@code warmupSeconds} (at least three times, so the JIT has seen
   * it), then {@code runs} times timed; returns each timed run's milliseconds in order.
   */
  static double[] time(Runnable call, double warmupSeconds, int runs) {
    long until = System.nanoTime() + (long) (warmupSeconds * 1e9);
    for (int i = 0; i < 3 || System.nanoTime() < until; i++) {
      call.run();
    }
    double[] ms = new double[runs];
    for (int i = 0; i < runs; i++) {
      long t0 = System.nanoTime();
      call.run();
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    return ms;
  }

  /** The median (mean of the middle two for an even count). */
  static double median(double[] ms) {
    double[] s = ms.clone();
    Arrays.sort(s);
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  static double min(double[] ms) {
    return Arrays.stream(ms).min().orElse(Double.NaN);
  }

  static double max(double[] ms) {
    return Arrays.stream(ms).max().orElse(Double.NaN);
  }

  /** Largest |a[i] − b[i]|, in double. */
  static double maxAbsDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs((double) a[i] - b[i]));
    }
    return m;
  }
}
