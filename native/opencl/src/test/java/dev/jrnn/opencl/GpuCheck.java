package dev.jrnn.opencl;

import static org.jocl.CL.*;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * What {@code native/opencl/gpu-check.sh} runs where there is no Maven: the module's test classes
 * through the JUnit platform launcher, the device's FP32 peak from a kernel of its own, and the
 * standard workloads on opencl and java. A program, not a test (surefire does not pick it up).
 *
 * <pre>
 * GpuCheck devices                      every OpenCL platform and device
 * GpuCheck tests CLASS...               JUnit classes; a line per class; exit 1 on any failure
 * GpuCheck bench [--device D] [--seconds S] [--min-runs K] [--out FILE] [--threads N] [--only W1,L]
 *                                       FP32 peak; W1–W5 and L (LSTM N=256 T=64 I=H=1024) on
 *                                       opencl and java: ms, GFLOP/s, % of the opencl device's peak
 * GpuCheck persistent [--device D] [--seconds S] [--min-runs K] [--out FILE]
 *                                       N=1 T=128 I=H=256 for LSTM, GRU (both variants) and RNN:
 *                                       launches and ms per sequence, per-step against persistent
 *                                       (R read as it is and transposed)
 * </pre>
 */
final class GpuCheck {

  private GpuCheck() {}

  /** A configuration: one layer stack, f32 inference, time-major (as bench's Workload). */
  record Workload(String id, Recurrent spec, int batch, int steps, int input) {
    /** 2·T·N·G·H·(I + H) per layer and direction. */
    long flops() {
      long total = 0;
      for (int l = 0; l < spec.layers(); l++) {
        long in = l == 0 ? input : spec.outputSize();
        total +=
            2L
                * steps
                * batch
                * spec.cell().gates()
                * spec.hidden()
                * (in + spec.outputHidden())
                * spec.directions();
      }
      return total;
    }

    String describe() {
      String cell =
          (spec.directions() == 2 ? "bi-" : "")
              + spec.cell().name()
              + (spec.cell() == Recurrent.Cell.GRU
                  ? spec.isLinearBeforeReset() ? "(lbr)" : "(reset first)"
                  : "");
      return cell + " N=" + batch + " T=" + steps + " I=" + input + " H=" + spec.hidden();
    }

    Graph graph() {
      return Graph.build(
          b -> {
            Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(input));
            Value y = b.recurrent(x, spec.name("rnn"));
            b.output("y", y);
          });
    }
  }

  static final List<Workload> WORKLOADS =
      List.of(
          new Workload("W1", Recurrent.lstm(256), 1, 128, 256),
          new Workload("W2", Recurrent.gru(256), 1, 128, 256),
          new Workload("W3", Recurrent.lstm(32).bidirectional(), 1, 200, 40),
          new Workload("W4", Recurrent.lstm(512), 64, 64, 512),
          new Workload("W5", Recurrent.gru(512), 64, 64, 512),
          new Workload("L", Recurrent.lstm(1024), 256, 64, 1024));

  static final List<Workload> PERSISTENT =
      List.of(
          new Workload("W1", Recurrent.lstm(256), 1, 128, 256),
          new Workload("W2", Recurrent.gru(256), 1, 128, 256),
          new Workload("W2r", Recurrent.gru(256).linearBeforeReset(false), 1, 128, 256),
          new Workload("R1", Recurrent.rnn(256), 1, 128, 256));

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println(
          "usage: GpuCheck devices | tests CLASS... | bench [...] | persistent [...]");
      System.exit(2);
    }
    List<String> rest = List.of(args).subList(1, args.length);
    int rc =
        switch (args[0]) {
          case "devices" -> devices();
          case "tests" -> tests(rest);
          case "bench" -> bench(options(rest), false);
          case "persistent" -> bench(options(rest), true);
          default -> {
            System.err.println("unknown command " + args[0]);
            yield 2;
          }
        };
    System.exit(rc);
  }

  private static Map<String, String> options(List<String> args) {
    Map<String, String> o = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.size(); i += 2) {
      o.put(args.get(i).replaceFirst("^--", ""), args.get(i + 1));
    }
    return o;
  }

  private static int devices() {
    List<String> all = OpenClBackend.devices();
    if (all.isEmpty()) {
      System.out.println("no OpenCL device: " + ClDevice.availability().reason());
      return 1;
    }
    all.forEach(System.out::println);
    System.out.println(
        "default (-D" + ClDevice.PROPERTY + "): " + ClDevice.availability().reason());
    return 0;
  }

  // ---------------------------------------------------------------------------- tests

  /** Runs the test classes, one summary line per class, the failures at the end. */
  private static int tests(List<String> classes) {
    LauncherDiscoveryRequest request =
        LauncherDiscoveryRequestBuilder.request()
            .selectors(classes.stream().map(DiscoverySelectors::selectClass).toList())
            .build();
    SummaryGeneratingListener summary = new SummaryGeneratingListener();
    TestExecutionListener perClass =
        new TestExecutionListener() {
          final Map<String, long[]> counts = new LinkedHashMap<>(); // passed, failed, skipped
          final Map<String, Long> started = new LinkedHashMap<>();

          private String owner(TestIdentifier id) {
            return id.getSource()
                .map(
                    s ->
                        s instanceof org.junit.platform.engine.support.descriptor.MethodSource m
                            ? m.getClassName()
                            : s
                                    instanceof
                                    org.junit.platform.engine.support.descriptor.ClassSource c
                                ? c.getClassName()
                                : "?")
                .orElse("?");
          }

          @Override
          public void executionStarted(TestIdentifier id) {
            if (isClass(id)) {
              started.put(owner(id), System.nanoTime());
            }
          }

          @Override
          public void executionSkipped(TestIdentifier id, String reason) {
            if (id.isTest()) {
              counts.computeIfAbsent(owner(id), k -> new long[3])[2]++;
            }
          }

          @Override
          public void executionFinished(TestIdentifier id, TestExecutionResult r) {
            if (id.isTest()) { // an aborted test (an assumption not met) counts as skipped
              long[] c = counts.computeIfAbsent(owner(id), k -> new long[3]);
              c[
                  switch (r.getStatus()) {
                    case SUCCESSFUL -> 0;
                    case FAILED -> 1;
                    case ABORTED -> 2;
                  }]++;
            } else if (isClass(id)) {
              String name = owner(id);
              long[] c = counts.getOrDefault(name, new long[3]);
              double s = (System.nanoTime() - started.getOrDefault(name, System.nanoTime())) / 1e9;
              System.out.printf(
                  Locale.ROOT,
                  "TESTS %-55s %5d passed %4d failed %3d skipped %7.1f s%s%n",
                  name.substring(name.lastIndexOf('.') + 1),
                  c[0],
                  c[1],
                  c[2],
                  s,
                  r.getStatus() == TestExecutionResult.Status.SUCCESSFUL
                      ? ""
                      : " (class: " + r.getThrowable().map(Throwable::toString).orElse("?") + ")");
            }
          }

          private boolean isClass(TestIdentifier id) {
            return id.isContainer()
                && id.getSource()
                    .filter(
                        s -> s instanceof org.junit.platform.engine.support.descriptor.ClassSource)
                    .isPresent();
          }
        };
    LauncherFactory.create().execute(request, summary, perClass);
    StringWriter w = new StringWriter();
    PrintWriter pw = new PrintWriter(w);
    summary.getSummary().printTo(pw);
    summary.getSummary().printFailuresTo(pw, 15);
    pw.flush();
    System.out.println(w);
    var s = summary.getSummary();
    return s.getTotalFailureCount() == 0 && s.getTestsFoundCount() > 0 ? 0 : 1;
  }

  // ---------------------------------------------------------------------------- the peak

  private static final String PEAK_KERNEL =
      """
      // 8 independent float4 FMA chains per work-item: 64 FLOPs an iteration, no memory traffic.
      __kernel void fmaPeak(__global float* out, float a, float b, int iters) {
        int i = get_global_id(0);
        float4 x0 = (float4)(i, i + 1, i + 2, i + 3) * 1e-7f;
        float4 x1 = x0 + 0.1f, x2 = x0 + 0.2f, x3 = x0 + 0.3f;
        float4 x4 = x0 + 0.4f, x5 = x0 + 0.5f, x6 = x0 + 0.6f, x7 = x0 + 0.7f;
        float4 va = (float4)(a), vb = (float4)(b);
        for (int k = 0; k < iters; k++) {
          x0 = fma(x0, va, vb); x1 = fma(x1, va, vb); x2 = fma(x2, va, vb); x3 = fma(x3, va, vb);
          x4 = fma(x4, va, vb); x5 = fma(x5, va, vb); x6 = fma(x6, va, vb); x7 = fma(x7, va, vb);
        }
        float4 s = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
        out[i] = (s.x + s.y) + (s.z + s.w);
      }
      """;

  /**
   * The device's FP32 peak in GFLOP/s as this kernel reaches it: iterations grown until a launch
   * takes 50 ms, then the best of 5 launches.
   */
  static double peakGflops(ClDevice dev) {
    cl_program p = ClDevice.build(dev.context, dev.device, PEAK_KERNEL, "-cl-std=CL1.2");
    cl_kernel k = clCreateKernel(p, "fmaPeak", null);
    cl_command_queue q = clCreateCommandQueue(dev.context, dev.device, 0, null);
    long items = (long) dev.computeUnits * 2048;
    cl_mem out = clCreateBuffer(dev.context, CL_MEM_WRITE_ONLY, items * 4, null, null);
    try {
      clSetKernelArg(k, 0, Sizeof.cl_mem, Pointer.to(out));
      clSetKernelArg(k, 1, Sizeof.cl_float, Pointer.to(new float[] {0.999f}));
      clSetKernelArg(k, 2, Sizeof.cl_float, Pointer.to(new float[] {0.001f}));
      int iters = 64;
      double seconds = launch(k, q, items, iters);
      while (seconds < 0.05 && iters < (1 << 22)) {
        iters *= seconds < 0.005 ? 8 : 2;
        seconds = launch(k, q, items, iters);
      }
      double best = Double.MAX_VALUE;
      for (int r = 0; r < 5; r++) {
        best = Math.min(best, launch(k, q, items, iters));
      }
      return items * (double) iters * 64 / best / 1e9;
    } finally {
      clReleaseMemObject(out);
      clReleaseCommandQueue(q);
      clReleaseKernel(k);
      clReleaseProgram(p);
    }
  }

  private static double launch(cl_kernel k, cl_command_queue q, long items, int iters) {
    clSetKernelArg(k, 3, Sizeof.cl_int, Pointer.to(new int[] {iters}));
    long t0 = System.nanoTime();
    clEnqueueNDRangeKernel(q, k, 1, null, new long[] {items}, null, 0, null, null);
    clFinish(q);
    return (System.nanoTime() - t0) / 1e9;
  }

  // ---------------------------------------------------------------------------- workloads

  /** One timed configuration. */
  record Timing(double medianMs, double minMs, int runs, long launches, float[] y) {}

  private static int bench(Map<String, String> o, boolean persistentOnly) throws IOException {
    String device = o.getOrDefault("device", System.getProperty(ClDevice.PROPERTY, ""));
    double seconds = Double.parseDouble(o.getOrDefault("seconds", "3"));
    int minRuns = Integer.parseInt(o.getOrDefault("min-runs", "3"));
    int threads =
        Integer.parseInt(
            o.getOrDefault("threads", "" + Runtime.getRuntime().availableProcessors()));
    ClDevice dev = ClDevice.get(device);
    StringBuilder table = new StringBuilder();
    String head =
        String.format(
            Locale.ROOT,
            "opencl device: %s%njava: %d threads on %d processors%n",
            dev,
            threads,
            Runtime.getRuntime().availableProcessors());
    double peak = peakGflops(dev);
    head +=
        String.format(
            Locale.ROOT, "FP32 peak of the opencl device (fmaPeak kernel): %.1f GFLOP/s%n", peak);
    System.out.print(head);
    table.append(head).append('\n');
    String columns =
        "| workload | configuration | backend | launches/seq | median ms | min ms | runs | GFLOP/s"
            + " | % of peak | max abs diff vs java |\n|---|---|---|---|---|---|---|---|---|---|\n";
    table.append(columns);
    System.out.print(columns);
    List<String> only = o.containsKey("only") ? Arrays.asList(o.get("only").split(",")) : List.of();
    for (Workload w : persistentOnly ? PERSISTENT : WORKLOADS) {
      if (!only.isEmpty() && !only.contains(w.id())) {
        continue;
      }
      Map<String, Timing> rows = new LinkedHashMap<>();
      try (Weights weights = Weights.random(w.graph(), 1);
          Tensor x = random(w)) {
        if (persistentOnly) {
          rows.put(
              "opencl per-step",
              time(w, weights, x, "opencl", device, threads, seconds, minRuns, false));
          for (String layout : new String[] {"rows", "transposed"}) {
            System.setProperty("jrnn.opencl.persistentLayout", layout); // read at compile
            rows.put(
                "opencl persistent, R " + layout,
                time(w, weights, x, "opencl", device, threads, seconds, minRuns, true));
          }
          System.clearProperty("jrnn.opencl.persistentLayout");
        } else {
          rows.put("java", time(w, weights, x, "java", device, threads, seconds, minRuns, false));
          rows.put(
              "opencl", time(w, weights, x, "opencl", device, threads, seconds, minRuns, false));
          if (w.batch() == 1) {
            rows.put(
                "opencl persistent",
                time(w, weights, x, "opencl", device, threads, seconds, minRuns, true));
          }
        }
      }
      float[] base = rows.values().iterator().next().y();
      for (Map.Entry<String, Timing> e : rows.entrySet()) {
        Timing t = e.getValue();
        double gflops = w.flops() / (t.medianMs() * 1e6);
        boolean cl = e.getKey().startsWith("opencl");
        String line =
            String.format(
                Locale.ROOT,
                "| %s | %s | %s | %s | %.3f | %.3f | %d | %.1f | %s | %s |%n",
                w.id(),
                w.describe(),
                e.getKey(),
                cl ? Long.toString(t.launches()) : "-",
                t.medianMs(),
                t.minMs(),
                t.runs(),
                gflops,
                cl ? String.format(Locale.ROOT, "%.1f %%", 100 * gflops / peak) : "-",
                t == rows.values().iterator().next()
                    ? "-"
                    : String.format(Locale.ROOT, "%.1e", maxAbsDiff(base, t.y())));
        System.out.print(line);
        table.append(line);
      }
    }
    if (o.containsKey("out")) {
      Files.writeString(Path.of(o.get("out")), table.toString());
    }
    return 0;
  }

  private static Tensor random(Workload w) {
    SplittableRandom r = new SplittableRandom(7);
    Tensor t = Tensor.allocate(DType.F32, w.steps(), w.batch(), w.input());
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) (r.nextDouble() * 2 - 1));
    }
    return t;
  }

  /**
   * Warm-up (at least {@code minRuns} runs, 2 at most, then up to a third of {@code seconds}; the
   * last counts kernel launches), then runs until {@code seconds} have passed (at least {@code
   * minRuns}, at most 200): median and minimum ms of one forward pass (upload, compute, read back
   * y), launches per pass, y of the first timed run.
   */
  private static Timing time(
      Workload w,
      Weights weights,
      Tensor x,
      String backend,
      String device,
      int threads,
      double seconds,
      int minRuns,
      boolean persistent) {
    String was = System.getProperty("jrnn.opencl.persistent");
    System.setProperty("jrnn.opencl.persistent", Boolean.toString(persistent)); // read at compile
    Options opt = Options.backend(backend).threads(threads);
    if (backend.equals("opencl") && !device.isBlank()) {
      opt = opt.device(device);
    }
    try (Session s = Session.open(w.graph(), weights, opt)) {
      Map<String, Tensor> in = Map.of("x", x);
      long warm = System.nanoTime();
      int warmRuns = Math.max(1, Math.min(2, minRuns));
      long launches = 0;
      for (int r = 0;
          r < warmRuns || (r < 20 && System.nanoTime() - warm < seconds / 3 * 1e9);
          r++) {
        long l0 = Lane.LAUNCHES.get();
        s.run(in).close();
        launches = Lane.LAUNCHES.get() - l0;
      }
      List<Double> ms = new ArrayList<>();
      float[] y = null;
      long start = System.nanoTime();
      while (ms.size() < Math.max(1, minRuns)
          || (ms.size() < 200 && System.nanoTime() - start < seconds * 1e9)) {
        long t0 = System.nanoTime();
        try (Result r = s.run(in)) {
          ms.add((System.nanoTime() - t0) / 1e6);
          if (y == null) {
            y = r.get("y").toFloatArray();
          }
        }
      }
      ms.sort(null);
      return new Timing(ms.get(ms.size() / 2), ms.get(0), ms.size(), launches, y);
    } finally {
      if (was == null) {
        System.clearProperty("jrnn.opencl.persistent");
      } else {
        System.setProperty("jrnn.opencl.persistent", was);
      }
    }
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }
}
