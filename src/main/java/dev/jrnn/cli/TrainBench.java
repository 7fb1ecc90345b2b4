package dev.jrnn.cli;

import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.bench.TrainStep;
import dev.jrnn.bench.Workload;
import dev.jrnn.bench.jmh.WorkloadBench;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code jrnn bench --train}: one training step per backend, with and without an Adam update. */
final class TrainBench {

  private TrainBench() {}

  static int run(
      Workload w,
      List<String> engines,
      int threads,
      int runs,
      int warmup,
      boolean json,
      PrintWriter out) {
    double flops = TrainStep.flops(w);
    try (Weights weights = Weights.random(w.graph(), 1);
        Tensor x = WorkloadBench.input(w)) {
      if (!json) {
        out.printf(
            Locale.ROOT,
            "%s: %s, training step = forward + backward of sum(y), %.3f GFLOP%n",
            w.id(),
            w.describe(),
            flops / 1e9);
        out.printf(
            "%-10s %7s %10s %9s %14s %13s %13s%n",
            "backend",
            "threads",
            "median ms",
            "GFLOP/s",
            "+Adam median",
            "max|diff|",
            "workspace MB");
      }
      Map<String, float[]> first = null;
      for (String name : engines) {
        try (TrainStep s = new TrainStep(w, name, threads, weights, x)) {
          Map<String, float[]> g = s.gradients();
          double diff = 0;
          if (first == null) {
            first = g;
          } else {
            for (Map.Entry<String, float[]> e : first.entrySet()) {
              diff = Math.max(diff, Timing.maxAbsDiff(e.getValue(), g.get(e.getKey())));
            }
          }
          double[] ms = Timing.time(s::step, warmup, runs);
          double[] adam = Timing.time(s::stepAndUpdate, warmup, runs);
          double median = Timing.median(ms);
          double workspaceMb; // a fresh node's first step, with the kernels compiled by now
          try (TrainStep fresh = new TrainStep(w, name, threads, weights, x)) {
            workspaceMb = fresh.firstStepBytes() / 1e6;
          }
          double gflops = flops / (median * 1e6);
          if (json) {
            out.printf(
                Locale.ROOT,
                "{\"workload\":\"%s\",\"mode\":\"train\",\"config\":\"%s\",\"backend\":\"%s\","
                    + "\"threads\":%d,\"times_ms\":[%s],\"median_ms\":%.4f,\"gflops\":%.2f,"
                    + "\"adam_times_ms\":[%s],\"adam_median_ms\":%.4f,\"max_abs_diff\":%.3e,"
                    + "\"first_step_heap_mb\":%.1f}%n",
                w.id(),
                w.describe(),
                name,
                threads,
                list(ms),
                median,
                gflops,
                list(adam),
                Timing.median(adam),
                diff,
                workspaceMb);
          } else {
            out.printf(
                Locale.ROOT,
                "%-10s %7d %10.3f %9.1f %14.3f %13s %13.1f%n",
                name,
                threads,
                median,
                gflops,
                Timing.median(adam),
                first == g ? "-" : String.format(Locale.ROOT, "%.2e", diff),
                workspaceMb);
          }
        }
      }
    }
    return 0;
  }

  private static String list(double[] ms) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < ms.length; i++) {
      s.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.4f", ms[i]));
    }
    return s.toString();
  }
}
