package dev.jrnn.cli;

import dev.jrnn.DType;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.bench.OrtModel;
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
 * {@code jrnn bench MODEL}: times a whole model on every available backend and, for ONNX files, on
 * ONNX Runtime Java, in one run, with the largest output difference from the reference backend.
 */
final class ModelBench {

  private ModelBench() {}

  /** Times {@code bench.model} with the options of {@code bench}. */
  static int run(BenchCommand bench, PrintWriter out) throws Exception {
    Path model = bench.model;
    int threads = bench.threads;
    int runs = bench.runs;
    int warmup = bench.warmup;
    boolean json = bench.json;
    try (Inputs in = Inputs.read(bench.inputs);
        LoadedModel m = LoadedModel.open(model, in.values, bench.description)) {
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
      Map<String, float[]> ref = null;
      if (!bench.noCheck) {
        try (Session s =
                Session.open(m.graph(), m.weights(), Options.backend("reference").threads(1));
            Result r = s.run(feed)) {
          ref = floats(r, m);
        }
      }
      if (!json) {
        out.printf("%s: %s; inputs", model, m.format());
        feed.forEach((k, v) -> out.print(" " + k + Tensor.shapeString(v.shape())));
        out.println();
        out.printf(
            "%-10s %7s %10s %10s %10s %9s %11s%n",
            "engine", "threads", "median ms", "min ms", "max ms", "vs best", "max|diff|");
      }
      List<Object[]> rows = new ArrayList<>();
      for (String name : engines) {
        double[] ms;
        Map<String, float[]> got;
        if (name.equals("ort")) {
          try (OrtModel o = new OrtModel(m.onnx(), threads, in.values)) {
            ms = Timing.time(o::run, warmup, runs);
            got = o.outputs();
          }
        } else {
          try (Session s =
              Session.open(
                  m.graph(),
                  m.weights(),
                  threads > 0 ? Options.backend(name).threads(threads) : Options.backend(name))) {
            Map<String, Tensor> outs = new LinkedHashMap<>();
            try (Result shapes = s.run(feed)) { // preallocated outputs: time the engine only
              for (String o : m.graph().outputs().keySet()) {
                outs.put(o, Tensor.allocate(shapes.get(o).dtype(), shapes.get(o).shape()));
              }
            }
            try {
              ms = Timing.time(() -> s.run(feed, outs), warmup, runs);
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
        rows.add(new Object[] {name, ms, diff});
      }
      double best = Double.MAX_VALUE;
      for (Object[] r : rows) {
        best = Math.min(best, Timing.median((double[]) r[1]));
      }
      for (Object[] r : rows) {
        double[] ms = (double[]) r[1];
        double diff = (double) r[2];
        String d = Double.isNaN(diff) ? "-" : String.format(Locale.ROOT, "%.2e", diff);
        if (json) {
          out.printf(
              Locale.ROOT,
              "{\"model\":\"%s\",\"backend\":\"%s\",\"threads\":%d,\"median_ms\":%.4f,"
                  + "\"min_ms\":%.4f,\"max_ms\":%.4f,\"max_abs_diff\":%s}%n",
              model.toString().replace("\\", "\\\\").replace("\"", "\\\""),
              r[0],
              threads,
              Timing.median(ms),
              Timing.min(ms),
              Timing.max(ms),
              Double.isNaN(diff) ? "null" : d);
        } else {
          out.printf(
              Locale.ROOT,
              "%-10s %7d %10.3f %10.3f %10.3f %8.2fx %11s%n",
              r[0],
              threads,
              Timing.median(ms),
              Timing.min(ms),
              Timing.max(ms),
              Timing.median(ms) / best,
              d);
        }
      }
    }
    return 0;
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
