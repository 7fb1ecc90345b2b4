package dev.jrnn.tasks;

import static dev.jrnn.Dim.dyn;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Training;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.data.Datasets;
import dev.jrnn.data.Email;
import dev.jrnn.data.Labeled;
import dev.jrnn.data.Labels;
import dev.jrnn.data.Padded;
import dev.jrnn.data.Padding;
import dev.jrnn.data.Splits;
import dev.jrnn.data.TextCsv;
import dev.jrnn.data.Tokenizer;
import dev.jrnn.fit.Batch;
import dev.jrnn.fit.Fitted;
import dev.jrnn.fit.Metric;
import dev.jrnn.fit.Metrics;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Binary text classification, the classic tutorial's network: Embedding(vocab, 100) → LSTM(100,
 * full sequence) → Dropout(0.5) → LSTM(50, last step) → Dropout(0.5) → Dense(1), binary
 * cross-entropy on the logit, Adam. By default on the SpamAssassin public corpus (spam vs ham).
 *
 * <pre>{@code
 * Report r = ClassifyTask.spamAssassin().run(ClassifyTask.defaults().epochs(3));
 * r.print(System.out); // test accuracy and F1 next to the majority class's
 * }</pre>
 *
 * <p>The examples are split 80/10/10 (stratified, seeded) into training, validation and test; the
 * tokenizer is fitted on the training texts and saved in the model with the labels; each text keeps
 * its first {@link #maxLength} tokens; training batches are bucketed by length. The kept weights
 * are those of the epoch with the best validation accuracy (early stopping watches it too). With
 * {@code --layers L} the recurrent layers have {@code hidden}, {@code hidden/2}, ... units.
 */
public final class ClassifyTask {

  /** The graph's token input, I32 {@code [T, N]}. */
  public static final String TOKENS = "tokens";

  /** The graph's lengths input, I32 {@code [N]}. */
  public static final String LENGTHS = "lengths";

  /** The graph's output: one logit per text, {@code [N, 1]}; positive means the positive class. */
  public static final String LOGIT = "logit";

  /** Metadata key for the token cap. */
  static final String MAX_LENGTH_KEY = "jrnn.task.max_length";

  /** Metadata key saying what the texts were: {@code email} for the SpamAssassin task. */
  static final String READS_KEY = "jrnn.task.reads";

  /** The header fields of an e-mail kept in front of its body for the spam classifier. */
  static final List<String> MAIL_HEADERS =
      List.of("From", "Reply-To", "Subject", "Content-Type", "X-Mailer");

  private final List<Labeled> examples;
  private final String description;
  private Tokenizer.Options tokens = Tokenizer.Options.words().maxVocab(10000).lowerCase(true);
  private int maxLength = 200;
  private int embedding = 100;
  private boolean readsEmail;

  private ClassifyTask(List<Labeled> examples, String description) {
    if (examples.isEmpty()) {
      throw new IllegalArgumentException(description + " holds no examples");
    }
    this.examples = List.copyOf(examples);
    this.description = description;
  }

  /**
   * The task's default settings: 10 epochs, batch 32, Adam 5e-4, 100 units × 2 layers, dropout 0.5,
   * patience 4.
   */
  public static TaskOptions defaults() {
    return new TaskOptions(10, 32, 5e-4, 100, 2, 0.5).patience(4);
  }

  /**
   * The SpamAssassin corpus ({@code make data}); each message is read as its sender and subject
   * header fields (From, Reply-To, Subject, Content-Type, X-Mailer) followed by its body. Messages
   * that read the same are kept once, so no copy of a test message is trained on. Return-Path and
   * To are left out: in this corpus they name the collectors' mailboxes and mailing lists, which
   * tells ham from spam without reading the message.
   */
  public static ClassifyTask spamAssassin() {
    List<Labeled> mails = Datasets.spamAssassin();
    Map<String, Labeled> distinct = new LinkedHashMap<>();
    for (Labeled m : mails) {
      String text = mailText(m.text());
      distinct.putIfAbsent(text, new Labeled(text, m.label()));
    }
    List<Labeled> texts = List.copyOf(distinct.values());
    ClassifyTask task =
        new ClassifyTask(
            texts, "SpamAssassin (" + texts.size() + " distinct of " + mails.size() + " messages)");
    task.readsEmail = true;
    return task;
  }

  /** A CSV file with a text column and a label column of two classes. */
  public static ClassifyTask csv(Path file, String textColumn, String labelColumn) {
    List<Labeled> rows = TextCsv.read(file, textColumn, labelColumn);
    return new ClassifyTask(rows, file + " (" + rows.size() + " rows)");
  }

  /** Labelled texts already in memory; {@code description} names them in the report. */
  public static ClassifyTask of(List<Labeled> examples, String description) {
    return new ClassifyTask(examples, Objects.requireNonNull(description, "description"));
  }

  /** Word tokens (the default, lower-cased, vocabulary 10000) or character tokens. */
  public ClassifyTask tokens(Tokenizer.Options options) {
    this.tokens = Objects.requireNonNull(options, "options");
    return this;
  }

  /** Tokens kept from the start of each text (default 200). */
  public ClassifyTask maxLength(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("max length must be at least 1, got " + n);
    }
    this.maxLength = n;
    return this;
  }

  /** Embedding width (default 100). */
  public ClassifyTask embedding(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("embedding must be at least 1, got " + n);
    }
    this.embedding = n;
    return this;
  }

  /**
   * The probability of the positive class (the second of {@link Labels#classes()}) for each of
   * {@code texts} under a model this task wrote: each text read as in training, with the saved
   * tokenizer and token cap (and, for a model of the SpamAssassin task, a raw e-mail reduced to its
   * header fields and body as {@link #spamAssassin} does).
   */
  public static double[] probabilities(Model model, List<String> texts, Options options) {
    Runs.requireTask(model, "classify");
    Tokenizer tokenizer = Tokenizer.from(model.weights());
    String cap = model.weights().metadata().get(MAX_LENGTH_KEY);
    int max = cap != null ? Integer.parseInt(cap) : Integer.MAX_VALUE;
    boolean mail = "email".equals(model.weights().metadata().get(READS_KEY));
    List<int[]> ids = new ArrayList<>(texts.size());
    for (String t : texts) {
      int[] e = tokenizer.encode(mail && Email.headers(t).contains(":") ? mailText(t) : t);
      ids.add(
          e.length == 0 ? new int[] {Tokenizer.OOV} : Arrays.copyOf(e, Math.min(e.length, max)));
    }
    double[] p = new double[texts.size()];
    if (texts.isEmpty()) {
      return p;
    }
    Padded padded = Padding.pad(ids);
    try (Session s = model.open(options);
        Tensor tokens = padded.tokens();
        Tensor lengths = padded.lengthsTensor();
        Result r = s.run(Map.of(TOKENS, tokens, LENGTHS, lengths))) {
      float[] logits = r.get(LOGIT).toFloatArray();
      for (int i = 0; i < p.length; i++) {
        p[i] = 1 / (1 + Math.exp(-logits[i]));
      }
    }
    return p;
  }

  /** An e-mail as the classifier reads it: its main header fields, then its body. */
  static String mailText(String message) {
    StringBuilder s = new StringBuilder();
    for (String h : MAIL_HEADERS) {
      Email.header(message, h).ifPresent(v -> s.append(h).append(": ").append(v).append('\n'));
    }
    return s.append(Email.body(message)).toString();
  }

  /** The network for a vocabulary of {@code vocab} tokens. */
  Graph graph(int vocab, TaskOptions o) {
    return Graph.build(
        b -> {
          Value ids = b.input(TOKENS, DType.I32, dyn("T"), dyn("N"));
          Value lengths = b.input(LENGTHS, DType.I32, dyn("N"));
          Value x = b.embedding(ids, vocab, embedding);
          for (int l = 0; l < o.layers(); l++) {
            x = b.recurrent(x, o.recurrent(Math.max(1, o.hidden() >> l)), lengths, null, null);
            if (l < o.layers() - 1 && o.dropout() > 0) {
              x = b.dropout(x, o.dropout());
            }
          }
          Value last = Runs.summary(b, x, lengths, o);
          if (o.dropout() > 0) {
            last = b.dropout(last, o.dropout());
          }
          b.output(LOGIT, b.linear(last, 1));
        });
  }

  /** Trains, evaluates on the test split and writes the files; see the class comment. */
  public Report run(TaskOptions o) {
    List<Labeled> data = examples;
    if (o.limit() > 0 && o.limit() < data.size()) {
      data =
          Splits.select(
              data, java.util.Arrays.copyOf(Splits.permutation(data.size(), o.seed()), o.limit()));
    }
    List<String> labelNames = data.stream().map(Labeled::label).toList();
    Labels labels = Labels.fitBinary(labelNames);
    int[] y = labels.encode(labelNames);
    Splits.Split split = Splits.stratified(y, 0.8, 0.1, 0.1, o.seed());
    if (split.train().length == 0 || split.validation().length == 0 || split.test().length == 0) {
      throw new IllegalArgumentException(
          description
              + ": too few examples ("
              + data.size()
              + ") for training, validation and test");
    }
    List<String> texts = data.stream().map(Labeled::text).toList();
    Tokenizer tokenizer = Tokenizer.fit(Splits.select(texts, split.train()), tokens);
    List<int[]> ids = new ArrayList<>(texts.size());
    for (String t : texts) {
      int[] e = tokenizer.encode(t);
      ids.add(
          e.length == 0
              ? new int[] {Tokenizer.OOV}
              : java.util.Arrays.copyOf(e, Math.min(e.length, maxLength)));
    }
    Path dir = Runs.create(o.outputDir("classify"));
    o.out()
        .printf(
            "classify: %s; %s; vocabulary %d, %d tokens per text%n",
            description, o, tokenizer.vocabSize(), maxLength);

    Graph g = graph(tokenizer.vocabSize(), o);
    dev.jrnn.fit.Batches train = batches(ids, y, split.train(), o.batch(), o.seed(), true);
    Training training = o.training(Loss.binaryCrossEntropy(LOGIT), train.count());
    dev.jrnn.fit.Batches validation = batches(ids, y, split.validation(), 256, o.seed(), false);
    dev.jrnn.fit.Batches test = batches(ids, y, split.test(), 256, o.seed(), false);
    var fit =
        Runs.fit(training, o, dir)
            .validation(validation)
            .metrics(Metrics.accuracy(), Metrics.precision(), Metrics.recall(), Metrics.f1())
            .monitor("val_accuracy")
            .build();
    try (Weights w = Weights.random(g, "keras", o.seed())) {
      tokenizer.storeIn(w);
      labels.storeIn(w);
      w.putMetadata(MAX_LENGTH_KEY, Integer.toString(maxLength));
      if (readsEmail) {
        w.putMetadata(READS_KEY, "email");
      }
      try (Fitted f = Runs.fitOrResume(fit, g, w, train, o, dir)) {
        Map<String, Double> metrics =
            new LinkedHashMap<>(Runs.evaluate(f.trainer(), test, training.loss(), testMetrics()));
        metrics.putAll(
            Runs.evaluateReduced(f, o, test, training.loss(), ClassifyTask::testMetrics));
        Path model = Runs.saveModel(f, "classify", dir);
        double[] tp = Runs.throughput(f.history());
        return new Report(
            "classify",
            description,
            metrics,
            majorityBaseline(y, split),
            f.history(),
            tp[0],
            tp[1],
            List.of(model, dir.resolve(Runs.CURVES), dir.resolve(Runs.METRICS)),
            List.of());
      }
    }
  }

  private static Metric[] testMetrics() {
    return new Metric[] {Metrics.accuracy(), Metrics.precision(), Metrics.recall(), Metrics.f1()};
  }

  /**
   * Always answering the training split's majority class: its test accuracy and F1 (0 when the
   * majority is the negative class: no positive is ever predicted).
   */
  static Map<String, Double> majorityBaseline(int[] y, Splits.Split split) {
    int positives = 0;
    for (int i : split.train()) {
      positives += y[i];
    }
    int majority = 2 * positives > split.train().length ? 1 : 0;
    int correct = 0;
    int testPositives = 0;
    for (int i : split.test()) {
      correct += y[i] == majority ? 1 : 0;
      testPositives += y[i];
    }
    double f1 = majority == 1 ? 2.0 * testPositives / (testPositives + split.test().length) : 0;
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("majority/accuracy", correct / (double) split.test().length);
    m.put("majority/f1", f1);
    return m;
  }

  /**
   * Batches of the examples {@code which}, bucketed by length ({@link Runs#bucketed}): tokens,
   * lengths and the 0/1 targets.
   */
  private static dev.jrnn.fit.Batches batches(
      List<int[]> ids, int[] y, int[] which, int size, long seed, boolean shuffle) {
    int[] lengths = new int[which.length];
    for (int k = 0; k < which.length; k++) {
      lengths[k] = ids.get(which[k]).length;
    }
    return Runs.bucketed(
        which,
        lengths,
        size,
        seed,
        shuffle,
        rows -> {
          Padded p = Padding.pad(Splits.select(ids, rows));
          return new Batch(
              Map.of(TOKENS, p.tokens(), LENGTHS, p.lengthsTensor()),
              Labels.binaryTargets(y, rows),
              rows.length);
        });
  }
}
