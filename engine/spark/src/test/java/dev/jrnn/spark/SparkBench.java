package dev.jrnn.spark;

import static dev.jrnn.Dim.dyn;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Model;
import dev.jrnn.Optimizer;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Rows per second scoring through Spark local[2] ({@link JrnnTransformer}, output written to
 * Spark's {@code noop} sink) next to the same batches through a {@link Session} directly (one
 * thread, and two threads sharing the session), and milliseconds per training step of {@link
 * DataParallelTrainer} next to a single {@link Trainer} on the same batches. Each figure is the
 * median of {@code passes} timed passes after one warm-up pass.
 *
 * <pre>
 * mvn -o -q -pl engine/spark test-compile dependency:build-classpath \
 *     -Dmdep.includeScope=test -Dmdep.outputFile=target/cp.txt
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *     -cp engine/spark/target/test-classes:engine/spark/target/classes:$(cat engine/spark/target/cp.txt) \
 *     dev.jrnn.spark.SparkBench [rows] [passes] [trainSteps]
 * </pre>
 */
public final class SparkBench {

  static final int VOCAB = 1000;
  static final int MAX_LEN = 40;

  private SparkBench() {}

  /** Tokens with lengths → embedding 32 → LSTM h → last step → linear → softmax over 2. */
  static Graph scorer(int hidden) {
    return Graph.build(
        b -> {
          Value ids = b.input("tokens", DType.I32, dyn("T"), dyn("N"));
          Value lengths = b.input("lengths", DType.I32, dyn("N"));
          Value x = b.embedding(ids, VOCAB, 32);
          Value y = b.recurrent(x, Recurrent.lstm(hidden), lengths, null, null);
          Value logits = b.linear(b.lastStep(y), 2);
          b.output("logits", logits);
          b.output("prob", b.softmax(logits));
        });
  }

  static Training training() {
    return Training.of(Loss.crossEntropy("logits"), Optimizer.adam(1e-3)).seed(1);
  }

  public static void main(String[] args) throws Exception {
    int rows = args.length > 0 ? Integer.parseInt(args[0]) : 50_000;
    int passes = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int trainSteps = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    SparkSession spark =
        SparkSession.builder()
            .master("local[2]")
            .appName("jrnn-spark-bench")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    Path dir = Files.createTempDirectory("jrnn-spark-bench");
    Random r = new Random(1);
    List<int[]> seqs = new ArrayList<>(rows);
    int[] labels = new int[rows];
    for (int i = 0; i < rows; i++) {
      int[] s = new int[1 + r.nextInt(MAX_LEN)];
      for (int t = 0; t < s.length; t++) {
        s[t] = r.nextInt(VOCAB);
      }
      seqs.add(s);
      labels[i] = s[0] % 2;
    }
    StructType schema =
        new StructType()
            .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType))
            .add("label", DataTypes.IntegerType);
    List<Row> list = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      list.add(RowFactory.create(SparkTesting.boxed(seqs.get(i)), labels[i]));
    }
    int partitions = 4;
    Dataset<Row> df =
        spark
            .createDataFrame(
                JavaSparkContext.fromSparkContext(spark.sparkContext())
                    .parallelize(list, partitions),
                schema)
            .cache();
    df.count();
    int cores = Runtime.getRuntime().availableProcessors();
    System.out.printf(
        "%d rows of 1-%d tokens, %d partitions, batch 64, java backend 1 thread per task; %d"
            + " cores (shared: timings are noisy)%n%n",
        rows, MAX_LEN, partitions, cores);
    System.out.println("| model | path | rows/s | vs session 1 thread |");
    System.out.println("|---|---|---:|---:|");
    for (int hidden : new int[] {64, 256}) {
      Graph g = scorer(hidden);
      Path model = SparkTesting.save(g, 7, dir.resolve("lstm" + hidden + ".jrnn"));
      double one = median(passes, () -> direct(model, seqs, 1));
      double two = median(passes, () -> direct(model, seqs, 2));
      JrnnTransformer t =
          new JrnnTransformer()
              .setModelPath(model.toString())
              .setInputCol("tokens")
              .setOutputNames("prob")
              .setBatchSize(64);
      double viaSpark =
          median(
              passes,
              () -> {
                long t0 = System.nanoTime();
                t.transform(df).write().format("noop").mode("overwrite").save();
                return (System.nanoTime() - t0) / 1e9;
              });
      String name = "LSTM " + hidden;
      row(name, "Session, 1 thread", rows / one, 1);
      row(name, "Session, 2 threads", rows / two, one / two);
      row(name, "Spark local[2]", rows / viaSpark, one / viaSpark);
    }
    System.out.println();
    System.out.println("| batch | path | ms/step | vs one machine |");
    System.out.println("|---|---|---:|---:|");
    Graph g = scorer(64);
    System.out.printf(
        "(LSTM 64 classifier, Adam; a partition opens a trainer on the step's weights each step:"
            + " %.1f ms)%n",
        trainerOpenMs(g));
    for (int batch : new int[] {32, 512}) {
      double single = singleStepMs(g, seqs, labels, batch, trainSteps);
      double dp = parallelStepMs(g, df, batch, trainSteps);
      System.out.printf("| %d | one Trainer (1 thread) | %.1f | 1.00x |%n", batch, single);
      System.out.printf(
          "| %d | DataParallelTrainer, local[2], %d partitions | %.1f | %.2fx |%n",
          batch, partitions, dp, single / dp);
    }
    spark.stop();
  }

  interface Pass {
    double seconds() throws Exception;
  }

  static double median(int passes, Pass p) throws Exception {
    p.seconds(); // warm-up
    double[] s = new double[passes];
    for (int i = 0; i < passes; i++) {
      s[i] = p.seconds();
    }
    Arrays.sort(s);
    return s[passes / 2];
  }

  static void row(String model, String path, double rowsPerS, double speedup) {
    System.out.printf("| %s | %s | %,.0f | %.2fx |%n", model, path, rowsPerS, speedup);
  }

  /** Seconds to score every sequence in batches of 64 on {@code threads} threads, one session. */
  static double direct(Path model, List<int[]> seqs, int threads) throws Exception {
    try (Model m = Model.load(model);
        Session s = m.open(Options.backend("java").threads(1))) {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      long t0 = System.nanoTime();
      List<Future<?>> fs = new ArrayList<>();
      int per = (seqs.size() + threads - 1) / threads;
      for (int k = 0; k < threads; k++) {
        List<int[]> mine = seqs.subList(k * per, Math.min(seqs.size(), (k + 1) * per));
        fs.add(pool.submit(() -> score(s, mine)));
      }
      for (Future<?> f : fs) {
        f.get();
      }
      double sec = (System.nanoTime() - t0) / 1e9;
      pool.shutdown();
      return sec;
    }
  }

  static void score(Session s, List<int[]> seqs) {
    for (int from = 0; from < seqs.size(); from += 64) {
      List<int[]> b = seqs.subList(from, Math.min(seqs.size(), from + 64));
      Tensor[] in = batch(b, null);
      try (Result r = s.run(Map.of("tokens", in[0], "lengths", in[1]))) {
        r.get("prob").toFloatArray();
      } finally {
        in[0].close();
        in[1].close();
      }
    }
  }

  /** Tokens [T, N] padded, lengths [N] and (when labels are given) targets [N]. */
  static Tensor[] batch(List<int[]> b, int[] y) {
    int n = b.size();
    int len = 0;
    for (int[] q : b) {
      len = Math.max(len, q.length);
    }
    int[] ids = new int[len * n];
    int[] lengths = new int[n];
    for (int i = 0; i < n; i++) {
      int[] q = b.get(i);
      lengths[i] = q.length;
      for (int t = 0; t < q.length; t++) {
        ids[t * n + i] = q[t];
      }
    }
    return y == null
        ? new Tensor[] {Tensor.of(ids, len, n), Tensor.of(lengths, n)}
        : new Tensor[] {Tensor.of(ids, len, n), Tensor.of(lengths, n), Tensor.of(y, n)};
  }

  /** The median ms of {@code steps} steps of one trainer on batches of consecutive rows. */
  static double singleStepMs(Graph g, List<int[]> seqs, int[] labels, int batch, int steps) {
    try (Weights w = Weights.random(g, 3);
        Trainer t = Trainer.open(g, w, training(), Options.backend("java").threads(1))) {
      double[] ms = new double[steps];
      for (int k = -10; k < steps; k++) { // ten warm-up steps
        int from = ((k + 10) * batch) % (seqs.size() - batch);
        int[] y = Arrays.copyOfRange(labels, from, from + batch);
        Tensor[] in = batch(seqs.subList(from, from + batch), y);
        long t0 = System.nanoTime();
        try {
          t.step(Map.of("tokens", in[0], "lengths", in[1]), in[2]);
        } finally {
          for (Tensor x : in) {
            x.close();
          }
        }
        if (k >= 0) {
          ms[k] = (System.nanoTime() - t0) / 1e6;
        }
      }
      Arrays.sort(ms);
      return ms[steps / 2];
    }
  }

  /** The median ms of {@code steps} data-parallel steps (after a warm-up fit). */
  static double parallelStepMs(Graph g, Dataset<Row> df, int batch, int steps) {
    df.count();
    try (Weights w = Weights.random(g, 3);
        DataParallelTrainer dp =
            DataParallelTrainer.open(
                g, w, SparkBench::training, Options.backend("java").threads(1))) {
      dp.inputCol("tokens").labelCol("label");
      dp.fit(df, batch, 10); // warm-up
      dp.fit(df, batch, steps);
      long[] ns = dp.stepNanos();
      Arrays.sort(ns);
      return ns[steps / 2] / 1e6;
    }
  }

  /** The median ms of opening a trainer on {@code g}: what each partition does every step. */
  static double trainerOpenMs(Graph g) {
    double[] ms = new double[15];
    try (Weights w = Weights.random(g, 3)) {
      for (int i = -5; i < ms.length; i++) {
        long t0 = System.nanoTime();
        Trainer.open(g, w, training(), Options.backend("java").threads(1)).close();
        if (i >= 0) {
          ms[i] = (System.nanoTime() - t0) / 1e6;
        }
      }
    }
    Arrays.sort(ms);
    return ms[ms.length / 2];
  }
}
