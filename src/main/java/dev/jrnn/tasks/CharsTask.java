package dev.jrnn.tasks;

import static dev.jrnn.Dim.dyn;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Model;
import dev.jrnn.Training;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.data.Datasets;
import dev.jrnn.data.Padding;
import dev.jrnn.data.Splits;
import dev.jrnn.data.TextFile;
import dev.jrnn.data.Tokenizer;
import dev.jrnn.fit.Batch;
import dev.jrnn.fit.Batches;
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
 * A character-level language model: Embedding → LSTM (or GRU, RNN) layers → Dropout → Linear to one
 * logit per character, softmax cross-entropy at every step. By default on the English first names
 * (each name one sequence, from a start mark to an end mark), or on any text file (cut into
 * sequences of {@link #sequenceLength} characters). {@link Generator} samples from the result.
 *
 * <pre>{@code
 * Report r = CharsTask.firstNames().run(CharsTask.defaults().epochs(5));
 * try (Generator g = Generator.open(r.model(), Options.backend("java"))) {
 *   System.out.println(g.sample("Ma", 20, 0.8, 0, 7));
 * }
 * }</pre>
 *
 * <p>Sequences are split 80/10/10 (seeded) into training, validation and test; the report gives
 * test perplexity and bits per character next to a unigram model's (character frequencies of the
 * training split, add-one smoothed) on the same characters.
 */
public final class CharsTask {

  /** The graph's token input, I32 {@code [T, N]}: a start mark, then characters. */
  public static final String TOKENS = "tokens";

  /** The graph's output: logits over the vocabulary at each step, {@code [T, N, V]}. */
  public static final String LOGITS = "logits";

  private final List<String> documents;
  private final boolean wholeDocuments;
  private final String description;
  private int sequenceLength = 100;
  private int embedding = 32;
  private int samples = 5;

  private CharsTask(List<String> documents, boolean wholeDocuments, String description) {
    if (documents.isEmpty() || documents.stream().allMatch(String::isEmpty)) {
      throw new IllegalArgumentException(description + " holds no text");
    }
    this.documents = List.copyOf(documents);
    this.wholeDocuments = wholeDocuments;
    this.description = description;
  }

  /**
   * The task's default settings: 20 epochs, batch 64, Adam 3e-3, 128 units × 1 layer, dropout 0.1.
   */
  public static TaskOptions defaults() {
    return new TaskOptions(20, 64, 3e-3, 128, 1, 0.1).patience(4);
  }

  /** The English first names, female and male ({@code make data}): one sequence per name. */
  public static CharsTask firstNames() {
    List<String> names = Datasets.firstNames();
    return new CharsTask(names, true, "English first names (" + names.size() + " names)");
  }

  /** A plain text file, cut into sequences of {@link #sequenceLength} characters. */
  public static CharsTask text(Path file) {
    return new CharsTask(List.of(TextFile.read(file)), false, file.toString());
  }

  /**
   * Texts in memory: each one sequence with start and end marks when {@code whole}, else all of
   * them cut into sequences of {@link #sequenceLength}.
   */
  public static CharsTask of(List<String> texts, boolean whole, String description) {
    return new CharsTask(texts, whole, Objects.requireNonNull(description, "description"));
  }

  /** Characters per training sequence when cutting a text (default 100). */
  public CharsTask sequenceLength(int n) {
    if (n < 2) {
      throw new IllegalArgumentException("sequence length must be at least 2, got " + n);
    }
    this.sequenceLength = n;
    return this;
  }

  /** Embedding width (default 32). */
  public CharsTask embedding(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("embedding must be at least 1, got " + n);
    }
    this.embedding = n;
    return this;
  }

  /** Samples generated into the report after training (default 5). */
  public CharsTask samples(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("samples must be at least 0, got " + n);
    }
    this.samples = n;
    return this;
  }

  /** The network for a vocabulary of {@code vocab} tokens. */
  Graph graph(int vocab, TaskOptions o) {
    return Graph.build(
        b -> {
          Value ids = b.input(TOKENS, DType.I32, dyn("T"), dyn("N"));
          Value x = b.embedding(ids, vocab, embedding);
          for (int l = 0; l < o.layers(); l++) {
            x = b.recurrent(x, o.recurrent(o.hidden()));
            if (o.dropout() > 0) {
              x = b.dropout(x, o.dropout());
            }
          }
          b.output(LOGITS, b.linear(x, vocab));
        });
  }

  /**
   * The texts the model learns, one per sequence: each document, or the text cut into pieces of
   * {@link #sequenceLength} characters (code points; the last piece may be shorter).
   */
  List<String> pieces() {
    if (wholeDocuments) {
      return documents;
    }
    String text = String.join("\n", documents);
    List<String> out = new ArrayList<>();
    for (int s = 0; s < text.length(); ) {
      int e =
          text.offsetByCodePoints(
              s, Math.min(sequenceLength, text.codePointCount(s, text.length())));
      out.add(text.substring(s, e));
      s = e;
    }
    return out;
  }

  /**
   * A piece as a training sequence: the start mark, its characters and, for whole documents, the
   * end mark. Its input is all but the last id, its target all but the first.
   */
  int[] sequence(Tokenizer t, String piece) {
    if (wholeDocuments) {
      return t.encode(piece, true);
    }
    int[] ids = t.encode(piece);
    int[] seq = new int[ids.length + 1];
    seq[0] = Tokenizer.START;
    System.arraycopy(ids, 0, seq, 1, ids.length);
    return seq;
  }

  /** Trains, evaluates on the test split, samples and writes the files; see the class comment. */
  public Report run(TaskOptions o) {
    if (o.bidirectional()) {
      throw new IllegalArgumentException(
          "a character model reads forward so that it can generate: --bidirectional does not apply");
    }
    List<String> texts = pieces();
    if (o.limit() > 0 && o.limit() < texts.size()) {
      texts =
          Splits.select(
              texts, Arrays.copyOf(Splits.permutation(texts.size(), o.seed()), o.limit()));
    }
    Splits.Split split = Splits.random(texts.size(), 0.8, 0.1, 0.1, o.seed());
    if (split.train().length == 0 || split.validation().length == 0 || split.test().length == 0) {
      throw new IllegalArgumentException(
          description
              + ": too few sequences ("
              + texts.size()
              + ") for training, validation and test");
    }
    // The characters of the training split only: a character first seen in validation or test
    // reads as unknown there, as it would in new text.
    Tokenizer tokenizer =
        Tokenizer.fit(
            Splits.select(texts, split.train()),
            Tokenizer.Options.chars().maxVocab(1024).lowerCase(false));
    List<int[]> seqs = new ArrayList<>(texts.size());
    for (String piece : texts) {
      seqs.add(sequence(tokenizer, piece));
    }
    Path dir = Runs.create(o.outputDir("chars"));
    o.out()
        .printf(
            "chars: %s; %s; %d characters%n",
            description, o, tokenizer.vocabSize() - Tokenizer.RESERVED);

    Graph g = graph(tokenizer.vocabSize(), o);
    Loss loss = Loss.crossEntropy(LOGITS).ignoreIndex(Tokenizer.PAD);
    List<int[]> all = seqs;
    Batches train = batches(all, split.train(), o.batch(), o.seed(), true);
    Training training = o.training(loss, train.count());
    Batches validation = batches(all, split.validation(), 256, o.seed(), false);
    Batches test = batches(all, split.test(), 256, o.seed(), false);
    var fit =
        Runs.fit(training, o, dir)
            .validation(validation)
            .metrics(Metrics.perplexity(), Metrics.bitsPerChar())
            .build();
    try (Weights w = Weights.random(g, "pytorch", o.seed())) {
      tokenizer.storeIn(w);
      try (Fitted f = Runs.fitOrResume(fit, g, w, train, o, dir)) {
        Map<String, Double> metrics =
            new LinkedHashMap<>(
                Runs.evaluate(
                    f.trainer(),
                    test,
                    training.loss(),
                    Metrics.perplexity(),
                    Metrics.bitsPerChar()));
        metrics.putAll(
            Runs.evaluateReduced(
                f,
                o,
                test,
                training.loss(),
                () -> new Metric[] {Metrics.perplexity(), Metrics.bitsPerChar()}));
        Path model = Runs.saveModel(f, "chars", dir);
        List<String> generated = new ArrayList<>();
        if (samples > 0) {
          try (Model m = f.trainer().model();
              Generator gen = Generator.of(m, o.engineOptions())) {
            for (int i = 0; i < samples; i++) {
              generated.add(gen.sample("", wholeDocuments ? 40 : 200, 0.8, 0, o.seed() + i));
            }
          }
        }
        double[] tp = Runs.throughput(f.history());
        return new Report(
            "chars",
            description,
            metrics,
            unigramBaseline(all, split, tokenizer.vocabSize()),
            f.history(),
            tp[0],
            tp[1],
            List.of(model, dir.resolve(Runs.CURVES), dir.resolve(Runs.METRICS)),
            generated);
      }
    }
  }

  /**
   * A unigram model of the training targets (every id after the start mark), add-one smoothed over
   * the ids a target can be (all but padding and the start mark): its test perplexity and bits per
   * character.
   */
  static Map<String, Double> unigramBaseline(List<int[]> seqs, Splits.Split split, int vocab) {
    long[] counts = new long[vocab];
    long total = 0;
    for (int i : split.train()) {
      int[] s = seqs.get(i);
      for (int k = 1; k < s.length; k++) {
        counts[s[k]]++;
        total++;
      }
    }
    int outcomes = vocab - 2;
    double nll = 0;
    long n = 0;
    for (int i : split.test()) {
      int[] s = seqs.get(i);
      for (int k = 1; k < s.length; k++) {
        nll -= Math.log((counts[s[k]] + 1.0) / (total + outcomes));
        n++;
      }
    }
    double mean = nll / n;
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("unigram/perplexity", Math.exp(mean));
    m.put("unigram/bits_per_char", mean / Math.log(2));
    return m;
  }

  /**
   * Batches of the sequences {@code which} for a language model, bucketed by length ({@link
   * Runs#bucketed}): each sequence's input (all but its last id) and target (all but its first),
   * padded.
   */
  static Batches batches(List<int[]> seqs, int[] which, int size, long seed, boolean shuffle) {
    int[] lengths = new int[which.length];
    for (int k = 0; k < which.length; k++) {
      lengths[k] = seqs.get(which[k]).length - 1;
    }
    return Runs.bucketed(
        which,
        lengths,
        size,
        seed,
        shuffle,
        rows -> {
          List<int[]> inputs = new ArrayList<>(rows.length);
          List<int[]> targets = new ArrayList<>(rows.length);
          for (int r : rows) {
            int[] s = seqs.get(r);
            inputs.add(Arrays.copyOfRange(s, 0, s.length - 1));
            targets.add(Arrays.copyOfRange(s, 1, s.length));
          }
          return new Batch(
              Map.of(TOKENS, Padding.pad(inputs).tokens()),
              Padding.pad(targets).tokens(),
              rows.length);
        });
  }
}
