package dev.jrnn.cli;

import dev.jrnn.DType;
import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.bench.OrtModel;
import dev.jrnn.bench.PrecisionProbe;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code jrnn bench MODEL}: times a whole model on every available backend (in each requested
 * precision) and, for ONNX files, on ONNX Runtime Java, in one run, with the largest output
 * difference from the reference backend in f32.
 */
final class ModelBench {

  private ModelBench() {}

  /** Times {@code bench.model} with the options of {@code bench}. */
  static int run(BenchCommand bench, PrintWriter out) throws Exception {
    Path model = bench.model;
    int threads = bench.threads;
    boolean json = bench.json;
    try (Inputs in = Inputs.read(bench.inputs);
        LoadedModel m = LoadedModel.open(model, in.values, bench.description.path)) {
      in.fillMissing(m.graph(), bench.dims, 7);
      Map<String, Tensor> feed = in.forGraph(m.graph());
      List<String> engines = new ArrayList<>();
      if (bench.backends != null) {
        engines.addAll(bench.backends);
        if (engines.contains("ort") && m.onnx() == null) {
          throw new UsageException("'ort' runs ONNX models only; " + model + " is a " + m.format());
        }
      } else {
        for (Backend b : Backends.all()) {
          if (!b.name().equals("reference") && b.availability().available()) {
            engines.add(b.name());
          }
        }
        if (m.onnx() != null) {
          engines.add("ort");
        }
      }
      List<Precision> precisions =
          bench.precisions == null
              ? List.of(stored(m.weights()))
              : BenchCommand.distinct(bench.precisions);
      Map<String, float[]> ref = null;
      if (!bench.noCheck) {
        try (Session s =
                Session.open(
                    m.graph(),
                    m.weights(),
                    Options.backend("reference").threads(1).precision(Precision.F32));
            Result r = s.run(feed)) {
          ref = floats(r, m);
        }
      }
      if (!json) {
        out.printf("%s: %s; inputs", model, m.format());
        feed.forEach((k, v) -> out.print(" " + k + Tensor.shapeString(v.shape())));
        out.println();
        out.printf(
            "%-10s %-9s %7s %10s %10s %10s %9s %11s%n",
            "engine",
            "precision",
            "threads",
            "median ms",
            "min ms",
            "max ms",
            "vs best",
            "max|diff|");
      }
      List<Object[]> rows = new ArrayList<>();
      List<String> ortSkipped = new ArrayList<>();
      for (String name : engines) {
        for (Precision p : precisions) {
          if (name.equals("ort") && p != Precision.F32) {
            ortSkipped.add(BenchCommand.label(p));
            continue;
          }
          rows.add(time(name, p, m, feed, in, bench, ref));
        }
      }
      double best = Double.MAX_VALUE;
      for (Object[] r : rows) {
        best = Math.min(best, Timing.median((double[]) r[2]));
      }
      boolean anyWidened = false;
      for (Object[] r : rows) {
        double[] ms = (double[]) r[2];
        double diff = (double) r[3];
        Precision p = (Precision) r[1];
        Precision read = (Precision) r[4];
        String d = Double.isNaN(diff) ? "-" : String.format(Locale.ROOT, "%.2e", diff);
        if (json) {
          out.printf(
              Locale.ROOT,
              "{\"model\":\"%s\",\"backend\":\"%s\",\"precision\":\"%s\","
                  + "\"read_precision\":\"%s\",\"threads\":%d,\"median_ms\":%.4f,"
                  + "\"min_ms\":%.4f,\"max_ms\":%.4f,\"max_abs_diff\":%s}%n",
              model.toString().replace("\\", "\\\\").replace("\"", "\\\""),
              r[0],
              BenchCommand.label(p),
              BenchCommand.label(read),
              threads,
              Timing.median(ms),
              Timing.min(ms),
              Timing.max(ms),
              Double.isNaN(diff) ? "null" : d);
        } else {
          anyWidened |= read != p;
          out.printf(
              Locale.ROOT,
              "%-10s %-9s %7d %10.3f %10.3f %10.3f %8.2fx %11s%n",
              r[0],
              BenchCommand.label(p) + (read != p ? "*" : ""),
              threads,
              Timing.median(ms),
              Timing.min(ms),
              Timing.max(ms),
              Timing.median(ms) / best,
              d);
        }
      }
      if (anyWidened) {
        out.println(
            "* no kernels for this precision on this backend: the session widened the weights to"
                + " f32 at open");
      }
      if (!json && !ortSkipped.isEmpty()) {
        out.println("ort runs f32 weights only: no " + String.join(", ", ortSkipped) + " row");
      }
    }
    return 0;
  }

  /** Times engine {@code name} in precision {@code p}: {name, p, ms, diff, read precision}. */
  private static Object[] time(
      String name,
      Precision p,
      LoadedModel m,
      Map<String, Tensor> feed,
      Inputs in,
      BenchCommand bench,
      Map<String, float[]> ref) {
    int threads = bench.threads;
    double[] ms;
    Map<String, float[]> got;
    Precision read = p;
    if (name.equals("ort")) {
      try (OrtModel o = new OrtModel(m.onnx(), threads, in.values)) {
        ms = Timing.time(o::run, bench.warmup, bench.runs);
        got = o.outputs();
      }
    } else {
      PrecisionProbe.Opened opened =
          PrecisionProbe.open(
              m.graph(),
              m.weights(),
              threads > 0 ? Options.backend(name).threads(threads) : Options.backend(name),
              p);
      read = opened.read();
      try (Session s = opened.session()) {
        Map<String, Tensor> outs = new LinkedHashMap<>();
        try (Result shapes = s.run(feed)) { // preallocated outputs: time the engine only
          for (String o : m.graph().outputs().keySet()) {
            outs.put(o, Tensor.allocate(shapes.get(o).dtype(), shapes.get(o).shape()));
          }
        }
        try {
          ms = Timing.time(() -> s.run(feed, outs), bench.warmup, bench.runs);
          got = new LinkedHashMap<>();
          for (Map.Entry<String, Tensor> e : outs.entrySet()) {
            got.put(e.getKey(), toFloats(e.getValue()));
          }
        } finally {
          outs.values().forEach(Tensor::close);
        }
      }
    }
    double diff = ref == null ? Double.NaN : maxAbsDiff(ref, got, name);
    return new Object[] {name, p, ms, diff, read};
  }

  /** The precision {@code w}'s weight matrices are stored in: bf16 or int8 if any is, else f32. */
  static Precision stored(Weights w) {
    Precision p = Precision.F32;
    for (String name : w.names()) {
      switch (w.get(name).dtype()) {
        case BF16 -> p = Precision.BF16;
        case I8 -> p = Precision.INT8;
        default -> {}
      }
    }
    return p;
  }

  private static Map<String, float[]> floats(Result r, LoadedModel m) {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (String o : m.graph().outputs().keySet()) {
      out.put(o, toFloats(r.get(o)));
    }
    return out;
  }

  private static float[] toFloats(Tensor t) {
    if (t.dtype() == DType.F32) {
      return t.toFloatArray();
    }
    int[] v = t.toIntArray();
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = v[i];
    }
    return f;
  }

  private static double maxAbsDiff(Map<String, float[]> ref, Map<String, float[]> got, String who) {
    double m = 0;
    for (Map.Entry<String, float[]> e : ref.entrySet()) {
      float[] g = got.get(e.getKey());
      if (g == null || g.length != e.getValue().length) {
        throw new IllegalStateException(
            who
                + " gave output '"
                + e.getKey()
                + "' "
                + (g == null
                    ? "not at all"
                    : "with " + g.length + " elements, reference " + e.getValue().length));
      }
      m = Math.max(m, Timing.maxAbsDiff(e.getValue(), g));
    }
    return m;
  }
}
