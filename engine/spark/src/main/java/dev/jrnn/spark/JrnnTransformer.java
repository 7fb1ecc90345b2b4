package dev.jrnn.spark;

import dev.jrnn.Options;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Scores sequences with a jrnn model: a Spark ML {@link Transformer} that adds one column per
 * chosen graph output (probabilities, logits, a final hidden state...) to each row.
 *
 * <pre>{@code
 * JrnnTransformer scorer = new JrnnTransformer()
 *     .setModelPath("hdfs:///models/spam.jrnn")      // a jrnn model or an ONNX file
 *     .setInputCol("tokens")                          // array<int>, or array<float>/array<array<float>>
 *     .setOutputNames("prob").setOutputCols("probability")
 *     .setBatchSize(64);
 * Dataset<Row> scored = scorer.transform(df);       // or as a stage of a Pipeline
 * }</pre>
 *
 * <p>The model file is read once on the driver and broadcast; each executor JVM opens it once, into
 * a {@link dev.jrnn.Session} shared by all its tasks (sessions are safe for concurrent runs; see
 * {@link ExecutorSessions}), and keeps it for later transforms of the same model. Each partition's
 * rows are scored in batches of {@link #batchSize()}: padded to the batch's longest sequence, with
 * each row's length given to the graph's lengths input (its I32 {@code [N]} input; a graph without
 * one is run on groups of equally long rows, so padding never changes a result). The output columns
 * hold each row's slice of the output, cut to the row's length along a time axis.
 *
 * <p>A bad row — a null, a step of the wrong width, more steps than a fixed-length input takes, a
 * token id outside the vocabulary — fails the job with an {@link IllegalArgumentException} naming
 * the row's partition and index in it (and its {@link #rowIdCol()} value, if set) and what is
 * wrong.
 *
 * <p>Parameters are Spark ML {@link Param}s, so the transformer saves and loads with a pipeline
 * ({@link DefaultParamsWritable}); the model is referenced by its path, not copied.
 */
public final class JrnnTransformer extends Transformer implements DefaultParamsWritable {

  private static final long serialVersionUID = 1L;

  private final String uid;
  private final Param<String> modelPath;
  private final Param<String> inputCol;
  private final Param<String> lengthsCol;
  private final Param<String> rowIdCol;
  private final Param<String> inputName;
  private final Param<String> lengthsInput;
  private final StringArrayParam outputNames;
  private final StringArrayParam outputCols;
  private final IntParam batchSize;
  private final BooleanParam batchFirst;
  private final Param<String> backend;
  private final IntParam threads;

  // The driver's copy of the model and its broadcast, kept across transforms of one model.
  private transient ModelFile model;
  private transient Broadcast<byte[]> broadcast;

  /** A transformer with a fresh uid. */
  public JrnnTransformer() {
    this("jrnn_" + UUID.randomUUID().toString().substring(0, 12));
  }

  /** A transformer with the given uid (as Spark's readers create stages). */
  public JrnnTransformer(String uid) {
    this.uid = uid;
    modelPath =
        new Param<>(this, "modelPath", "the model file: a jrnn model or ONNX, any Hadoop path");
    inputCol =
        new Param<>(
            this,
            "inputCol",
            "the sequences: array<int> token ids, array<float> or array<array<float>> values");
    lengthsCol =
        new Param<>(
            this,
            "lengthsCol",
            "optional int column: each row's length, at most its array's (empty: the array's)");
    rowIdCol =
        new Param<>(this, "rowIdCol", "optional column named with a bad row's position (empty)");
    inputName =
        new Param<>(
            this, "inputName", "the graph input of the sequences (empty: the only such input)");
    lengthsInput =
        new Param<>(
            this,
            "lengthsInput",
            "the graph's I32 [N] lengths input (empty: the graph's only one, if any)");
    outputNames =
        new StringArrayParam(this, "outputNames", "graph outputs to write (empty: all of them)");
    outputCols =
        new StringArrayParam(
            this, "outputCols", "a column per output name (empty: the outputs' names)");
    batchSize = new IntParam(this, "batchSize", "rows per session run", ParamValidators.gtEq(1));
    batchFirst =
        new BooleanParam(
            this, "batchFirst", "whether the sequence input is [N, T, ...] (else [T, N, ...])");
    backend = new Param<>(this, "backend", "the jrnn backend: java, reference, onednn, opencl");
    threads =
        new IntParam(
            this,
            "threads",
            "threads per session run (0: one per core; Spark already runs a task per core)",
            ParamValidators.gtEq(0));
    setDefault(lengthsCol, "");
    setDefault(rowIdCol, "");
    setDefault(inputName, "");
    setDefault(lengthsInput, "");
    setDefault(outputNames, new String[0]);
    setDefault(outputCols, new String[0]);
    setDefault(batchSize, 64);
    setDefault(batchFirst, false);
    setDefault(backend, "java");
    setDefault(threads, 1);
  }

  @Override
  public String uid() {
    return uid;
  }

  /** The model file: a jrnn model or ONNX, a local path or any URI Hadoop reads. Required. */
  public Param<String> modelPath() {
    return modelPath;
  }

  /** The column of sequences. Required. */
  public Param<String> inputCol() {
    return inputCol;
  }

  /** An optional integer column of lengths (each at most its row's array length). */
  public Param<String> lengthsCol() {
    return lengthsCol;
  }

  /** An optional column whose value a bad row's error names, besides its position. */
  public Param<String> rowIdCol() {
    return rowIdCol;
  }

  /** The graph input that takes the sequences; empty: the only input besides the lengths. */
  public Param<String> inputName() {
    return inputName;
  }

  /** The graph's I32 {@code [N]} lengths input; empty: its only one, if any. */
  public Param<String> lengthsInput() {
    return lengthsInput;
  }

  /** The graph outputs to write; empty: all. */
  public StringArrayParam outputNames() {
    return outputNames;
  }

  /** The column of each output name; empty: the outputs' own names. */
  public StringArrayParam outputCols() {
    return outputCols;
  }

  /** Rows per session run (default 64). */
  public IntParam batchSize() {
    return batchSize;
  }

  /** Whether the sequence input is batch-first, {@code [N, T, ...]} (default false). */
  public BooleanParam batchFirst() {
    return batchFirst;
  }

  /** The jrnn backend of the executors' sessions (default {@code java}). */
  public Param<String> backend() {
    return backend;
  }

  /** Threads per session run (default 1: Spark runs one task per core). */
  public IntParam threads() {
    return threads;
  }

  /** Sets {@link #modelPath()}. */
  public JrnnTransformer setModelPath(String v) {
    set(modelPath, v);
    return this;
  }

  /** Sets {@link #inputCol()}. */
  public JrnnTransformer setInputCol(String v) {
    set(inputCol, v);
    return this;
  }

  /** Sets {@link #lengthsCol()}. */
  public JrnnTransformer setLengthsCol(String v) {
    set(lengthsCol, v);
    return this;
  }

  /** Sets {@link #rowIdCol()}. */
  public JrnnTransformer setRowIdCol(String v) {
    set(rowIdCol, v);
    return this;
  }

  /** Sets {@link #inputName()}. */
  public JrnnTransformer setInputName(String v) {
    set(inputName, v);
    return this;
  }

  /** Sets {@link #lengthsInput()}. */
  public JrnnTransformer setLengthsInput(String v) {
    set(lengthsInput, v);
    return this;
  }

  /** Sets {@link #outputNames()}. */
  public JrnnTransformer setOutputNames(String... v) {
    set(outputNames, v);
    return this;
  }

  /** Sets {@link #outputCols()}. */
  public JrnnTransformer setOutputCols(String... v) {
    set(outputCols, v);
    return this;
  }

  /** Sets {@link #batchSize()}. */
  public JrnnTransformer setBatchSize(int v) {
    set(batchSize, v);
    return this;
  }

  /** Sets {@link #batchFirst()}. */
  public JrnnTransformer setBatchFirst(boolean v) {
    set(batchFirst, v);
    return this;
  }

  /** Sets {@link #backend()}. */
  public JrnnTransformer setBackend(String v) {
    set(backend, v);
    return this;
  }

  /** Sets {@link #threads()}. */
  public JrnnTransformer setThreads(int v) {
    set(threads, v);
    return this;
  }

  /** What a transform needs, worked out on the driver: the feed and the output slots. */
  private record Plan(SequenceFeed feed, List<OutputSlot> slots, StructType schema) {}

  private Plan plan(StructType schema) {
    if (!isDefined(modelPath) || $(modelPath).isBlank()) {
      throw new IllegalArgumentException("set modelPath, the model file to score with");
    }
    if (!isDefined(inputCol) || $(inputCol).isBlank()) {
      throw new IllegalArgumentException("set inputCol, the column of sequences");
    }
    ModelFile m = modelFile();
    SequenceFeed feed =
        SequenceFeed.of(m.graph(), $(inputName), $(lengthsInput), (Boolean) $(batchFirst));
    feed.checkColumn(schema, $(inputCol));
    if (!$(lengthsCol).isEmpty()
        && !SequenceFeed.integral(SequenceFeed.field(schema, $(lengthsCol)).dataType())) {
      throw new IllegalArgumentException(
          "lengths column '"
              + $(lengthsCol)
              + "' is "
              + SequenceFeed.field(schema, $(lengthsCol)).dataType().simpleString()
              + "; it must hold integers");
    }
    if (!$(rowIdCol).isEmpty()) {
      SequenceFeed.field(schema, $(rowIdCol));
    }
    String[] names = $(outputNames);
    if (names.length == 0) {
      names = m.graph().outputs().keySet().toArray(String[]::new);
    }
    String[] cols = $(outputCols);
    if (cols.length == 0) {
      cols = names;
    } else if (cols.length != names.length) {
      throw new IllegalArgumentException(
          "outputCols "
              + Arrays.toString(cols)
              + " must name one column per output of "
              + Arrays.toString(names));
    }
    List<OutputSlot> slots = new ArrayList<>();
    Set<String> taken = new HashSet<>(Arrays.asList(schema.fieldNames()));
    StructType out = schema;
    for (int i = 0; i < names.length; i++) {
      if (!taken.add(cols[i])) {
        throw new IllegalArgumentException(
            "output column '" + cols[i] + "' already exists; choose another in outputCols");
      }
      OutputSlot s = OutputSlot.of(m.graph(), names[i], cols[i], feed);
      slots.add(s);
      out =
          out.add(
              new StructField(
                  cols[i], s.sparkType(), false, org.apache.spark.sql.types.Metadata.empty()));
    }
    return new Plan(feed, slots, out);
  }

  /** The model at {@link #modelPath()}, read once per path on the driver. */
  private ModelFile modelFile() {
    String path = $(modelPath);
    if (model == null || !model.path().equals(path)) {
      SparkSession spark = SparkSession.active();
      model = ModelFile.read(path, spark.sparkContext().hadoopConfiguration());
      broadcast = null;
    }
    return model;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    return plan(schema).schema();
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    Dataset<Row> df = dataset.toDF();
    StructType schema = df.schema();
    Plan plan = plan(schema);
    ModelFile m = modelFile();
    if (broadcast == null) {
      broadcast =
          JavaSparkContext.fromSparkContext(df.sparkSession().sparkContext()).broadcast(m.bytes());
    }
    String backendName = $(backend);
    int threadCount = (Integer) $(threads);
    Options.backend(backendName).threads(threadCount); // checks them here, not on the executors
    PartitionScorer scorer =
        new PartitionScorer(
            m.sha256() + "|" + backendName + "|" + threadCount,
            m.name(),
            broadcast,
            backendName,
            threadCount,
            plan.feed(),
            plan.slots(),
            schema.fieldIndex($(inputCol)),
            $(lengthsCol).isEmpty() ? -1 : schema.fieldIndex($(lengthsCol)),
            $(rowIdCol).isEmpty() ? -1 : schema.fieldIndex($(rowIdCol)),
            $(rowIdCol),
            (Integer) $(batchSize));
    return df.mapPartitions(scorer, Encoders.row(plan.schema()));
  }

  @Override
  public JrnnTransformer copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  /** The reader of saved transformers (what {@code Pipeline.load} uses through reflection). */
  public static MLReader<JrnnTransformer> read() {
    return new DefaultParamsReader<>();
  }

  /** Loads a transformer saved with {@code write().save(path)}. */
  public static JrnnTransformer load(String path) {
    return read().load(path);
  }
}
