package dev.jrnn.cli;

import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.bench.Engine;
import dev.jrnn.bench.Workload;
import dev.jrnn.bench.jmh.WorkloadBench;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.UseDefaultConverter;

/**
 * {@code jrnn bench}: times one recurrent configuration on each backend (and ONNX Runtime) after
 * warm-up, with the max difference from the reference backend.
 */
@Command(
    name = "bench",
    customSynopsis = {
      "jrnn bench --cell lstm|gru|rnn --batch N --seq T --input I --hidden H",
      "                  [--layers L] [--bidirectional] [--backend B[,B...]]",
      "                  [--precision P[,P...]] [--threads N] [--runs K]",
      "                  [--warmup SECONDS] [--no-check] [--json]",
      "       jrnn bench --workload W1|W2|W3|W4|W5 [--backend B[,B...]]",
      "                  [--precision P[,P...]] [--threads N] [--runs K]",
      "                  [--warmup SECONDS] [--no-check] [--json]",
      "       jrnn bench --train --workload W6|W7 [--backend B[,B...]] [--threads N]",
      "                  [--runs K] [--warmup SECONDS] [--json]",
      "       jrnn bench MODEL [--input NAME=FILE.npy ...] [--dim NAME=SIZE ...]",
      "                  [--backend B[,B...]] [--precision P[,P...]] [--threads N]",
      "                  [--runs K] [--warmup SECONDS] [--no-check] [--json]",
      "                  [--description MODEL.json]"
    },
    description = {
      "Time a configuration, a training step or a model on the backends.",
      "",
      "Times one forward pass (inference, outputs preallocated) after the warm-up, one row per"
          + " backend and precision of the weight matrices (--precision; 'ort' runs f32 only), and"
          + " prints median/min/max ms, GFLOP/s (FLOPs = 2·T·N·G·H·(I+H) per layer and"
          + " direction), weight GB/s and the max abs difference of y against the 'reference'"
          + " backend in f32, so a reduced precision's row shows its accuracy cost.",
      "",
      "Weight GB/s is the traffic of the recurrent weight matrices: every timestep reads each"
          + " layer and direction's R [G·H, H] once, at 4 bytes a weight in f32, 2 in bf16 and 1"
          + " in int8 plus a 4-byte f32 scale per row (4·G·H); GB/s = those bytes × T / median"
          + " time. The input matrices W are left out: the input projection reads them once per"
          + " pass for all timesteps. A backend without kernels for a reduced precision gets its"
          + " weights widened to f32 when the session opens (one log line); its row is marked *"
          + " and counts 4 bytes a weight.",
      "",
      "With --train, times one training step instead: the forward in training mode and the"
          + " backward of dy = 1 on y (as PyTorch's y.sum().backward()) to every weight gradient,"
          + " then the same step with an Adam update (f32 weights). W6 is LSTM, W7 GRU, both N=32"
          + " T=64 I=H=256;"
          + " a step counts 3x the forward's FLOPs. Backends default to java and onednn;"
          + " max|diff| compares each backend's weight gradients with the first one's; workspace"
          + " MB is the heap the first step allocates (what the forward keeps for backward and the"
          + " backward's scratch, reused by every later step; native memory, as onednn's, is not"
          + " counted).",
      "",
      "With a MODEL, times the whole model on every available backend and, for ONNX files, ONNX"
          + " Runtime Java ('ort', f32 only), all in this run, in each --precision (default: the"
          + " precision the model stores), and prints each engine's times, its ratio to the"
          + " fastest and the max abs difference of its outputs from 'reference' in f32. Inputs not"
          + " given with --input are random (token ids below the embedding's vocabulary, full"
          + " sequence lengths); each dynamic dimension they need is sized with --dim NAME=SIZE"
          + " (e.g. --dim T=128 --dim N=1)."
    })
final class BenchCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "MODEL",
      description =
          "An .onnx file, a jrnn model, or a PyTorch state_dict in safetensors (with"
              + " --description).")
  Path model;

  @Option(names = "--cell", paramLabel = "lstm|gru|rnn", description = "The cell.")
  String cell;

  @Option(
      names = "--batch",
      paramLabel = "N",
      converter = AtLeast.One.class,
      description = "The batch size.")
  Integer batch;

  @Option(
      names = "--seq",
      paramLabel = "T",
      converter = AtLeast.One.class,
      description = "The sequence length.")
  Integer seq;

  @Option(
      names = "--input",
      paramLabel = "I|NAME=FILE.npy",
      description =
          "With --cell: the input features. With a MODEL: an input from a NumPy .npy file;"
              + " repeat for each.")
  List<String> inputs = new ArrayList<>();

  @Option(
      names = "--hidden",
      paramLabel = "H",
      converter = AtLeast.One.class,
      description = "The hidden size.")
  Integer hidden;

  @Option(
      names = "--layers",
      paramLabel = "L",
      converter = AtLeast.One.class,
      description = "Stacked layers (default: ${DEFAULT-VALUE}).")
  int layers = 1;

  @Option(names = "--bidirectional", description = "Both directions.")
  boolean bidirectional;

  @Option(
      names = "--workload",
      paramLabel = "W",
      description = "A standard configuration instead: W1-W5 (inference), W6, W7 (training).")
  String workload;

  @Option(names = "--train", description = "Time a training step of --workload W6 or W7.")
  boolean train;

  @Option(
      names = "--backend",
      paramLabel = "B",
      split = ",",
      description =
          "Backends to time (default: every available one but reference, and 'ort' for ONNX"
              + " Runtime Java where it applies).")
  List<String> backends;

  @Option(
      names = "--precision",
      paramLabel = "P",
      split = ",",
      converter = QuantizeCommand.PrecisionConverter.class,
      description =
          "Precisions of the weight matrices to time each jrnn backend in: f32, bf16, int8"
              + " (default: f32; with a MODEL, the precision it stores).")
  List<Precision> precisions;

  @Option(
      names = "--threads",
      paramLabel = "N",
      converter = AtLeast.One.class,
      description = "Threads per engine (default: ${DEFAULT-VALUE}).")
  int threads = 1;

  @Option(
      names = "--runs",
      paramLabel = "K",
      converter = AtLeast.One.class,
      description = "Timed runs (default: ${DEFAULT-VALUE}).")
  int runs = 20;

  @Option(
      names = "--warmup",
      paramLabel = "SECONDS",
      converter = AtLeast.Zero.class,
      description =
          "Seconds of untimed runs first, so the JIT has compiled the kernels (default:"
              + " ${DEFAULT-VALUE}).")
  int warmup = 3;

  @Option(
      names = "--no-check",
      description = "Skip the reference run (it is slow for large configurations).")
  boolean noCheck;

  @Option(
      names = "--json",
      description =
          "One JSON object per line, backend and precision: workload, config, backend,"
              + " precision, read_precision (f32 where the session widened the weights), threads,"
              + " times_ms (every timed run), median_ms, gflops, weight_gbps, max_abs_diff.")
  boolean json;

  @Option(
      names = "--dim",
      paramLabel = "NAME=SIZE",
      converter = {UseDefaultConverter.class, AtLeast.One.class},
      description = "The size of a dynamic dimension of a MODEL's random inputs; repeat for each.")
  Map<String, Integer> dims = new HashMap<>();

  @Mixin DescriptionFlag description;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (model != null) {
      for (String o :
          List.of(
              "--cell",
              "--batch",
              "--seq",
              "--hidden",
              "--layers",
              "--bidirectional",
              "--workload",
              "--train")) {
        if (given(o)) {
          throw new UsageException(o + " describes a configuration, not a MODEL");
        }
      }
      return ModelBench.run(this, out);
    }
    for (String o : List.of("--dim", "--description")) {
      if (given(o)) {
        throw new UsageException(o + " applies to a MODEL only");
      }
    }
    Workload w = workload();
    List<String> engines = new ArrayList<>();
    if (backends != null) {
      engines.addAll(backends);
    } else {
      for (Backend b : Backends.all()) {
        if (!b.name().equals("reference") && b.availability().available()) {
          engines.add(b.name());
        }
      }
      if (!train) {
        engines.add("ort");
      }
    }
    if (train) {
      if (precisions != null && precisions.stream().anyMatch(p -> p != Precision.F32)) {
        throw new UsageException("--train times f32 training; --precision applies to inference");
      }
      return TrainBench.run(w, engines, threads, runs, warmup, json, out);
    }
    List<Precision> ps = precisions == null ? List.of(Precision.F32) : distinct(precisions);
    try (Weights weights = Weights.random(w.graph(), 1);
        Tensor x = WorkloadBench.input(w)) {
      float[] ref = null;
      if (!noCheck) {
        try (Engine e = Engine.open("reference", w, 1, weights, x)) {
          e.run();
          ref = e.output();
        }
      }
      if (!json) {
        StringBuilder bytes = new StringBuilder();
        for (Precision p : ps) {
          bytes.append(bytes.isEmpty() ? "" : ", ");
          bytes.append(
              String.format(
                  Locale.ROOT, "%.0f KiB %s", w.recurrentBytesPerStep(p) / 1024.0, label(p)));
        }
        out.printf(
            Locale.ROOT,
            "%s: %s, %.3f GFLOP per pass, recurrent weights read per step: %s%n",
            w.id(),
            w.describe(),
            w.flops() / 1e9,
            bytes);
        out.printf(
            "%-10s %-9s %7s %10s %10s %10s %9s %11s %11s%n",
            "backend",
            "precision",
            "threads",
            "median ms",
            "min ms",
            "max ms",
            "GFLOP/s",
            "weight GB/s",
            "max|diff|");
      }
      boolean anyWidened = false;
      List<String> ortSkipped = new ArrayList<>();
      for (String name : engines) {
        for (Precision p : ps) {
          if (name.equals("ort") && p != Precision.F32) {
            ortSkipped.add(label(p));
            continue;
          }
          try (Engine e = Engine.open(name, w, threads, weights, x, p)) {
            double[] ms = Timing.time(e::run, warmup, runs);
            double diff = ref == null ? Double.NaN : Timing.maxAbsDiff(ref, e.output());
            double median = Timing.median(ms);
            double gflops = w.flops() / (median * 1e6);
            Precision read = e.readPrecision();
            double gbps = w.weightGBps(read, median);
            if (json) {
              StringBuilder times = new StringBuilder();
              for (int i = 0; i < ms.length; i++) {
                times.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.4f", ms[i]));
              }
              out.printf(
                  Locale.ROOT,
                  "{\"workload\":\"%s\",\"config\":\"%s\",\"backend\":\"%s\","
                      + "\"precision\":\"%s\",\"read_precision\":\"%s\",\"threads\":%d,"
                      + "\"times_ms\":[%s],\"median_ms\":%.4f,\"gflops\":%.2f,"
                      + "\"weight_gbps\":%.4f,\"max_abs_diff\":%s}%n",
                  w.id(),
                  w.describe(),
                  name,
                  label(p),
                  label(read),
                  threads,
                  times,
                  median,
                  gflops,
                  gbps,
                  Double.isNaN(diff) ? "null" : String.format(Locale.ROOT, "%.3e", diff));
            } else {
              anyWidened |= read != p;
              out.printf(
                  Locale.ROOT,
                  "%-10s %-9s %7d %10.3f %10.3f %10.3f %9.1f %11s %11s%n",
                  name,
                  label(p) + (read != p ? "*" : ""),
                  threads,
                  median,
                  Timing.min(ms),
                  Timing.max(ms),
                  gflops,
                  String.format(Locale.ROOT, gbps < 10 ? "%.3f" : "%.1f", gbps),
                  Double.isNaN(diff) ? "-" : String.format(Locale.ROOT, "%.2e", diff));
            }
          }
        }
      }
      if (anyWidened) {
        out.println(
            "* no kernels for this precision on this backend: the session widened the weights to"
                + " f32 at open (f32 kernels over the rounded values; GB/s at 4 bytes a weight)");
      }
      if (!json && !ortSkipped.isEmpty()) {
        out.println("ort runs f32 weights only: no " + String.join(", ", ortSkipped) + " row");
      }
    }
    return 0;
  }

  /** "f32", "bf16", "int8". */
  static String label(Precision p) {
    return p.name().toLowerCase(Locale.ROOT);
  }

  /** {@code ps} in order, each once. */
  static List<Precision> distinct(List<Precision> ps) {
    return ps.stream().distinct().toList();
  }

  /** Whether option {@code name} is on the command line. */
  private boolean given(String name) {
    return spec.commandLine().getParseResult().hasMatchedOption(name);
  }

  private Workload workload() {
    if (workload != null) {
      for (String o :
          List.of(
              "--cell", "--batch", "--seq", "--input", "--hidden", "--layers", "--bidirectional")) {
        if (given(o)) {
          throw new UsageException("--workload and " + o + " cannot be combined");
        }
      }
      try {
        return Workload.byId(workload);
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage());
      }
    }
    if (cell == null) {
      throw new UsageException("--cell (or --workload) is required");
    }
    int n = required(batch, "--batch");
    int t = required(seq, "--seq");
    int i = inputSize();
    int h = required(hidden, "--hidden");
    Recurrent r =
        switch (cell.toLowerCase(Locale.ROOT)) {
          case "lstm" -> Recurrent.lstm(h);
          case "gru" -> Recurrent.gru(h);
          case "rnn" -> Recurrent.rnn(h);
          default -> throw new UsageException("--cell must be lstm, gru or rnn, got " + cell);
        };
    r = r.layers(layers).name("rnn");
    if (bidirectional) {
      r = r.bidirectional();
    }
    return new Workload("custom", r, n, t, i);
  }

  private static int required(Integer value, String option) {
    if (value == null) {
      throw new UsageException(option + " is required");
    }
    return value;
  }

  /** {@code --input I}: the input features of a configuration (the last one given counts). */
  private int inputSize() {
    if (inputs.isEmpty()) {
      throw new UsageException("--input is required");
    }
    try {
      return AtLeast.parse(inputs.getLast(), 1);
    } catch (TypeConversionException e) {
      throw new UsageException("invalid value for option '--input': " + e.getMessage());
    }
  }
}
