package dev.jrnn.cli;

import static dev.jrnn.Dim.dyn;

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
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jrnn demo} (what {@code make run} starts): the backends, then two canned sequence models
 * run on every available backend with output checksums, the largest difference from {@code
 * reference} and the time per run.
 */
@Command(
    name = "demo",
    description = {
      "Run canned LSTM and GRU models on every available backend.",
      "",
      "Lists the backends, then runs a 2-layer LSTM with ragged sequence lengths and a"
          + " bidirectional GRU (random weights, seed 1) on each available backend and prints the"
          + " output checksum, the max abs difference against 'reference' and the median time"
          + " after three seconds of warm-up per backend. Exits with status 1 when a backend"
          + " differs from 'reference' by more than 1e-5."
    })
final class DemoCommand implements Callable<Integer> {

  /** A canned model: a graph and its input shapes. */
  private record Model(String name, Graph graph, int steps, int batch, int features) {}

  @Option(
      names = "--threads",
      paramLabel = "N",
      converter = AtLeast.One.class,
      description = "Threads per session (default: one per core).")
  int threads;

  @Option(
      names = "--runs",
      paramLabel = "K",
      converter = AtLeast.One.class,
      description = "Timed runs per model and backend (default: ${DEFAULT-VALUE}).")
  int runs = 5;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    BackendsCommand.print(out);
    out.println();
    List<Backend> avail = new ArrayList<>();
    for (Backend b : Backends.all()) {
      if (b.availability().available()) {
        avail.add(b);
      }
    }
    List<Model> models = List.of(lstmModel(), gruModel());
    out.printf(
        "%-34s %-10s %7s %16s %12s %10s%n",
        "model", "backend", "threads", "checksum(y)", "max|diff|", "median ms");
    boolean ok = true;
    for (Model m : models) {
      try (Weights w = Weights.random(m.graph(), 1);
          Tensor x = random(2, m.steps(), m.batch(), m.features());
          Tensor len = lengths(m.batch(), m.steps())) {
        Map<String, Tensor> in =
            m.graph().inputs().containsKey("lengths")
                ? Map.of("x", x, "lengths", len)
                : Map.of("x", x);
        float[] reference = null;
        for (Backend b : orderReferenceFirst(avail)) {
          Options o = Options.backend(b.name()).threads(threads);
          try (Session s = Session.open(m.graph(), w, o)) {
            float[][] y = new float[1][];
            double[] ms = // 3 s warm-up: C2 needs ~1.5 s for the fused cells on 2 busy cores
                Timing.time(
                    () -> {
                      try (Result r = s.run(in)) {
                        y[0] = r.get("y").toFloatArray();
                      }
                    },
                    3,
                    runs);
            if (reference == null) {
              reference = y[0];
            }
            double diff = Timing.maxAbsDiff(reference, y[0]);
            ok &= diff <= 1e-5;
            out.printf(
                "%-34s %-10s %7d %16.6f %12.2e %10.2f%n",
                m.name(), b.name(), s.options().threadCount(), sum(y[0]), diff, Timing.median(ms));
          }
        }
      }
    }
    out.println();
    out.println(
        ok
            ? "every backend agrees with reference to within 1e-5"
            : "DISAGREEMENT: a backend differs from reference by more than 1e-5");
    return ok ? 0 : 1;
  }

  /** The available backends, {@code reference} first: the others are compared with it. */
  static List<Backend> orderReferenceFirst(List<Backend> avail) {
    List<Backend> l = new ArrayList<>();
    avail.stream().filter(b -> b.name().equals("reference")).forEach(l::add);
    avail.stream().filter(b -> !b.name().equals("reference")).forEach(l::add);
    return l;
  }

  private static Model lstmModel() {
    int t = 48;
    int n = 4;
    int in = 64;
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(in));
              Value len = b.input("lengths", DType.I32, dyn("N"));
              Value y = b.recurrent(x, Recurrent.lstm(128).layers(2), len, null, null);
              b.output("y", y);
            });
    return new Model("lstm 2x128, T=48 N=4 I=64, ragged", g, t, n, in);
  }

  private static Model gruModel() {
    int t = 48;
    int n = 4;
    int in = 64;
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(in));
              b.output("y", b.recurrent(x, Recurrent.gru(96).bidirectional()));
            });
    return new Model("gru bidir 96, T=48 N=4 I=64", g, t, n, in);
  }

  private static Tensor random(long seed, int... shape) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v =
        new float[Math.toIntExact(Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b))];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return Tensor.of(v, shape);
  }

  private static Tensor lengths(int batch, int steps) {
    int[] l = new int[batch];
    for (int i = 0; i < batch; i++) {
      l[i] = Math.max(1, steps - i * steps / (batch + 1));
    }
    return Tensor.of(l, batch);
  }

  private static double sum(float[] v) {
    double s = 0;
    for (float f : v) {
      s += f;
    }
    return s;
  }
}
