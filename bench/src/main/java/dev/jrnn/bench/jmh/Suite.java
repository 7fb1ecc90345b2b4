package dev.jrnn.bench.jmh;

import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.bench.Engine;
import dev.jrnn.bench.Workload;
import dev.jrnn.kernels.Simd;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiPredicate;
import javax.imageio.ImageIO;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * {@code make bench}: the standard suite in one run and one table. Measures the machine's FMA peak
 * (1 and 2 threads), the SGEMM kernel at 1024³ on one core, and W1–W5 on every available jrnn
 * backend and on ONNX Runtime Java, with 1 and 2 threads, all under JMH; then the reduced-precision
 * weights (bf16, int8) on each jrnn backend whose session reads them natively, at W1, W2, W4 and W5
 * (a backend the session widens to f32 is listed, not timed). Checks every engine's output against
 * the {@code reference} backend in f32; prints workload × engine × precision × threads → median ms,
 * GFLOP/s, % of peak, GB/s of recurrent weight traffic, time relative to the best f32 peer (ONNX
 * Runtime, oneDNN) and the max difference. The table is also written to {@code
 * bench/target/bench-table.md}, and a chart of each workload's times relative to the best peer to
 * {@code bench/target/bench-chart.png}.
 *
 * <p>Options: {@code --workloads W1,W3}, {@code --engines java,ort}, {@code --threads 1,2}, {@code
 * --precisions f32,bf16,int8}, {@code --reduced-workloads W1,W2} (where every backend's reduced
 * precisions are timed), {@code --quick} (shorter JMH iterations).
 */
public final class Suite {

  /**
   * Engines that are peers (not jrnn); the ratio column compares against the best of them in f32.
   */
  static final List<String> PEERS = List.of("ort", "onednn");

  /**
   * Where the jrnn backends' reduced precisions are timed by default: batch 1 (bandwidth-bound, and
   * onednn's step loop on AMX/VNNI products) and batch 64 (compute-bound), LSTM and GRU. W3 is left
   * out to keep {@code make bench} near eight minutes.
   */
  static final List<String> REDUCED = List.of("W1", "W2", "W4", "W5");

  /** One-second JMH iterations per workload trial (without {@code --quick}). */
  static final int WORKLOAD_WARMUPS = 2;

  static final int WORKLOAD_MEASUREMENTS = 4;

  /** One chart panel's size in pixels. */
  static final int PANEL_WIDTH = 760;

  static final int PANEL_HEIGHT = 420;

  static {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  /**
   * One timed configuration.
   *
   * @param workload W1–W5
   * @param engine a jrnn backend or {@code ort}
   * @param precision the precision the engine read the weight matrices in
   * @param threads threads per engine
   * @param medianMs the median time of one forward pass
   */
  record Row(String workload, String engine, Precision precision, int threads, double medianMs) {

    /** "java bf16". */
    String series() {
      return engine + " " + label(precision);
    }
  }

  /**
   * What the output check found: the max |y − reference y| by "workload/engine/precision", the
   * workloads each jrnn engine reads each reduced precision at natively, and the engine/precision
   * pairs the session widened to f32 (with the workloads where it did).
   */
  record Check(
      Map<String, Double> diffs,
      Map<String, Map<Precision, List<String>>> reduced,
      Map<String, List<String>> widened) {}

  private Suite() {}

  public static void main(String[] args) throws RunnerException, IOException {
    Map<String, String> opt = parse(args);
    List<String> workloads = List.of(opt.getOrDefault("workloads", "W1,W2,W3,W4,W5").split(","));
    List<String> threads = List.of(opt.getOrDefault("threads", "1,2").split(","));
    List<String> engines =
        opt.containsKey("engines") ? List.of(opt.get("engines").split(",")) : defaultEngines();
    List<Precision> precisions = new ArrayList<>();
    for (String p : opt.getOrDefault("precisions", "f32,bf16,int8").split(",")) {
      precisions.add(Precision.parse(p));
    }
    List<String> reducedOption =
        opt.containsKey("reduced-workloads")
            ? List.of(opt.get("reduced-workloads").split(","))
            : null;
    BiPredicate<String, String> reducedAt =
        (engine, workload) ->
            (reducedOption != null ? reducedOption : REDUCED)
                .stream().anyMatch(workload::equalsIgnoreCase);
    boolean quick = opt.containsKey("quick");
    System.out.println(
        "engines: "
            + engines
            + "; precisions: "
            + labels(precisions)
            + "; vectors: "
            + Simd.describe());

    Check check = checkOutputs(workloads, engines, precisions, reducedAt);

    double[] peak = new double[3];
    for (String t : threads) {
      int n = Integer.parseInt(t);
      Collection<RunResult> r = run(PeakBench.class, quick, n, Map.of());
      peak[Math.min(n, 2)] = r.iterator().next().getSecondaryResults().get("flop").getScore() / 1e9;
    }
    Collection<RunResult> sgemm = run(SgemmBench.class, quick, 1, Map.of());
    List<Row> rows = new ArrayList<>();
    if (precisions.contains(Precision.F32)) {
      rows.addAll(
          rows(
              run(
                  WorkloadBench.class,
                  quick,
                  1,
                  Map.of(
                      "workload", workloads.toArray(String[]::new),
                      "engine", engines.toArray(String[]::new),
                      "threads", threads.toArray(String[]::new),
                      "precision", new String[] {"f32"}))));
    }
    for (Map.Entry<String, Map<Precision, List<String>>> e : check.reduced().entrySet()) {
      for (Map.Entry<Precision, List<String>> p : e.getValue().entrySet()) {
        rows.addAll(
            rows(
                run(
                    WorkloadBench.class,
                    quick,
                    1,
                    Map.of(
                        "workload",
                        p.getValue().toArray(String[]::new),
                        "engine",
                        new String[] {e.getKey()},
                        "threads",
                        threads.toArray(String[]::new),
                        "precision",
                        new String[] {label(p.getKey())}))));
      }
    }

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
    out.append(table(rows, peak, check.diffs()));
    out.append(
        String.format(
            "%nvs best peer: time / the fastest of %s in f32 at the same threads (below 1 is faster).%n"
                + "%% of peak: of the f32 FMA peak above (bf16 and int8 dot-product instructions can"
                + " exceed it).%n"
                + "weights GB/s: bytes of the recurrent matrices R one timestep reads in the row's"
                + " precision (4, 2 or 1 byte per weight, plus int8's f32 row scales) × T / median"
                + " time.%n"
                + "max|diff|: largest absolute difference of y from the reference backend in f32"
                + " (a reduced precision's accuracy cost).%n"
                + "Reduced precisions are timed %s.%n",
            PEERS,
            "at "
                + String.join(", ", reducedOption != null ? reducedOption : REDUCED)
                + " on the jrnn backends whose sessions read them"));
    check
        .widened()
        .forEach(
            (pair, ws) ->
                out.append(
                    String.format(
                        "%s: the session widens these weights to f32 (no kernels for them here) at"
                            + " %s: not timed.%n",
                        pair, String.join(", ", ws))));
    out.append(
        String.format(
            "Measured %s with `make bench` (JMH: 1 fork per row, %s).%n",
            LocalDate.now(),
            quick
                ? "2 x 0.5 s warm-up, 3 x 0.5 s measurement"
                : String.format(
                    "%d x 1 s warm-up, %d x 1 s measurement",
                    WORKLOAD_WARMUPS, WORKLOAD_MEASUREMENTS)));
    System.out.println();
    System.out.print(out);
    Path dir = Path.of("bench", "target");
    if (Files.isDirectory(dir)) {
      Path file = dir.resolve("bench-table.md");
      Files.writeString(file, out.toString());
      System.out.println("written to " + file);
      Path png = dir.resolve("bench-chart.png");
      if (chart(rows, png)) {
        System.out.println("chart written to " + png);
      } else {
        System.out.println("no chart: no f32 peer (" + PEERS + ") was timed");
      }
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

  /**
   * Runs every engine once per workload (1 thread) in each precision against the reference backend
   * in f32 (which runs once per workload): f32 everywhere, the reduced precisions on the jrnn
   * engines where {@code reducedAt(engine, workload)} only, where a session that widens them is
   * closed unrun.
   */
  static Check checkOutputs(
      List<String> workloads,
      List<String> engines,
      List<Precision> precisions,
      BiPredicate<String, String> reducedAt) {
    Map<String, Double> diffs = new LinkedHashMap<>();
    Map<String, Map<Precision, List<String>>> reduced = new LinkedHashMap<>();
    Map<String, List<String>> widened = new LinkedHashMap<>();
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
          for (Precision p : precisions) {
            if (p != Precision.F32 && (name.equals("ort") || !reducedAt.test(name, id))) {
              continue;
            }
            try (Engine e = Engine.open(name, w, 1, weights, x, p)) {
              if (e.readPrecision() != p) {
                widened.computeIfAbsent(name + " " + label(p), k -> new ArrayList<>()).add(w.id());
                continue;
              }
              e.run();
              diffs.put(key(w.id(), name, p), maxAbsDiff(ref, e.output()));
              if (p != Precision.F32) {
                reduced
                    .computeIfAbsent(name, k -> new LinkedHashMap<>())
                    .computeIfAbsent(p, k -> new ArrayList<>())
                    .add(w.id());
              }
            }
          }
        }
      }
    }
    return new Check(diffs, reduced, widened);
  }

  static double maxAbsDiff(float[] ref, float[] y) {
    double d = 0;
    for (int i = 0; i < y.length; i++) {
      d = Math.max(d, Math.abs((double) y[i] - ref[i]));
    }
    return d;
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
    } else if (bench == WorkloadBench.class) {
      // 2 + 4 one-second iterations instead of the class's 3 + 5: room for the reduced precisions.
      o =
          o.warmupIterations(WORKLOAD_WARMUPS)
              .warmupTime(TimeValue.seconds(1))
              .measurementIterations(WORKLOAD_MEASUREMENTS)
              .measurementTime(TimeValue.seconds(1));
    }
    for (Map.Entry<String, String[]> p : params.entrySet()) {
      o = o.param(p.getKey(), p.getValue());
    }
    return new Runner(o.build()).run();
  }

  /** WorkloadBench results as rows. */
  private static List<Row> rows(Collection<RunResult> results) {
    List<Row> rows = new ArrayList<>();
    for (RunResult r : results) {
      var p = r.getParams();
      rows.add(
          new Row(
              p.getParam("workload"),
              p.getParam("engine"),
              Precision.parse(p.getParam("precision")),
              Integer.parseInt(p.getParam("threads")),
              r.getPrimaryResult().getStatistics().getPercentile(50)));
    }
    return rows;
  }

  /** "W1/java/bf16": the key of {@link Check#diffs}. */
  static String key(String workload, String engine, Precision p) {
    return workload + "/" + engine + "/" + label(p);
  }

  /** "f32", "bf16", "int8". */
  static String label(Precision p) {
    return p.name().toLowerCase(Locale.ROOT);
  }

  private static List<String> labels(List<Precision> ps) {
    return ps.stream().map(Suite::label).toList();
  }

  /** Rows by workload, threads, jrnn engines before peers, engine, precision. */
  static List<Row> sorted(List<Row> rows) {
    List<Row> s = new ArrayList<>(rows);
    s.sort(
        Comparator.comparing(Row::workload)
            .thenComparingInt(Row::threads)
            .thenComparingInt(r -> PEERS.contains(r.engine()) ? 1 : 0)
            .thenComparing(Row::engine)
            .thenComparing(Row::precision));
    return s;
  }

  /**
   * The median time of the fastest f32 peer at this workload and thread count, or NaN when no peer
   * was timed there.
   */
  static double bestPeer(List<Row> rows, String workload, int threads) {
    double best = Double.NaN;
    for (Row r : rows) {
      if (r.workload().equals(workload)
          && r.threads() == threads
          && r.precision() == Precision.F32
          && PEERS.contains(r.engine())
          && !(r.medianMs() >= best)) {
        best = r.medianMs();
      }
    }
    return best;
  }

  /** One table row per workload × threads × engine × precision. */
  static String table(List<Row> rows, double[] peak, Map<String, Double> diffs) {
    StringBuilder s = new StringBuilder();
    s.append(
        "| workload | engine | precision | threads | median ms | GFLOP/s | % of peak"
            + " | weights GB/s | vs best peer | max|diff| |\n");
    s.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Row r : sorted(rows)) {
      Workload w = Workload.byId(r.workload());
      double ms = r.medianMs();
      double gf = w.flops() / (ms * 1e6);
      double best = bestPeer(rows, r.workload(), r.threads());
      double p = peak[Math.min(r.threads(), peak.length - 1)];
      Double d = diffs.get(key(r.workload(), r.engine(), r.precision()));
      s.append(
          String.format(
              Locale.ROOT,
              "| %s %s | %s | %s | %d | %.3f | %.1f | %s | %s | %s | %s |%n",
              r.workload(),
              w.describe(),
              r.engine(),
              label(r.precision()),
              r.threads(),
              ms,
              gf,
              p > 0 ? String.format(Locale.ROOT, "%.0f%%", 100 * gf / p) : "–",
              gbps(w.weightGBps(r.precision(), ms)),
              Double.isNaN(best) ? "–" : String.format(Locale.ROOT, "%.2f×", ms / best),
              d == null ? "–" : String.format(Locale.ROOT, "%.1e", d)));
    }
    return s.toString();
  }

  /** GB/s with three significant digits at least (batch-64 rows read little per step). */
  static String gbps(double v) {
    return String.format(Locale.ROOT, v < 10 ? "%.2f" : "%.1f", v);
  }

  /**
   * Draws {@code png}: one panel per workload, a group of bars per thread count, one bar per engine
   * and precision, each the row's time over the best f32 peer's at the same threads (log scale; the
   * line at 1 is the best peer, bars below it are faster). Colours stay with an engine and
   * precision across panels. Returns false, writing nothing, when no peer was timed anywhere.
   */
  static boolean chart(List<Row> rows, Path png) throws IOException {
    List<String> workloads = new ArrayList<>();
    Set<String> allSeries = new LinkedHashSet<>();
    for (Row r : sorted(rows)) {
      if (!workloads.contains(r.workload())) {
        workloads.add(r.workload());
      }
    }
    List<Row> bySeries = new ArrayList<>(rows); // the same order in every panel: jrnn, then peers
    bySeries.sort(
        Comparator.comparingInt((Row r) -> PEERS.contains(r.engine()) ? 1 : 0)
            .thenComparing(Row::engine)
            .thenComparing(Row::precision));
    for (Row r : bySeries) {
      allSeries.add(r.series());
    }
    Map<String, Color> colour = colours(allSeries);
    List<CategoryChart> panels = new ArrayList<>();
    for (String id : workloads) {
      List<Row> mine = sorted(rows).stream().filter(r -> r.workload().equals(id)).toList();
      List<Integer> threads = mine.stream().map(Row::threads).distinct().sorted().toList();
      List<String> categories = new ArrayList<>();
      for (int t : threads) {
        double best = bestPeer(rows, id, t);
        categories.add(
            t
                + (t == 1 ? " thread" : " threads")
                + (Double.isNaN(best)
                    ? ""
                    : String.format(Locale.ROOT, " (best peer %.3g ms)", best)));
      }
      CategoryChart c =
          new CategoryChartBuilder()
              .width(PANEL_WIDTH)
              .height(PANEL_HEIGHT)
              .title(id + " " + Workload.byId(id).describe())
              .yAxisTitle("time / best f32 peer (log)")
              .build();
      var st = c.getStyler();
      st.setYAxisLogarithmic(true);
      st.setLegendPosition(Styler.LegendPosition.OutsideE); // a column: room for every series
      st.setLegendLayout(Styler.LegendLayout.Vertical);
      st.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      st.setLabelsVisible(true);
      st.setLabelsRotation(0);
      st.setLabelsPosition(0.92);
      st.setLabelsFont(new Font(Font.SANS_SERIF, Font.BOLD, 11));
      st.setYAxisDecimalPattern("0.00");
      st.setAnnotationLineColor(Color.BLACK);
      st.setAnnotationLineStroke(new BasicStroke(1.5f));
      st.setChartBackgroundColor(Color.WHITE);
      st.setPlotGridVerticalLinesVisible(false);
      st.setAvailableSpaceFill(0.85);
      double lo = 1;
      double hi = 1;
      boolean any = false;
      for (String series : allSeries) {
        List<Double> ratios = new ArrayList<>();
        boolean has = false;
        for (int t : threads) {
          double best = bestPeer(rows, id, t);
          Double v = null;
          for (Row r : mine) {
            if (r.series().equals(series) && r.threads() == t && best > 0) {
              v = r.medianMs() / best;
            }
          }
          if (v != null) {
            has = true;
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
          }
          ratios.add(v);
        }
        if (has) {
          c.addSeries(series, categories, ratios).setFillColor(colour.get(series));
          any = true;
        }
      }
      if (any) {
        // Bars grow from the axis minimum; XChart's own would be 0, which a log axis cannot show.
        st.setYAxisMin(lo / 1.25);
        st.setYAxisMax(hi * 1.25);
        c.addAnnotation(new AnnotationLine(1.0, false, false));
        panels.add(c);
      }
    }
    if (panels.isEmpty()) {
      return false;
    }
    int cols = Math.min(panels.size(), 3);
    int gridRows = (panels.size() + cols - 1) / cols;
    BufferedImage grid =
        new BufferedImage(cols * PANEL_WIDTH, gridRows * PANEL_HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = grid.createGraphics();
    try {
      g.setColor(Color.WHITE); // an incomplete last row stays blank
      g.fillRect(0, 0, grid.getWidth(), grid.getHeight());
      for (int i = 0; i < panels.size(); i++) {
        g.drawImage(
            BitmapEncoder.getBufferedImage(panels.get(i)),
            i % cols * PANEL_WIDTH,
            i / cols * PANEL_HEIGHT,
            null);
      }
    } finally {
      g.dispose();
    }
    Path abs = png.toAbsolutePath();
    Files.createDirectories(abs.getParent());
    Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
    try {
      if (!ImageIO.write(grid, "png", tmp.toFile())) {
        throw new IOException("no PNG writer");
      }
      Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return true;
  }

  /**
   * A colour per "engine precision": one hue per engine (jrnn's java in blues), lighter for the
   * reduced precisions.
   */
  private static Map<String, Color> colours(Set<String> series) {
    Map<String, Float> hue =
        new LinkedHashMap<>(Map.of("java", 0.60f, "onednn", 0.08f, "opencl", 0.80f, "ort", 0.33f));
    float[] spare = {0.95f, 0.15f, 0.50f, 0.70f};
    int next = 0;
    Map<String, Color> out = new LinkedHashMap<>();
    for (String s : series) {
      String engine = s.substring(0, s.indexOf(' '));
      if (!hue.containsKey(engine)) {
        hue.put(engine, spare[next++ % spare.length]);
      }
      float brightness =
          switch (Precision.parse(s.substring(s.indexOf(' ') + 1))) {
            case F32 -> 0.55f;
            case BF16 -> 0.75f;
            case INT8 -> 0.95f;
          };
      out.put(s, Color.getHSBColor(hue.get(engine), 0.75f, brightness));
    }
    return out;
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
