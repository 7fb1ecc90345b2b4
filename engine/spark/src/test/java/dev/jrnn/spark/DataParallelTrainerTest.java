package dev.jrnn.spark;

import static dev.jrnn.Dim.dyn;
import static dev.jrnn.spark.SparkTesting.messages;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Optimizer;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Data-parallel training in local[2] against a single trainer on the same batches. */
class DataParallelTrainerTest {

  static final int CLASSES = 3;
  static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = SparkTesting.spark();
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** Tokens with lengths → embedding → LSTM → last step → linear: logits over 3 classes. */
  static Graph classifier() {
    return Graph.build(
        b -> {
          Value ids = b.input("tokens", DType.I32, dyn("T"), dyn("N"));
          Value lengths = b.input("lengths", DType.I32, dyn("N"));
          Value x = b.embedding(ids, SparkTesting.VOCAB, 8);
          Value y = b.recurrent(x, Recurrent.lstm(16), lengths, null, null);
          b.output("logits", b.linear(b.lastStep(y), CLASSES));
        });
  }

  static Training adam() {
    return Training.of(Loss.crossEntropy("logits"), Optimizer.adam(0.01)).seed(5);
  }

  static Training weightedAdam() {
    return Training.of(
            Loss.crossEntropy("logits").classWeights(0.5f, 2f, 1f).ignoreIndex(1),
            Optimizer.adam(0.01).clipNorm(0.5))
        .seed(5);
  }

  /** Sequences and their class (the first token mod 3) in partitions of the given sizes. */
  record Data(List<int[]> seqs, int[] labels, int[] sizes) {
    static Data random(long seed, int... sizes) {
      int rows = java.util.stream.IntStream.of(sizes).sum();
      List<int[]> seqs = SparkTesting.tokens(rows, 8, seed);
      int[] labels = new int[rows];
      for (int i = 0; i < rows; i++) {
        labels[i] = seqs.get(i)[0] % CLASSES;
      }
      return new Data(seqs, labels, sizes);
    }

    /** One Spark partition per size, in order. */
    Dataset<Row> frame(SparkSession spark) {
      StructType schema =
          new StructType()
              .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType))
              .add("label", DataTypes.IntegerType);
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      org.apache.spark.api.java.JavaRDD<Row> rdd = null;
      for (int p = 0, first = 0; p < sizes.length; first += sizes[p], p++) {
        List<Row> rows = new ArrayList<>();
        for (int i = first; i < first + sizes[p]; i++) {
          rows.add(RowFactory.create(SparkTesting.boxed(seqs.get(i)), labels[i]));
        }
        var part = jsc.parallelize(rows, 1);
        rdd = rdd == null ? part : rdd.union(part);
      }
      return spark.createDataFrame(rdd, schema);
    }

    /** The data's row indices of step k's batch: each partition's share, in partition order. */
    int[] batch(int k, int batchSize) {
      int[] shares = DataParallelTrainer.shares(sizes, batchSize);
      int[] rows = new int[batchSize];
      int at = 0;
      for (int p = 0, first = 0; p < sizes.length; first += sizes[p], p++) {
        for (int j = 0; j < shares[p]; j++) {
          rows[at++] = first + (k * shares[p] + j) % sizes[p];
        }
      }
      return rows;
    }
  }

  /** The weights after {@code steps} steps of a single trainer on the same batches. */
  static Map<String, float[]> singleMachine(
      Graph g,
      Weights init,
      Training training,
      Data d,
      int batch,
      int steps,
      double[] losses,
      Map<String, float[]> lastGradients) {
    try (Trainer t = Trainer.open(g, init, training, Options.backend("java").threads(1))) {
      for (int k = 0; k < steps; k++) {
        int[] rows = d.batch(k, batch);
        int len = 0;
        for (int r : rows) {
          len = Math.max(len, d.seqs().get(r).length);
        }
        int[] ids = new int[len * batch];
        int[] lengths = new int[batch];
        int[] y = new int[batch];
        for (int j = 0; j < batch; j++) {
          int[] s = d.seqs().get(rows[j]);
          lengths[j] = s.length;
          y[j] = d.labels()[rows[j]];
          for (int t0 = 0; t0 < s.length; t0++) {
            ids[t0 * batch + j] = s[t0];
          }
        }
        try (Tensor tk = Tensor.of(ids, len, batch);
            Tensor ln = Tensor.of(lengths, batch);
            Tensor target = Tensor.of(y, batch)) {
          losses[k] = t.step(Map.of("tokens", tk, "lengths", ln), target);
        }
      }
      lastGradients.putAll(gradients(t));
      return values(t);
    }
  }

  static Map<String, float[]> values(Trainer t) {
    try (Weights w = t.weights()) {
      return arrays(w);
    }
  }

  static Map<String, float[]> gradients(Trainer t) {
    try (Weights w = t.gradients()) {
      return arrays(w);
    }
  }

  static Map<String, float[]> arrays(Weights w) {
    Map<String, float[]> m = new java.util.LinkedHashMap<>();
    for (String name : w.names()) {
      m.put(name, w.get(name).toFloatArray());
    }
    return m;
  }

  static Map<String, float[]> zeros(Map<String, float[]> like) {
    Map<String, float[]> m = new java.util.LinkedHashMap<>();
    like.forEach((k, v) -> m.put(k, new float[v.length]));
    return m;
  }

  static double maxDiff(Map<String, float[]> a, Map<String, float[]> b) {
    assertEquals(a.keySet(), b.keySet());
    double max = 0;
    for (String k : a.keySet()) {
      float[] x = a.get(k);
      float[] y = b.get(k);
      for (int i = 0; i < x.length; i++) {
        max = Math.max(max, Math.abs(x[i] - y[i]));
      }
    }
    return max;
  }

  @Test
  void eachPartitionGivesABatchItsShareOfRows() {
    assertArrayEquals(new int[] {4, 12, 8}, DataParallelTrainer.shares(new int[] {10, 30, 20}, 24));
    // 2.67, 8, 5.33 rounded down leave one row, which goes to the largest remainder (2/3)
    assertArrayEquals(new int[] {3, 8, 5}, DataParallelTrainer.shares(new int[] {10, 30, 20}, 16));
    assertArrayEquals(new int[] {0, 2, 1}, DataParallelTrainer.shares(new int[] {0, 2, 1}, 3));
    assertArrayEquals(new int[] {1, 1, 0}, DataParallelTrainer.shares(new int[] {3, 3, 3}, 2));
  }

  /**
   * Partitions of 10, 30 and 20 rows give a batch of 24 unequal shares (4, 12, 8), so a plain mean
   * of the partitions' gradients, a lost share or a wrong row would each move the weights by about
   * the learning rate (measured with a plain mean: 0.06).
   *
   * <p>Tolerances. The batch gradient is the same sum taken in another order, so it agrees to float
   * rounding: the last step's gradients within 1e-5 of the largest gradient (measured 3e-8 and
   * 3e-7, the latter at weights that already differ a little). The weights get a looser bound, 1e-4
   * (a hundredth of the learning rate), because Adam divides each element's gradient by its own
   * running RMS: where an element's gradient is near zero, rounding of 1e-7 in it becomes a visible
   * fraction of that element's update (measured: 1.9e-7 here, 5.3e-6 in one LSTM weight of the
   * class-weighted run). The losses agree within 1e-6 (measured 1e-8).
   */
  @Test
  void fiveAdamStepsEqualASingleTrainerOnTheSameBatches() {
    check(adam(), DataParallelTrainerTest::adam, Data.random(11, 10, 30, 20), 24, 5);
  }

  /**
   * With class weights and an ignored class, a share's weight in the mean is its rows' class-weight
   * sum (not its row count); batches of 16 (shares 3, 8, 5) and a norm clip.
   */
  @Test
  void classWeightsAndIgnoredRowsWeighTheShares() {
    check(
        weightedAdam(), DataParallelTrainerTest::weightedAdam, Data.random(14, 10, 30, 20), 16, 3);
  }

  static void check(
      Training training,
      DataParallelTrainer.TrainingFactory factory,
      Data d,
      int batch,
      int steps) {
    Graph g = classifier();
    double[] expectedLoss = new double[steps];
    try (Weights init = Weights.random(g, 3);
        DataParallelTrainer dp =
            DataParallelTrainer.open(g, init, factory, Options.backend("java").threads(1))) {
      Map<String, float[]> singleGrads = new java.util.LinkedHashMap<>();
      Map<String, float[]> single =
          singleMachine(g, init, training, d, batch, steps, expectedLoss, singleGrads);
      dp.inputCol("tokens").labelCol("label");
      double[] loss = dp.fit(d.frame(spark), batch, steps);
      Map<String, float[]> parallel = values(dp.trainer());
      double diff = maxDiff(single, parallel);
      Map<String, float[]> parallelGrads = gradients(dp.trainer());
      double gradDiff = maxDiff(singleGrads, parallelGrads);
      double gradMax = maxDiff(singleGrads, zeros(singleGrads));
      double moved;
      try (Weights w0 = init) {
        Map<String, float[]> start = new java.util.LinkedHashMap<>();
        w0.names().forEach(nm -> start.put(nm, w0.get(nm).toFloatArray()));
        moved = maxDiff(start, single);
      }
      System.out.printf(
          "%d steps: max |parallel - single| %.3g (weights moved up to %.3g), last gradients %.3g"
              + " (largest %.3g); losses %s vs %s%n",
          steps,
          diff,
          moved,
          gradDiff,
          gradMax,
          java.util.Arrays.toString(loss),
          java.util.Arrays.toString(expectedLoss));
      assertEquals(steps, dp.trainer().steps());
      for (int k = 0; k < steps; k++) {
        assertEquals(expectedLoss[k], loss[k], 1e-6, "loss of step " + (k + 1));
      }
      assertTrue(gradDiff <= 1e-5 * gradMax, "last gradients differ by " + gradDiff);
      assertTrue(diff <= 1e-4, "max weight difference " + diff);
    }
  }

  @Test
  void aBadLabelOrTokenNamesItsRow() {
    Graph g = classifier();
    Data d = Data.random(12, 20, 20);
    d.labels()[20 + 7] = 3;
    try (Weights init = Weights.random(g, 3);
        DataParallelTrainer dp =
            DataParallelTrainer.open(
                g, init, DataParallelTrainerTest::adam, Options.backend("java").threads(1))) {
      dp.inputCol("tokens");
      Exception e = assertThrows(Exception.class, () -> dp.fit(d.frame(spark), 8, 1));
      assertTrue(
          messages(e).contains("row 7 of partition 1: the label 3 is not a class id in [0, 3)"),
          messages(e));
      d.labels()[27] = 0;
      d.seqs().set(20 + 4, new int[] {3, SparkTesting.VOCAB});
      Exception e2 = assertThrows(Exception.class, () -> dp.fit(d.frame(spark), 40, 1));
      assertTrue(
          messages(e2).contains("row 4 of partition 1: token id 50 at position 1"), messages(e2));
      assertEquals(0, dp.trainer().steps(), "no step was applied");
    }
  }

  @Test
  void theLabelColumnMustFitTheLoss() {
    Graph g = classifier();
    Data d = Data.random(13, 10);
    try (Weights init = Weights.random(g, 3);
        DataParallelTrainer dp =
            DataParallelTrainer.open(
                g, init, DataParallelTrainerTest::adam, Options.backend("java").threads(1))) {
      dp.inputCol("tokens").labelCol("tokens");
      var e = assertThrows(IllegalArgumentException.class, () -> dp.fit(d.frame(spark), 4, 1));
      assertEquals(
          "label column 'tokens' is array<int>; the loss on 'logits' needs an integer class id in"
              + " [0, 3) per row",
          e.getMessage());
      dp.labelCol("label");
      var e2 = assertThrows(IllegalArgumentException.class, () -> dp.fit(d.frame(spark), 11, 1));
      assertEquals(
          "a batch of 11 rows needs at least as many rows; the data has 10", e2.getMessage());
    }
  }
}
