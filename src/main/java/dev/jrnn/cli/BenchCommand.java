package dev.jrnn.cli;

import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.bench.Engine;
import dev.jrnn.bench.Workload;
import dev.jrnn.bench.jmh.WorkloadBench;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code jrnn bench}: times one recurrent configuration on each backend (and ONNX Runtime) after
 * warm-up, with the max difference from the reference backend.
 */
final class BenchCommand implements Main.Command {

  @Override
  public String summary() {
    return "time one recurrent configuration on the backends and ONNX Runtime";
  }

  @Override
  public String usage() {
    return """
        usage: jrnn bench --cell lstm|gru|rnn --batch N --seq T --input I --hidden H
                          [--layers L] [--bidirectional] [--backend B[,B...]] [--threads N]
                          [--runs K] [--warmup SECONDS] [--no-check] [--json]
               jrnn bench --workload W1|W2|W3|W4|W5 [options above]
               jrnn bench --train --workload W6|W7 [--backend B[,B...]] [--threads N] [--runs K]
                          [--warmup SECONDS] [--json]
               jrnn bench MODEL [--input NAME=FILE.npy ...] [--dim NAME=SIZE ...]
                          [--backend B[,B...]] [--threads N] [--runs K] [--warmup SECONDS]
                          [--no-check] [--json] [--description MODEL.json]

        Times one forward pass (f32 inference, outputs preallocated) after K warm-up runs and
        prints median/min/max ms, GFLOP/s (FLOPs = 2·T·N·G·H·(I+H) per layer and direction) and
        the max abs difference of y against the 'reference' backend.
          --backend   backends to time (default: every available one but reference, and 'ort'
                      for ONNX Runtime Java)
          --threads   threads per engine (default 1)
          --runs      timed runs (default 20); --warmup seconds of untimed runs first, so the
                      JIT has compiled the kernels (default 3)
          --no-check  skip the reference run (it is slow for large configurations)
          --json      one JSON object per line and backend: workload, backend, threads,
                      times_ms (every timed run), median_ms, gflops, max_abs_diff

        With --train, times one training step instead: the forward in training mode and the
        backward of dy = 1 on y (as PyTorch's y.sum().backward()) to every weight gradient, then
        the same step with an Adam update. W6 is LSTM, W7 GRU, both N=32 T=64 I=H=256; a step
        counts 3x the forward's FLOPs. Backends default to java and onednn; max|diff| compares
        each backend's weight gradients with the first one's; workspace MB is the heap the first
        step allocates (what the forward keeps for backward and the backward's scratch, reused by
        every later step; native memory, as onednn's, is not counted).

        With a MODEL (.onnx, jrnn model, or PyTorch safetensors with --description), times the
        whole model on every available backend and, for ONNX files, ONNX Runtime Java ('ort'),
        all in this run, and prints each engine's times, its ratio to the fastest and the max abs
        difference of its outputs from 'reference'. Inputs not given with --input are random
        (token ids below the embedding's vocabulary, full sequence lengths); each dynamic
        dimension they need is sized with --dim NAME=SIZE (e.g. --dim T=128 --dim N=1).""";
  }

  @Override
  public int run(Args args, PrintStream out) throws Exception {
    boolean check = !args.flag("no-check");
    boolean json = args.flag("json");
    boolean bidirectional = args.flag("bidirectional");
    boolean train = args.flag("train");
    if (!args.positional().isEmpty()) {
      if (bidirectional) {
        throw new Args.UsageException("--bidirectional describes a configuration, not a MODEL");
      }
      return ModelBench.run(args, out, json, check);
    }
    Workload w = workload(args, bidirectional);
    List<String> engines = new ArrayList<>();
    String list = args.string("backend", null);
    if (list != null) {
      engines.addAll(Arrays.asList(list.split(",")));
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
    int threads = args.integer("threads", 1, 1);
    int runs = args.integer("runs", 20, 1);
    int warmup = args.integer("warmup", 3, 0);
    args.rejectUnknown();
    if (!args.positional().isEmpty()) {
      throw new Args.UsageException("unexpected argument " + args.positional().getFirst());
    }
    if (train) {
      return TrainBench.run(w, engines, threads, runs, warmup, json, out);
    }
    try (Weights weights = Weights.random(w.graph(), 1);
        Tensor x = WorkloadBench.input(w)) {
      float[] ref = null;
      if (check) {
        try (Engine e = Engine.open("reference", w, 1, weights, x)) {
          e.run();
          ref = e.output();
        }
      }
      if (!json) {
        out.printf(
            Locale.ROOT, "%s: %s, %.3f GFLOP per pass%n", w.id(), w.describe(), w.flops() / 1e9);
        out.printf(
            "%-10s %7s %10s %10s %10s %9s %11s%n",
            "backend", "threads", "median ms", "min ms", "max ms", "GFLOP/s", "max|diff|");
      }
      for (String name : engines) {
        try (Engine e = Engine.open(name, w, threads, weights, x)) {
          double[] ms = Timing.time(e::run, warmup, runs);
          double diff = ref == null ? Double.NaN : Timing.maxAbsDiff(ref, e.output());
          double median = Timing.median(ms);
          double gflops = w.flops() / (median * 1e6);
          if (json) {
            StringBuilder times = new StringBuilder();
            for (int i = 0; i < ms.length; i++) {
              times.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.4f", ms[i]));
            }
            out.printf(
                Locale.ROOT,
                "{\"workload\":\"%s\",\"config\":\"%s\",\"backend\":\"%s\",\"threads\":%d,"
                    + "\"times_ms\":[%s],\"median_ms\":%.4f,\"gflops\":%.2f,\"max_abs_diff\":%s}%n",
                w.id(),
                w.describe(),
                name,
                threads,
                times,
                median,
                gflops,
                Double.isNaN(diff) ? "null" : String.format(Locale.ROOT, "%.3e", diff));
          } else {
            out.printf(
                Locale.ROOT,
                "%-10s %7d %10.3f %10.3f %10.3f %9.1f %11s%n",
                name,
                threads,
                median,
                Timing.min(ms),
                Timing.max(ms),
                gflops,
                Double.isNaN(diff) ? "-" : String.format(Locale.ROOT, "%.2e", diff));
          }
        }
      }
    }
    return 0;
  }

  private static Workload workload(Args args, boolean bidirectional) {
    String id = args.string("workload", null);
    if (id != null) {
      for (String k : List.of("cell", "batch", "seq", "input", "hidden", "layers")) {
        if (args.string(k, null) != null) {
          throw new Args.UsageException("--workload and --" + k + " cannot be combined");
        }
      }
      try {
        return Workload.byId(id);
      } catch (IllegalArgumentException e) {
        throw new Args.UsageException(e.getMessage());
      }
    }
    String cell = args.string("cell", null);
    if (cell == null) {
      throw new Args.UsageException("--cell (or --workload) is required");
    }
    int batch = required(args, "batch");
    int seq = required(args, "seq");
    int input = required(args, "input");
    int hidden = required(args, "hidden");
    int layers = args.integer("layers", 1, 1);
    Recurrent spec =
        switch (cell.toLowerCase(Locale.ROOT)) {
          case "lstm" -> Recurrent.lstm(hidden);
          case "gru" -> Recurrent.gru(hidden);
          case "rnn" -> Recurrent.rnn(hidden);
          default -> throw new Args.UsageException("--cell must be lstm, gru or rnn, got " + cell);
        };
    spec = spec.layers(layers).name("rnn");
    if (bidirectional) {
      spec = spec.bidirectional();
    }
    return new Workload("custom", spec, batch, seq, input);
  }

  private static int required(Args args, String name) {
    int v = args.integer(name, -1, 1);
    if (v < 0) {
      throw new Args.UsageException("--" + name + " is required");
    }
    return v;
  }
}
