package dev.jrnn.spark;

import static dev.jrnn.spark.SparkTesting.messages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The transformer in local[2]: same numbers as a session, one open per JVM, bad rows named. */
class JrnnTransformerTest {

  static SparkSession spark;
  @TempDir static Path dir;
  static Path tokenModel;

  @BeforeAll
  static void start() {
    spark = SparkTesting.spark();
    tokenModel = SparkTesting.save(SparkTesting.tokenModel(), 1, dir.resolve("tokens.jrnn"));
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  static JrnnTransformer scorer(Path model) {
    return new JrnnTransformer()
        .setModelPath(model.toString())
        .setInputCol("tokens")
        .setOutputNames("prob", "hN", "seq")
        .setOutputCols("probability", "hidden", "states")
        .setBatchSize(64);
  }

  /** prob, hN and seq of each sequence, from a session run on batches of {@code batch} rows. */
  static float[][][] direct(Path model, List<int[]> seqs, int batch) {
    float[][][] out = new float[seqs.size()][][];
    try (Model m = Model.load(model);
        Session s = m.open(Options.backend("java").threads(1))) {
      for (int from = 0; from < seqs.size(); from += batch) {
        int n = Math.min(batch, seqs.size() - from);
        int steps = 0;
        for (int i = 0; i < n; i++) {
          steps = Math.max(steps, seqs.get(from + i).length);
        }
        int[] ids = new int[steps * n];
        int[] lengths = new int[n];
        for (int i = 0; i < n; i++) {
          int[] q = seqs.get(from + i);
          lengths[i] = q.length;
          for (int t = 0; t < q.length; t++) {
            ids[t * n + i] = q[t];
          }
        }
        try (Tensor tk = Tensor.of(ids, steps, n);
            Tensor ln = Tensor.of(lengths, n);
            Result r = s.run(Map.of("tokens", tk, "lengths", ln))) {
          Tensor prob = r.get("prob");
          Tensor h = r.get("hN");
          Tensor seq = r.get("seq");
          int hidden = h.dim(2);
          for (int i = 0; i < n; i++) {
            float[] p = new float[prob.dim(1)];
            for (int c = 0; c < p.length; c++) {
              p[c] = prob.floatAt(i, c);
            }
            float[] hi = new float[hidden];
            for (int c = 0; c < hidden; c++) {
              hi[c] = h.floatAt(0, i, c);
            }
            float[] st = new float[lengths[i] * hidden];
            for (int t = 0; t < lengths[i]; t++) {
              for (int c = 0; c < hidden; c++) {
                st[t * hidden + c] = seq.floatAt(t, i, c);
              }
            }
            out[from + i] = new float[][] {p, hi, st};
          }
        }
      }
    }
    return out;
  }

  /** prob, hN and seq (flattened) of each scored row, by id. */
  static float[][][] collect(Dataset<Row> scored, int rows) {
    float[][][] out = new float[rows][][];
    for (Row r : scored.select("id", "probability", "hidden", "states").collectAsList()) {
      List<Float> p = r.getList(1);
      List<Object> h = r.getList(2);
      List<Object> s = r.getList(3);
      float[] hi = floats(((scala.collection.Seq<?>) h.get(0)));
      List<Float> st = new ArrayList<>();
      for (Object step : s) {
        scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<?>) step)
            .forEach(v -> st.add((Float) v));
      }
      out[(int) r.getLong(0)] = new float[][] {floats(p), hi, floats(st)};
    }
    return out;
  }

  static float[] floats(List<?> l) {
    float[] a = new float[l.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = (Float) l.get(i);
    }
    return a;
  }

  static float[] floats(scala.collection.Seq<?> s) {
    return floats(scala.jdk.javaapi.CollectionConverters.asJava(s));
  }

  /** The largest absolute difference; throws if a row is missing or shaped differently. */
  static double maxDiff(float[][][] expected, float[][][] actual) {
    double max = 0;
    for (int i = 0; i < expected.length; i++) {
      assertTrue(actual[i] != null, "row " + i + " is missing");
      for (int k = 0; k < expected[i].length; k++) {
        assertEquals(expected[i][k].length, actual[i][k].length, "row " + i + " output " + k);
        for (int j = 0; j < expected[i][k].length; j++) {
          max = Math.max(max, Math.abs(expected[i][k][j] - actual[i][k][j]));
        }
      }
    }
    return max;
  }

  /**
   * Exact against a session run on the same batches (each partition's rows in batches of 64 from
   * its first row: the same tensors reach the same kernels, so the same bits come out); within 1e-6
   * against other batches (here 50 rows from the first row overall), because a batch's padded
   * length and row count change how the java backend blocks its GEMMs, hence the float summation
   * order (measured: about 1e-7).
   */
  @Test
  void scoring10000RowsEqualsASession() {
    int rows = 10_000;
    int partitions = 4;
    List<int[]> seqs = SparkTesting.tokens(rows, 12, 42);
    Dataset<Row> df = SparkTesting.tokenFrame(spark, seqs, partitions);
    long t0 = System.nanoTime();
    float[][][] scored = collect(scorer(tokenModel).transform(df), rows);
    long t1 = System.nanoTime();
    float[][][] same = new float[rows][][];
    int per = rows / partitions; // parallelize cuts a list into equal contiguous slices
    for (int p = 0; p < partitions; p++) {
      float[][][] part = direct(tokenModel, seqs.subList(p * per, (p + 1) * per), 64);
      System.arraycopy(part, 0, same, p * per, per);
    }
    long t2 = System.nanoTime();
    float[][][] other = direct(tokenModel, seqs, 50);
    double exact = maxDiff(same, scored);
    double close = maxDiff(other, scored);
    System.out.printf(
        "10000 rows: spark %.1f s, session %.1f s; max |spark - session|: same batches %s, batches"
            + " of 50 %s%n",
        (t1 - t0) / 1e9, (t2 - t1) / 1e9, exact, close);
    assertEquals(0, exact, "the same batches give the same bits");
    assertTrue(close <= 1e-6, "other batches agree within 1e-6: " + close);
  }

  @Test
  void theModelIsOpenedOncePerJvmAndKeptForLaterTransforms() {
    ExecutorSessions.closeIdle(); // what earlier tests left
    int before = ExecutorSessions.opens();
    Dataset<Row> df = SparkTesting.tokenFrame(spark, SparkTesting.tokens(400, 6, 1), 8);
    JrnnTransformer scorer = scorer(tokenModel).setBatchSize(16);
    // 8 partitions on 2 cores: tasks run side by side and one after another
    assertEquals(400, scorer.transform(df).select("probability").collectAsList().size());
    assertEquals(1, ExecutorSessions.opens() - before, "opens after the first transform");
    // a second transformer of the same model (so a second broadcast) reuses the session
    scorer(tokenModel).transform(df).select("probability").collectAsList();
    assertEquals(1, ExecutorSessions.opens() - before, "opens after the second transform");
    assertEquals(1, ExecutorSessions.cached());
    // another model is another session
    Path other = SparkTesting.save(SparkTesting.tokenModel(), 2, dir.resolve("other.jrnn"));
    scorer(other).transform(df).select("probability").collectAsList();
    assertEquals(2, ExecutorSessions.opens() - before);
    assertEquals(2, ExecutorSessions.closeIdle(), "both idle once the jobs are done");
  }

  /** A row with an id outside the vocabulary, at a known place: partition 1, row 17. */
  @Test
  void anOutOfVocabularyIdNamesItsRow() {
    List<int[]> seqs = SparkTesting.tokens(200, 6, 3);
    seqs.set(100 + 17, new int[] {1, 2, SparkTesting.VOCAB + 5});
    Dataset<Row> df = SparkTesting.tokenFrame(spark, seqs, 2);
    Exception e =
        assertThrows(Exception.class, () -> scorer(tokenModel).transform(df).collectAsList());
    String m = messages(e);
    assertTrue(m.contains("row 17 of partition 1: token id 55 at position 2"), m);
    assertTrue(m.contains("outside the vocabulary [0, 50)"), m);
    // with an id column, the id too
    Exception e2 =
        assertThrows(
            Exception.class,
            () -> scorer(tokenModel).setRowIdCol("id").transform(df).collectAsList());
    assertTrue(
        messages(e2).contains("row 17 of partition 1 (id = 117): token id 55"), messages(e2));
  }

  @Test
  void aNullSequenceNamesItsRow() {
    List<int[]> seqs = SparkTesting.tokens(50, 6, 4);
    seqs.set(3, null);
    Dataset<Row> df = SparkTesting.tokenFrame(spark, seqs, 1);
    Exception e =
        assertThrows(Exception.class, () -> scorer(tokenModel).transform(df).collectAsList());
    assertTrue(messages(e).contains("row 3 of partition 0: the sequence is null"), messages(e));
  }

  @Test
  void aStepOfTheWrongWidthNamesItsRow() {
    Path model = SparkTesting.save(SparkTesting.valueModel(), 3, dir.resolve("values.jrnn"));
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      int steps = 1 + i % 4;
      Object[] seq = new Object[steps];
      for (int t = 0; t < steps; t++) {
        float[] v = (i == 21 && t == 1) ? new float[] {1, 2} : new float[] {i, t, 0.5f};
        seq[t] = new scala.collection.immutable.ArraySeq.ofFloat(v);
      }
      rows.add(
          org.apache.spark.sql.RowFactory.create(
              (long) i, new scala.collection.immutable.ArraySeq.ofRef<>(seq)));
    }
    org.apache.spark.sql.types.StructType schema =
        new org.apache.spark.sql.types.StructType()
            .add("id", org.apache.spark.sql.types.DataTypes.LongType)
            .add(
                "x",
                org.apache.spark.sql.types.DataTypes.createArrayType(
                    org.apache.spark.sql.types.DataTypes.createArrayType(
                        org.apache.spark.sql.types.DataTypes.FloatType)));
    Dataset<Row> df =
        spark.createDataFrame(
            org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(rows, 2),
            schema);
    JrnnTransformer scorer = new JrnnTransformer().setModelPath(model.toString()).setInputCol("x");
    Exception e = assertThrows(Exception.class, () -> scorer.transform(df).collectAsList());
    assertTrue(
        messages(e).contains("row 6 of partition 1: step 1 has 2 values; input 'x'"), messages(e));
  }

  @Test
  void aColumnOfTheWrongTypeIsRefusedBeforeTheJob() {
    Dataset<Row> df = SparkTesting.tokenFrame(spark, SparkTesting.tokens(5, 3, 5), 1);
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> scorer(tokenModel).setInputCol("id").transformSchema(df.schema()));
    assertEquals(
        "column 'id' is bigint; input 'tokens' (I32 [T, N]) needs array<int> (token ids)",
        e.getMessage());
    var e2 =
        assertThrows(
            IllegalArgumentException.class,
            () -> scorer(tokenModel).setOutputNames("nope").setOutputCols("x").transform(df));
    assertTrue(e2.getMessage().startsWith("'nope' is not a graph output; outputs: prob, hN, seq"));
  }

  /**
   * A graph without a lengths input runs each batch's rows grouped by length, so padding never
   * reaches the network: each row's output equals the row run alone (within 1e-6: the groups are
   * other batches than one row). Padding them together would be off by far more.
   */
  @Test
  void withoutALengthsInputRowsOfOneLengthRunTogether() {
    dev.jrnn.Graph g =
        dev.jrnn.Graph.build(
            b -> {
              dev.jrnn.Value ids =
                  b.input("ids", dev.jrnn.DType.I32, dev.jrnn.Dim.dyn("T"), dev.jrnn.Dim.dyn("N"));
              dev.jrnn.Value y =
                  b.recurrent(b.embedding(ids, SparkTesting.VOCAB, 4), dev.jrnn.Recurrent.gru(6));
              b.output("y", b.linear(b.lastStep(y), 2));
            });
    Path model = SparkTesting.save(g, 9, dir.resolve("nolengths.jrnn"));
    List<int[]> seqs = SparkTesting.tokens(300, 9, 6);
    Dataset<Row> df = SparkTesting.tokenFrame(spark, seqs, 2);
    List<Row> out =
        new JrnnTransformer()
            .setModelPath(model.toString())
            .setInputCol("tokens")
            .setBatchSize(32)
            .transform(df)
            .select("id", "y")
            .collectAsList();
    assertEquals(seqs.size(), out.size());
    double max = 0;
    try (Model m = Model.load(model);
        Session s = m.open(Options.backend("java").threads(1))) {
      for (Row r : out) {
        int[] q = seqs.get((int) r.getLong(0));
        try (Tensor t = Tensor.of(q, q.length, 1);
            Result res = s.run(Map.of("ids", t))) {
          float[] y = floats(r.<Float>getList(1));
          for (int c = 0; c < 2; c++) {
            max = Math.max(max, Math.abs(res.get("y").floatAt(0, c) - y[c]));
          }
        }
      }
    }
    assertTrue(max <= 1e-6, "max difference " + max);
  }

  @Test
  void savesAndLoadsAloneAndInAPipeline() throws Exception {
    List<int[]> seqs = SparkTesting.tokens(100, 5, 7);
    Dataset<Row> df = SparkTesting.tokenFrame(spark, seqs, 2);
    JrnnTransformer scorer =
        scorer(tokenModel).setBatchSize(7).setRowIdCol("id").setOutputNames("prob", "hN", "seq");
    String alone = dir.resolve("scorer").toString();
    scorer.write().overwrite().save(alone);
    JrnnTransformer loaded = JrnnTransformer.load(alone);
    assertEquals(scorer.uid(), loaded.uid());
    assertEquals(7, (int) loaded.getOrDefault(loaded.batchSize()));
    assertEquals("id", loaded.getOrDefault(loaded.rowIdCol()));
    assertEquals(
        List.of("probability", "hidden", "states"),
        List.of(loaded.getOrDefault(loaded.outputCols())));

    org.apache.spark.ml.PipelineModel fitted =
        new org.apache.spark.ml.Pipeline()
            .setStages(new org.apache.spark.ml.PipelineStage[] {scorer})
            .fit(df);
    String path = dir.resolve("pipeline").toString();
    fitted.write().overwrite().save(path);
    org.apache.spark.ml.PipelineModel back = org.apache.spark.ml.PipelineModel.load(path);
    assertTrue(back.stages()[0] instanceof JrnnTransformer);
    float[][][] expected = collect(scorer.transform(df), seqs.size());
    float[][][] actual = collect(back.transform(df), seqs.size());
    assertEquals(0, maxDiff(expected, actual));
  }
}
