package dev.jrnn.spark;

import static dev.jrnn.Dim.dyn;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.Recurrent;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** What the Spark tests share: a local[2] session, the test models and data. */
final class SparkTesting {

  static final int VOCAB = 50;

  private SparkTesting() {}

  /** A local[2] session without UI, small shuffles; one per test class. */
  static SparkSession spark() {
    return SparkSession.builder()
        .master("local[2]")
        .appName("jrnn-spark-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate();
  }

  /**
   * Token ids with lengths → embedding → LSTM → outputs: {@code prob} (softmax over 3 classes, [N,
   * 3]), {@code hN} (the final hidden state, [1, N, 8]) and {@code seq} (the LSTM's outputs, [T, N,
   * 8]).
   */
  static Graph tokenModel() {
    return Graph.build(
        b -> {
          Value ids = b.input("tokens", DType.I32, dyn("T"), dyn("N"));
          Value lengths = b.input("lengths", DType.I32, dyn("N"));
          Value x = b.embedding(ids, VOCAB, 6);
          Value y = b.recurrent(x, Recurrent.lstm(8), lengths, null, null);
          b.output("prob", b.softmax(b.linear(b.lastStep(y), 3)));
          b.output("hN", y.finalH());
          b.output("seq", y);
        });
  }

  /** Values [T, N, 3] with lengths → GRU → {@code y} [N, 2]. */
  static Graph valueModel() {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(3));
          Value lengths = b.input("lengths", DType.I32, dyn("N"));
          Value y = b.recurrent(x, Recurrent.gru(5), lengths, null, null);
          b.output("y", b.linear(b.lastStep(y), 2));
        });
  }

  /** Saves {@code graph} with random weights from {@code seed} as a jrnn model. */
  static Path save(Graph graph, long seed, Path file) {
    try (Weights w = Weights.random(graph, seed);
        Model m = new Model(graph, w, "jrnn model")) {
      m.save(file);
    }
    return file;
  }

  /** Random token sequences of 1..maxLen ids in [0, VOCAB). */
  static List<int[]> tokens(int rows, int maxLen, long seed) {
    Random r = new Random(seed);
    List<int[]> out = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      int[] s = new int[1 + r.nextInt(maxLen)];
      for (int t = 0; t < s.length; t++) {
        s[t] = r.nextInt(VOCAB);
      }
      out.add(s);
    }
    return out;
  }

  static final StructType TOKENS =
      new StructType()
          .add("id", DataTypes.LongType, false)
          .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType), true);

  /** A DataFrame (id, tokens) of {@code seqs} in {@code partitions} contiguous partitions. */
  static Dataset<Row> tokenFrame(SparkSession spark, List<int[]> seqs, int partitions) {
    List<Row> rows = new ArrayList<>(seqs.size());
    for (int i = 0; i < seqs.size(); i++) {
      int[] s = seqs.get(i);
      rows.add(RowFactory.create((long) i, s == null ? null : boxed(s)));
    }
    return spark.createDataFrame(
        JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, partitions),
        TOKENS);
  }

  /** An array column's value as a Row holds it: a Scala sequence. */
  static scala.collection.immutable.Seq<Object> boxed(int[] a) {
    return new scala.collection.immutable.ArraySeq.ofInt(a);
  }

  /** The message of {@code e} and of every cause, one per line. */
  static String messages(Throwable e) {
    StringBuilder s = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      s.append(t).append('\n');
    }
    return s.toString();
  }
}
