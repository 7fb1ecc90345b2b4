package dev.jrnn.bench.jmh;

import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.bench.Engine;
import dev.jrnn.bench.Workload;
import dev.jrnn.kernels.Simd;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * {@code make bench}: the standard suite in one run and one table. Measures the machine's FMA peak
 * (1 and 2 threads), the SGEMM kernel at 1024³ on one core, and W1–W5 on every available jrnn
 * backend and on ONNX Runtime Java, with 1 and 2 threads, all under JMH; checks every engine's
 * output against the {@code reference} backend; prints workload × engine × threads → median ms,
 * GFLOP/s, % of peak, time relative to the best peer (ONNX Runtime, oneDNN) and the max difference.
 * The table is also written to {@code bench/target/bench-table.md}.
 *
 * <p>Options: {@code --workloads W1,W3}, {@code --engines java,ort}, {@code --threads 1,2}, {@code
 * --quick} (shorter JMH iterations).
 */
public final class Suite {

  /** Engines that are peers (not jrnn); the ratio column compares against the best of them. */
  static final List<String> PEERS = List.of("ort", "onednn");

  private Suite() {}

  public static void main(String[] args) throws RunnerException, IOException {
    Map<String, String> opt = parse(args);
    List<String> workloads = List.of(opt.getOrDefault("workloads", "W1,W2,W3,W4,W5").split(","));
    List<String> threads = List.of(opt.getOrDefault("threads", "1,2").split(","));
    List<String> engines =
        opt.containsKey("engines") ? List.of(opt.get("engines").split(",")) : defaultEngines();
    boolean quick = opt.containsKey("quick");
    System.out.println("engines: " + engines + "; vectors: " + Simd.describe());

    Map<String, Double> diffs = checkOutputs(workloads, engines);

    double[] peak = new double[3];
    for (String t : threads) {
      int n = Integer.parseInt(t);
      Collection<RunResult> r = run(PeakBench.class, quick, n, Map.of());
      peak[Math.min(n, 2)] = r.iterator().next().getSecondaryResults().get("flop").getScore() / 1e9;
    }
    Collection<RunResult> sgemm = run(SgemmBench.class, quick, 1, Map.of());
    Collection<RunResult> wl =
        run(
            WorkloadBench.class,
            quick,
            1,
            Map.of(
                "workload", workloads.toArray(String[]::new),
                "engine", engines.toArray(String[]::new),
                "threads", threads.toArray(String[]::new)));

    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            Locale.ROOT,
            "FMA peak measured (Vector API, %s): %.0f GFLOP/s on 1 thread%s%n%n",
            Simd.describe(),
            peak[1],
            peak[2] > 0 ? String.format(Locale.ROOT, ", %.0f on 2", peak[2]) : ""));
    for (RunResult r : sgemm) {
      double ms = r.getPrimaryResult().getStatistics().getPercentile(50);
      int size = Integer.parseInt(r.getParams().getParam("size"));
      double gf = 2.0 * size * size * size / (ms * 1e6);
      out.append(
          String.format(
              Locale.ROOT,
              "SGEMM %d³ %-10s 1 thread: median %.2f ms, %.0f GFLOP/s, %.0f%% of peak%n",
              size,
              r.getParams().getBenchmark().replaceAll(".*\\.", ""),
              ms,
              gf,
              100 * gf / peak[1]));
    }
    out.append('\n');
    out.append(table(wl, peak, diffs));
    out.append(
        String.format(
            "%nvs best peer: time / the fastest of %s at the same threads (below 1 is faster).%n"
                + "max|diff|: largest absolute difference of y from the reference backend.%n"
                + "Measured %s with `make bench` (JMH: 1 fork, %s).%n",
            PEERS,
            LocalDate.now(),
            quick
                ? "2 x 0.5 s warm-up, 3 x 0.5 s measurement"
                : "3 x 1 s warm-up, 5 x 1 s measurement"));
    System.out.println();
    System.out.print(out);
    Path file = Path.of("bench", "target", "bench-table.md");
    if (Files.isDirectory(file.getParent())) {
      Files.writeString(file, out.toString());
      System.out.println("written to " + file);
    }
  }

  private static List<String> defaultEngines() {
    List<String> e = new ArrayList<>();
    for (Backend b : Backends.all()) {
      if (!b.name().equals("reference")
          && !b.name().startsWith("test")
          && b.availability().available()) {
        e.add(b.name());
      }
    }
    e.add("ort");
    return e;
  }

  /** Max |y − reference y| per workload/engine (1 thread); reference runs once per workload. */
  private static Map<String, Double> checkOutputs(List<String> workloads, List<String> engines) {
    Map<String, Double> diffs = new LinkedHashMap<>();
    for (String id : workloads) {
      Workload w = Workload.byId(id);
      try (Weights weights = Weights.random(w.graph(), 1);
          Tensor x = WorkloadBench.input(w)) {
        float[] ref;
        long t0 = System.nanoTime();
        try (Engine e = Engine.open("reference", w, 1, weights, x)) {
          e.run();
          ref = e.output();
        }
        System.out.printf(
            Locale.ROOT, "%s: reference output in %.1f s%n", id, (System.nanoTime() - t0) / 1e9);
        for (String name : engines) {
          try (Engine e = Engine.open(name, w, 1, weights, x)) {
            e.run();
            float[] y = e.output();
            double d = 0;
            for (int i = 0; i < y.length; i++) {
              d = Math.max(d, Math.abs((double) y[i] - ref[i]));
            }
            diffs.put(id + "/" + name, d);
          }
        }
      }
    }
    return diffs;
  }

  private static Collection<RunResult> run(
      Class<?> bench, boolean quick, int threads, Map<String, String[]> params)
      throws RunnerException {
    ChainedOptionsBuilder o =
        new OptionsBuilder()
            .include(bench.getName() + "\\.")
            .threads(threads)
            .shouldFailOnError(true);
    if (quick) {
      o =
          o.warmupIterations(2)
              .warmupTime(TimeValue.milliseconds(500))
              .measurementIterations(3)
              .measurementTime(TimeValue.milliseconds(500));
    }
    for (Map.Entry<String, String[]> p : params.entrySet()) {
      o = o.param(p.getKey(), p.getValue());
    }
    return new Runner(o.build()).run();
  }

  /** One row per workload × engine × threads. */
  static String table(Collection<RunResult> results, double[] peak, Map<String, Double> diffs) {
    Map<String, Double> median = new LinkedHashMap<>();
    for (RunResult r : results) {
      var p = r.getParams();
      String key =
          p.getParam("workload") + "/" + p.getParam("engine") + "/" + p.getParam("threads");
      median.put(key, r.getPrimaryResult().getStatistics().getPercentile(50));
    }
    List<String> keys = new ArrayList<>(median.keySet());
    keys.sort(
        java.util.Comparator.comparing((String key) -> key.split("/")[0])
            .thenComparing(key -> key.split("/")[2])
            .thenComparing(key -> PEERS.contains(key.split("/")[1]) ? 1 : 0)
            .thenComparing(key -> key.split("/")[1]));
    StringBuilder s = new StringBuilder();
    s.append(
        "| workload | engine | threads | median ms | GFLOP/s | % of peak | vs best peer | max|diff| |\n");
    s.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (String key : keys) {
      String[] k = key.split("/");
      Workload w = Workload.byId(k[0]);
      int t = Integer.parseInt(k[2]);
      double ms = median.get(key);
      double gf = w.flops() / (ms * 1e6);
      double best = Double.POSITIVE_INFINITY;
      for (String peer : PEERS) {
        Double m = median.get(k[0] + "/" + peer + "/" + k[2]);
        if (m != null) {
          best = Math.min(best, m);
        }
      }
      String ratio =
          best == Double.POSITIVE_INFINITY ? "–" : String.format(Locale.ROOT, "%.2f×", ms / best);
      Double d = diffs.get(k[0] + "/" + k[1]);
      s.append(
          String.format(
              Locale.ROOT,
              "| %s %s | %s | %d | %.3f | %.1f | %.0f%% | %s | %s |%n",
              k[0],
              w.describe(),
              k[1],
              t,
              ms,
              gf,
              100 * gf / peak[Math.min(t, 2)],
              ratio,
              d == null ? "–" : String.format(Locale.ROOT, "%.1e", d)));
    }
    return s.toString();
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + args[i]);
      }
      String k = args[i].substring(2);
      if (k.equals("quick")) {
        m.put(k, "");
      } else if (i + 1 < args.length) {
        m.put(k, args[++i]);
      } else {
        throw new IllegalArgumentException("--" + k + " needs a value");
      }
    }
    return m;
  }
}
