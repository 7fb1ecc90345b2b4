package dev.jrnn.spark;

import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Weights;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * Data-parallel training on a Spark cluster with synchronous gradient averaging: per step, every
 * partition computes the gradients of its share of the batch ({@link Trainer#backward}), a tree
 * aggregation combines them weighted by each share's weight in the loss (its rows, or the sum of
 * its rows' class weights), and the driver applies one optimizer step ({@link Trainer#apply}).
 *
 * <pre>{@code
 * try (DataParallelTrainer t = DataParallelTrainer.open(graph, Weights.random(graph, 1),
 *         () -> Training.of(Loss.crossEntropy("logits"), Optimizer.adam(1e-3)).seed(7),
 *         Options.backend("java").threads(1))) {
 *   t.inputCol("tokens").labelCol("label");
 *   double[] losses = t.fit(df, 256, 1000);            // 1000 steps of 256 rows
 *   t.trainer().model().save(Path.of("trained.jrnn"));
 * }
 * }</pre>
 *
 * <p>Each partition gives every batch a share of rows proportional to its size ({@code b_p =
 * B·n_p/n}, rounded down, the rows left over going to the largest remainders): in step {@code k}
 * (from 0 in each {@link #fit} call) partition {@code p} trains on its rows {@code (k·b_p + j) mod
 * n_p}, {@code j < b_p}, and the batch is these shares in partition order. So every partition works
 * on every step, and a single {@link Trainer} stepping through the same batches ends with the same
 * weights up to float rounding: the batch gradient is the same sum, added up in another order
 * (partition by partition, in double, then rounded to float). Exact as a sum for losses with a mean
 * or sum over rows; dropout masks differ from a single machine's (each partition draws its own,
 * from the seed, the step and the partition).
 *
 * <p>The cost: every step is a Spark job (task scheduling, a broadcast of the weights, the
 * gradients back through the tree) and every partition opens a trainer on the step's weights. That
 * pays only when a step's compute dwarfs this overhead (large batches, long sequences, big models);
 * for small ones a single machine is faster — see the README's figures.
 */
public final class DataParallelTrainer implements AutoCloseable {

  /**
   * Makes the {@link Training} (loss, optimizer, seed), on the driver and again on every executor:
   * a serializable lambda, such as {@code () -> Training.of(Loss.mse("y"), Optimizer.sgd(0.1))}.
   */
  @FunctionalInterface
  public interface TrainingFactory extends Serializable {
    /** The training; every call must give the same one. */
    Training create();
  }

  private final Graph graph;
  private final byte[] model; // the graph (and initial weights) as a jrnn model, for the executors
  private final TrainingFactory factory;
  private final Training training;
  private final String backend;
  private final int threads;
  private final Trainer trainer;
  private final String key = UUID.randomUUID().toString();
  private String inputCol;
  private String lengthsCol = "";
  private String labelCol = "label";
  private String inputName = "";
  private String lengthsInput = "";
  private boolean batchFirst;
  private int treeDepth = 2;
  private boolean closed;
  private long[] stepNanos = new long[0]; // the last fit's step times, for the benchmark

  private DataParallelTrainer(
      Graph graph, Weights initial, TrainingFactory factory, Options options) {
    this.graph = graph;
    this.factory = factory;
    this.training = Objects.requireNonNull(factory.create(), "the training factory gave null");
    this.backend = options.backendName();
    this.threads = options.threadCount();
    this.model = modelBytes(graph, initial);
    this.trainer = Trainer.open(graph, initial, training, options);
  }

  /**
   * A trainer of {@code graph} from {@code initial} (copied; may be closed after). The driver's
   * {@link #trainer()} holds the weights and the optimizer's state; executors run {@code options}'
   * backend and thread count (one thread fits Spark's task per core).
   */
  public static DataParallelTrainer open(
      Graph graph, Weights initial, TrainingFactory training, Options options) {
    Objects.requireNonNull(graph, "graph");
    Objects.requireNonNull(initial, "initial");
    Objects.requireNonNull(training, "training");
    Objects.requireNonNull(options, "options");
    return new DataParallelTrainer(graph, initial, training, options);
  }

  private static byte[] modelBytes(Graph graph, Weights initial) {
    Path tmp = null;
    try {
      tmp = Files.createTempFile("jrnn-spark-train-", ".jrnn");
      new Model(graph, initial, "jrnn model").save(tmp);
      return Files.readAllBytes(tmp);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serialise the graph for the executors", e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // a leftover temporary file is harmless
        }
      }
    }
  }

  /** The column of sequences (as {@link JrnnTransformer#inputCol()}). Required. */
  public DataParallelTrainer inputCol(String column) {
    this.inputCol = column;
    return this;
  }

  /** An optional integer column of lengths (as {@link JrnnTransformer#lengthsCol()}). */
  public DataParallelTrainer lengthsCol(String column) {
    this.lengthsCol = column == null ? "" : column;
    return this;
  }

  /**
   * The target column (default {@code label}): an integer class id for cross-entropy, else a number
   * or an array of numbers shaped like the loss's output without its batch axis.
   */
  public DataParallelTrainer labelCol(String column) {
    this.labelCol = column;
    return this;
  }

  /** The graph input of the sequences; empty: the only input besides the lengths. */
  public DataParallelTrainer inputName(String name) {
    this.inputName = name == null ? "" : name;
    return this;
  }

  /** The graph's I32 {@code [N]} lengths input; empty: its only one, if any. */
  public DataParallelTrainer lengthsInput(String name) {
    this.lengthsInput = name == null ? "" : name;
    return this;
  }

  /** Whether the sequence input is batch-first (default false). */
  public DataParallelTrainer batchFirst(boolean on) {
    this.batchFirst = on;
    return this;
  }

  /** The depth of the gradients' tree aggregation (default 2). */
  public DataParallelTrainer treeDepth(int depth) {
    if (depth < 1) {
      throw new IllegalArgumentException("tree depth must be >= 1, got " + depth);
    }
    this.treeDepth = depth;
    return this;
  }

  /**
   * The driver's trainer: its weights are the trained ones ({@link Trainer#weights()}, {@link
   * Trainer#model()}, {@link Trainer#saveCheckpoint}, {@link Trainer#evaluate}). Closed with this.
   */
  public Trainer trainer() {
    checkOpen();
    return trainer;
  }

  /**
   * Trains {@code steps} steps of {@code batchSize} rows of {@code data} (see the class comment for
   * which rows) and returns each step's loss. The rows are read and checked once, kept in memory on
   * the executors for the call; a bad row fails naming its partition and index.
   */
  public double[] fit(Dataset<?> data, int batchSize, int steps) {
    checkOpen();
    if (batchSize < 1 || steps < 0) {
      throw new IllegalArgumentException(
          "batch size must be >= 1 and steps >= 0, got " + batchSize + " and " + steps);
    }
    if (inputCol == null || inputCol.isBlank()) {
      throw new IllegalArgumentException("set inputCol, the column of sequences");
    }
    Dataset<Row> all = data.toDF();
    List<org.apache.spark.sql.Column> used = new ArrayList<>();
    for (String c : new String[] {inputCol, lengthsCol, labelCol}) {
      if (c != null && !c.isEmpty()) {
        SequenceFeed.field(all.schema(), c); // names the columns there are if it is missing
        used.add(all.col(c));
      }
    }
    Dataset<Row> df = all.select(used.toArray(org.apache.spark.sql.Column[]::new));
    StructType schema = df.schema();
    SequenceFeed feed = SequenceFeed.of(graph, inputName, lengthsInput, batchFirst);
    feed.checkColumn(schema, inputCol);
    if (!lengthsCol.isEmpty()
        && !SequenceFeed.integral(SequenceFeed.field(schema, lengthsCol).dataType())) {
      throw new IllegalArgumentException("lengths column '" + lengthsCol + "' must hold integers");
    }
    Targets targets = Targets.of(graph, training.loss(), feed);
    targets.checkColumn(schema, labelCol);
    ReadPart read =
        new ReadPart(
            feed,
            targets,
            schema.fieldIndex(inputCol),
            lengthsCol.isEmpty() ? -1 : schema.fieldIndex(lengthsCol),
            schema.fieldIndex(labelCol));
    JavaRDD<Part> parts =
        df.toJavaRDD().mapPartitionsWithIndex(read, true).persist(StorageLevel.MEMORY_ONLY());
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(df.sparkSession().sparkContext());
    Broadcast<Job> job = null;
    try {
      int[] sizes = new int[parts.getNumPartitions()];
      long n = 0;
      for (int[] s : parts.map(p -> new int[] {p.index(), p.rows().length}).collect()) {
        sizes[s[0]] = s[1];
        n += s[1];
      }
      if (n < batchSize) {
        throw new IllegalArgumentException(
            "a batch of " + batchSize + " rows needs at least as many rows; the data has " + n);
      }
      job =
          jsc.broadcast(
              new Job(
                  key, model, factory, backend, threads, feed, targets, shares(sizes, batchSize)));
      double[] losses = new double[steps];
      stepNanos = new long[steps];
      for (int k = 0; k < steps; k++) {
        long t0 = System.nanoTime();
        losses[k] = step(jsc, parts, job, k);
        stepNanos[k] = System.nanoTime() - t0;
      }
      return losses;
    } finally {
      parts.unpersist(false);
      if (job != null) {
        job.destroy();
      }
    }
  }

  /** Step {@code k} of a fit: one tree aggregation of the shares' gradients, one update. */
  private double step(JavaSparkContext jsc, JavaRDD<Part> parts, Broadcast<Job> job, int k) {
    WeightsBlob blob;
    try (Weights w = trainer.weights()) {
      blob = WeightsBlob.of(w);
    }
    long stepNo = trainer.steps() + 1;
    Broadcast<WeightsBlob> weights = jsc.broadcast(blob);
    GradientSum sum;
    try {
      sum =
          parts.treeAggregate(
              new GradientSum(),
              new ShareGradients(job, weights, k, stepNo),
              GradientSum::merge,
              treeDepth);
    } finally {
      weights.destroy();
    }
    if (sum.sums == null || sum.weight == 0) {
      throw new IllegalStateException(
          "step "
              + stepNo
              + ": no row of the batch counts for the loss (every class id ignored); the weights"
              + " are unchanged");
    }
    try (Weights g = sum.gradients(blob, job.value().targets.mean)) {
      trainer.apply(g);
    }
    return sum.batchLoss(job.value().targets.mean);
  }

  /** The wall time of each step of the last {@link #fit}, in nanoseconds. */
  long[] stepNanos() {
    return stepNanos.clone();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("data-parallel trainer is used after close");
    }
  }

  /** Closes the driver's trainer. Idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      trainer.close();
    }
  }

  /** One partition's rows, read and checked. */
  record Part(int index, Example[] rows) implements Serializable {}

  /**
   * Each partition's share of a batch of {@code batch} rows: proportional to its rows, rounded
   * down, the rows left over given to the largest remainders (the lower partition first on a tie).
   */
  static int[] shares(int[] sizes, int batch) {
    long n = 0;
    for (int s : sizes) {
      n += s;
    }
    int[] share = new int[sizes.length];
    long[] remainder = new long[sizes.length];
    int given = 0;
    for (int p = 0; p < sizes.length; p++) {
      share[p] = (int) ((long) batch * sizes[p] / n);
      remainder[p] = (long) batch * sizes[p] % n;
      given += share[p];
    }
    for (; given < batch; given++) {
      int best = -1;
      for (int p = 0; p < sizes.length; p++) {
        if (share[p] < sizes[p] && (best < 0 || remainder[p] > remainder[best])) {
          best = p;
        }
      }
      share[best]++;
      remainder[best] = -1;
    }
    return share;
  }

  /** What every task of a fit needs, broadcast once. */
  record Job(
      String key,
      byte[] model,
      TrainingFactory factory,
      String backend,
      int threads,
      SequenceFeed feed,
      Targets targets,
      int[] shares) // rows each partition gives a batch
      implements Serializable {

    /** The indices in {@code p} of its rows in step {@code k}'s batch, in batch order. */
    List<Integer> share(Part p, int k) {
      int b = shares[p.index()];
      int n = p.rows().length;
      List<Integer> local = new ArrayList<>(b);
      for (int j = 0; j < b; j++) {
        local.add((int) (((long) k * b + j) % n));
      }
      return local;
    }
  }

  /** Reads a partition's rows into one {@link Part}. */
  private record ReadPart(
      SequenceFeed feed, Targets targets, int inputCol, int lengthsCol, int labelCol)
      implements Function2<Integer, Iterator<Row>, Iterator<Part>> {

    @Override
    public Iterator<Part> call(Integer partition, Iterator<Row> rows) {
      RowPosition where = new RowPosition(partition, -1, null);
      List<Example> list = new ArrayList<>();
      while (rows.hasNext()) {
        Row r = rows.next();
        where.next();
        list.add(targets.read(r, labelCol, feed.read(r, inputCol, lengthsCol, where), where));
      }
      return List.of(new Part(partition, list.toArray(Example[]::new))).iterator();
    }
  }

  /** The graph of each fit, parsed once per executor JVM. */
  private static final Map<String, Graph> GRAPHS = new ConcurrentHashMap<>();

  static Graph graphOf(Job job) {
    return GRAPHS.computeIfAbsent(
        job.key(),
        k -> {
          if (GRAPHS.size() > 8) {
            GRAPHS.clear(); // a few fits' graphs at a time; a dropped one is parsed again
          }
          try (Model m = ExecutorSessions.load(job.model(), "model.jrnn")) {
            return m.graph();
          }
        });
  }

  /** A partition's gradients on its share of a step's batch, added to the running sum. */
  private record ShareGradients(
      Broadcast<Job> job, Broadcast<WeightsBlob> weights, int k, long stepNo)
      implements Function2<GradientSum, Part, GradientSum> {

    @Override
    public GradientSum call(GradientSum sum, Part part) {
      Job j = job.value();
      List<Integer> local = j.share(part, k);
      if (local.isEmpty()) {
        return sum;
      }
      List<Example> share = new ArrayList<>(local.size());
      for (int i : local) {
        share.add(part.rows()[i]);
      }
      double weight = j.targets().weight(share);
      if (weight == 0) {
        return sum; // every row ignored by the loss: nothing to add to its mean
      }
      Training base = j.factory().create();
      Training t =
          base.seed(mix(base.seed() + 0x9E3779B97F4A7C15L * mix(stepNo * 65_537 + part.index())));
      WeightsBlob blob = weights.value();
      try (Weights w = blob.toWeights();
          Trainer trainer =
              Trainer.open(graphOf(j), w, t, Options.backend(j.backend()).threads(j.threads()))) {
        Map<String, Tensor> inputs = j.feed().tensors(share);
        Tensor target = j.targets().tensor(share);
        try {
          double loss = trainer.backward(inputs, target);
          try (Weights g = trainer.gradients()) {
            return sum.add(
                weight, j.targets().mean ? weight : 1, share.size(), loss, g, blob.names());
          }
        } catch (IllegalArgumentException e) {
          throw blame(trainer, j, part, local, share, e);
        } finally {
          inputs.values().forEach(Tensor::close);
          target.close();
        }
      }
    }

    /** Finds the first row of the share the graph refuses on its own, and names it. */
    private static IllegalArgumentException blame(
        Trainer trainer,
        Job j,
        Part part,
        List<Integer> local,
        List<Example> share,
        IllegalArgumentException e) {
      for (int i = 0; i < share.size(); i++) {
        Map<String, Tensor> one = j.feed().tensors(List.of(share.get(i)));
        try (Tensor target = j.targets().tensor(List.of(share.get(i)))) {
          trainer.evaluate(one, target);
        } catch (IllegalArgumentException x) {
          return new IllegalArgumentException(
              "row " + local.get(i) + " of partition " + part.index() + ": " + x.getMessage(), x);
        } finally {
          one.values().forEach(Tensor::close);
        }
      }
      TaskContext task = TaskContext.get();
      return new IllegalArgumentException(
          "partition "
              + part.index()
              + (task == null ? "" : " (stage " + task.stageId() + ")")
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /** SplitMix64's finaliser: the executors' training seeds from the seed, step and partition. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
