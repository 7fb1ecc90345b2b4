package dev.jrnn.bench.jmh;

import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.bench.TrainStep;
import dev.jrnn.bench.Workload;
import dev.jrnn.kernels.Simd;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * One training step of a recurrent layer through the training executor: forward in training mode,
 * then backward of the sum of the outputs ({@code dy = 1}) to every weight gradient and to x. LSTM
 * or GRU, N=32, T=64, I=H=256 by default, on the {@code java}, {@code onednn} and {@code opencl}
 * backends with 1 and 2 threads. A step counts 3× the forward FLOPs, {@code 2·T·N·G·H·(I+H)}.
 *
 * <p>{@link #main} runs it with the FMA peak and prints a table (median, GFLOP/s, % of peak, time
 * relative to onednn and to PyTorch): {@code --torch} also runs {@code bench/train_peer.py} with
 * Debian's python3; {@code --quick} shortens the iterations.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class TrainingBench {

  @Param({"LSTM", "GRU"})
  public String cell;

  @Param({"java", "onednn", "opencl"})
  public String engine;

  @Param({"1", "2"})
  public int threads;

  @Param({"32"})
  public int batch;

  @Param({"64"})
  public int steps;

  @Param({"256"})
  public int size;

  private Weights weights;
  private Tensor x;
  private TrainStep step;

  /** The layer of a step: {@code size} inputs and hidden units. */
  static Recurrent spec(String cell, int size) {
    return (cell.equals("LSTM") ? Recurrent.lstm(size) : Recurrent.gru(size)).name("rnn");
  }

  /** FLOPs of one training step: 3 × 2·T·N·G·H·(I+H). */
  static double flops(String cell, int steps, int batch, int size) {
    return TrainStep.flops(new Workload("custom", spec(cell, size), batch, steps, size));
  }

  @Setup(Level.Trial)
  public void setup() {
    Workload w = new Workload("custom", spec(cell, size), batch, steps, size);
    weights = Weights.random(w.graph(), 1);
    x = WorkloadBench.input(w);
    step = new TrainStep(w, engine, threads, weights, x); // refuses a backend that cannot train it
  }

  @Benchmark
  public float step() {
    step.step();
    return step.probe();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    step.close();
    weights.close();
    x.close();
  }

  // ---------------------------------------------------------------- the table

  public static void main(String[] args) throws RunnerException, IOException {
    List<String> a = List.of(args);
    boolean quick = a.contains("--quick");
    boolean torch = a.contains("--torch");
    System.out.println("vectors: " + Simd.describe());
    double[] peak = new double[3];
    for (int t : new int[] {1, 2}) {
      ChainedOptionsBuilder o = options(PeakBench.class, quick).threads(t);
      RunResult r = new Runner(o.build()).run().iterator().next();
      peak[t] = r.getSecondaryResults().get("flop").getScore() / 1e9;
    }
    Collection<RunResult> results = new Runner(options(TrainingBench.class, quick).build()).run();
    Map<String, double[]> torchMs = torch ? torch(quick) : Map.of();
    Map<String, double[]> ms = new LinkedHashMap<>(); // median, min
    for (RunResult r : results) {
      var p = r.getParams();
      var st = r.getPrimaryResult().getStatistics();
      ms.put(
          p.getParam("cell") + "/" + p.getParam("engine") + "/" + p.getParam("threads"),
          new double[] {st.getPercentile(50), st.getMin()});
    }
    ms.putAll(torchMs);
    StringBuilder s = new StringBuilder();
    s.append(
        String.format(
            Locale.ROOT,
            "FMA peak (Vector API, %s): %.0f GFLOP/s on 1 thread, %.0f on 2%n%n",
            Simd.describe(),
            peak[1],
            peak[2]));
    s.append(
        "| cell | engine | threads | median ms | min ms | GFLOP/s (median, min) | % of peak |"
            + " vs onednn | vs PyTorch |\n");
    s.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Map.Entry<String, double[]> e : ms.entrySet()) {
      String[] k = e.getKey().split("/");
      int t = Integer.parseInt(k[2]);
      double med = e.getValue()[0];
      double min = e.getValue()[1];
      double flop = flops(k[0], 64, 32, 256);
      s.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %d | %.1f | %.1f | %.1f, %.1f | %.0f%%, %.0f%% | %s | %s |%n",
              k[0],
              k[1],
              t,
              med,
              min,
              flop / (med * 1e6),
              flop / (min * 1e6),
              100 * flop / (med * 1e6) / peak[t],
              100 * flop / (min * 1e6) / peak[t],
              ratio(e.getValue(), ms.get(k[0] + "/onednn/" + k[2])),
              ratio(e.getValue(), ms.get(k[0] + "/pytorch/" + k[2]))));
    }
    s.append(
        "\nN=32, T=64, I=H=256; a step = forward (training) + backward to all weights and x;"
            + " FLOPs = 3 × 2·T·N·G·H·(I+H). vs X: time / X's time at the same threads (median,"
            + " min).\n");
    System.out.println();
    System.out.print(s);
  }

  private static String ratio(double[] a, double[] b) {
    return b == null ? "–" : String.format(Locale.ROOT, "%.2f×, %.2f×", a[0] / b[0], a[1] / b[1]);
  }

  private static ChainedOptionsBuilder options(Class<?> bench, boolean quick) {
    ChainedOptionsBuilder o =
        new OptionsBuilder().include(bench.getName() + "\\.").shouldFailOnError(true);
    if (quick) {
      o =
          o.warmupIterations(2)
              .warmupTime(org.openjdk.jmh.runner.options.TimeValue.seconds(1))
              .measurementIterations(3)
              .measurementTime(org.openjdk.jmh.runner.options.TimeValue.seconds(1));
    }
    return o;
  }

  /** PyTorch's median and min ms by "CELL/pytorch/threads", from bench/train_peer.py. */
  private static Map<String, double[]> torch(boolean quick) throws IOException {
    ProcessBuilder pb =
        new ProcessBuilder(
                "/usr/bin/python3", "bench/train_peer.py", "--seconds", quick ? "4" : "15")
            .redirectErrorStream(true);
    Map<String, double[]> m = new LinkedHashMap<>();
    Process p = pb.start();
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        System.out.println("train_peer.py: " + line);
        String[] f = line.trim().split("\\s+");
        if (f.length >= 3 && (f[0].equals("lstm") || f[0].equals("gru"))) {
          m.put(
              f[0].toUpperCase(Locale.ROOT) + "/pytorch/" + f[1],
              new double[] {Double.parseDouble(f[2]), Double.parseDouble(f[3])});
        }
      }
    }
    return m;
  }
}
