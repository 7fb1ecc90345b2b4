package dev.jrnn.flink;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Session;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * Events per second through a Flink MiniCluster, one step per event ({@link
 * RecurrentStateFunction}) against many keys' steps batched ({@link
 * BatchedRecurrentStateOperator}), and the same steps through a bare session for the ceiling.
 *
 * <p>The job: a sequence source, events of {@code keys} interleaved keys with random features,
 * keyBy, the recurrent operator, a counting map and a discarding sink; checkpoints every second.
 * The rate is taken from the 20th percent of outputs to the last (job start-up left out). A first
 * pass warms the JIT and sizes each job to run about {@code seconds}; the passes after it are
 * reported.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp … dev.jrnn.flink.FlinkBench [seconds] [keys] [parallelism] [passes]
 * </pre>
 */
public final class FlinkBench {

  static final AtomicLong COUNT = new AtomicLong();
  static final AtomicLong START = new AtomicLong();
  static final AtomicLong END = new AtomicLong();
  static volatile long total;

  private FlinkBench() {}

  record Net(String name, int features, int hidden, int layers) {
    Graph graph() {
      return Graph.build(
          b -> {
            Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(features));
            Value seq = b.recurrent(x, Recurrent.lstm(hidden).layers(layers));
            b.output("y", b.sigmoid(b.linear(seq, 1)));
          });
    }
  }

  /** One line of the table: a model, a state backend (or none: the bare session), a mode. */
  record Run(Net net, String backend, int rows) {
    String mode() {
      if (backend.equals("-")) {
        return "session, batch " + rows;
      }
      return rows == 0 ? "per event" : "batched, " + rows + " rows";
    }
  }

  public static void main(String[] args) throws Exception {
    double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 6;
    int keys = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    int parallelism = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    int passes = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    Path dir = Files.createTempDirectory("jrnn-flink-bench");
    List<Run> runs = new ArrayList<>();
    Map<Net, Path> models = new LinkedHashMap<>();
    for (Net net :
        List.of(new Net("LSTM H16 x2 layers", 8, 16, 2), new Net("LSTM H128", 32, 128, 1))) {
      Path model = dir.resolve(net.hidden() + ".jrnn");
      try (Model m = new Model(net.graph(), Weights.random(net.graph(), 1), "jrnn model")) {
        m.save(model);
      }
      models.put(net, model);
      runs.add(new Run(net, "-", 1));
      runs.add(new Run(net, "-", 256));
      for (String backend : List.of("hashmap", "rocksdb")) {
        for (int rows : new int[] {0, 64, 256}) {
          runs.add(new Run(net, backend, rows));
        }
      }
    }
    // Pass 0 warms the JIT (the vector kernels run interpreted at a fraction of their speed until
    // C2 compiles them, which takes long on a loaded machine) and sizes each job to last about
    // `seconds`; then every configuration runs once per pass, so that a change in the machine's
    // load hits all of them.
    Map<Run, Double> estimate = new LinkedHashMap<>();
    Map<Run, List<Double>> rates = new LinkedHashMap<>();
    for (int pass = 0; pass <= passes; pass++) {
      for (Run r : runs) {
        Path model = models.get(r.net());
        double rate;
        if (r.backend().equals("-")) {
          rate = sessionRate(model, r.net(), r.rows(), keys, pass == 0 ? 2 : 3, seconds);
        } else {
          long events =
              pass == 0 ? 300_000 : Math.max(100_000, (long) (estimate.get(r) * seconds * 1.25));
          rate = flinkRate(model, r.net(), r.backend(), r.rows(), events, keys, parallelism, dir);
        }
        estimate.put(r, rate); // the next pass sizes its job by the latest rate
        if (pass > 0) {
          rates.computeIfAbsent(r, k -> new ArrayList<>()).add(rate);
        }
        System.out.printf(
            "pass %d: %-20s %-9s %-20s %,12.0f%n",
            pass, r.net().name(), r.backend(), r.mode(), rate);
      }
    }
    System.out.printf(
        "%n%,d keys, parallelism %d, %d cores, about %.0f s a figure; events/s, one figure per"
            + " pass%n",
        keys, parallelism, Runtime.getRuntime().availableProcessors(), seconds);
    System.out.printf("%-20s %-9s %-20s %s%n", "model", "state", "mode", "events/s");
    for (var e : rates.entrySet()) {
      Run r = e.getKey();
      System.out.printf(
          "%-20s %-9s %-20s %s%n",
          r.net().name(),
          r.backend(),
          r.mode(),
          String.join("  ", e.getValue().stream().map(v -> String.format("%,10.0f", v)).toList()));
    }
  }

  private static float[] features(long i, int n) {
    SplittableRandom r = new SplittableRandom(i);
    float[] f = new float[n];
    for (int j = 0; j < n; j++) {
      f[j] = (float) (r.nextDouble() * 2 - 1);
    }
    return f;
  }

  /**
   * Steps through a bare session: per step, {@code rows} keys' states are written into a batch
   * state, stepped, and read back, as the operators do, without Flink.
   */
  private static double sessionRate(
      Path model, Net net, int rows, int keys, double warmSeconds, double seconds) {
    try (Session s = Session.open(model, Options.backend("java").threads(1));
        State st = s.newState();
        Tensor x = Tensor.allocate(DType.F32, 1, rows, net.features());
        Tensor y = Tensor.allocate(DType.F32, 1, rows, 1)) {
      st.reset(rows);
      float[][] stored = new float[keys][st.rowSize()];
      x.copyFrom(features(1, rows * net.features()));
      long steps = 0;
      long t0 = 0;
      long began = System.nanoTime();
      int key = 0;
      while (true) {
        long now = System.nanoTime();
        if (t0 == 0 && now - began > warmSeconds * 1e9) {
          t0 = now;
          steps = 0;
        } else if (t0 != 0 && now - t0 > seconds * 1e9) {
          return steps * rows / ((now - t0) / 1e9);
        }
        for (int r = 0; r < rows; r++) {
          st.writeRow(r, stored[(key + r) % keys], 0);
        }
        s.step(st, Map.of("x", x), Map.of("y", y));
        for (int r = 0; r < rows; r++) {
          float[] saved = new float[st.rowSize()];
          st.readRow(r, saved, 0);
          stored[(key + r) % keys] = saved;
        }
        key = (key + rows) % keys;
        steps++;
      }
    }
  }

  private static double flinkRate(
      Path model,
      Net net,
      String backend,
      int rows,
      long events,
      int keys,
      int parallelism,
      Path dir)
      throws Exception {
    Configuration c = new Configuration();
    c.set(StateBackendOptions.STATE_BACKEND, backend);
    c.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
    c.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.resolve("ckpt").toUri().toString());
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironment(parallelism, c);
    env.enableCheckpointing(1000);
    int features = net.features();
    TypeInformation<Tuple2<Integer, float[]>> eventType =
        Types.TUPLE(Types.INT, Types.PRIMITIVE_ARRAY(Types.FLOAT));
    KeyedStream<Tuple2<Integer, float[]>, Integer> keyed =
        env.fromSequence(0, events - 1)
            .map(i -> Tuple2.of((int) (i % keys), features(i, features)), eventType)
            .keyBy(e -> e.f0);
    RecurrentSpec<Integer, Tuple2<Integer, float[]>, Float> spec =
        RecurrentSpec.<Integer, Tuple2<Integer, float[]>, Float>builder()
            .model(model)
            .input("x", e -> e.f1)
            .output((key, e, out) -> out.get("y")[0])
            .backend("java")
            .build();
    DataStream<Float> out =
        rows == 0
            ? keyed.process(new RecurrentStateFunction<>(spec), Types.FLOAT)
            : keyed.transform(
                "jrnn",
                Types.FLOAT,
                new BatchedRecurrentStateOperator<>(spec, rows, Duration.ofMillis(5)));
    COUNT.set(0);
    START.set(0);
    END.set(0);
    total = events;
    out.map(
            y -> {
              long n = COUNT.incrementAndGet();
              if (n == total / 5) {
                START.set(System.nanoTime());
              } else if (n == total) {
                END.set(System.nanoTime());
              }
              return y;
            },
            Types.FLOAT)
        .sinkTo(new DiscardingSink<>());
    env.execute("jrnn bench");
    return (events - events / 5) / ((END.get() - START.get()) / 1e9);
  }
}
