package dev.jrnn.tasks;

import dev.jrnn.DType;
import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Session;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.data.Tokenizer;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Samples text from a character model trained by {@link CharsTask}, one character at a time through
 * a streaming {@link State}: the prime is read once, then each new character costs one step, never
 * a rerun of the prefix. The same model, prime, settings and seed give the same text.
 *
 * <pre>{@code
 * try (Generator g = Generator.open(Path.of("model.jrnn"), Options.backend("java"))) {
 *   String name = g.sample("Ma", 20, 0.8, 5, 42);
 * }
 * }</pre>
 */
public final class Generator implements AutoCloseable {

  private final Session session;
  private final Tokenizer tokenizer;
  private final int vocab;

  private Generator(Session session, Tokenizer tokenizer) {
    this.session = session;
    this.tokenizer = tokenizer;
    this.vocab = tokenizer.vocabSize();
  }

  /** Opens a model file written by {@code jrnn train chars}. */
  public static Generator open(Path model, Options options) {
    try (Model m = Model.load(model)) {
      return of(m, options);
    }
  }

  /** A generator over a character model (the model may be closed afterwards). */
  public static Generator of(Model model, Options options) {
    String task = model.weights().metadata().get(Runs.TASK_KEY);
    if (task != null && !task.equals("chars")) {
      throw new IllegalArgumentException(
          "the model was trained by 'jrnn train "
              + task
              + "', not 'jrnn train chars': it does not generate text");
    }
    if (!model.graph().inputs().containsKey(CharsTask.TOKENS)
        || !model.graph().outputs().containsKey(CharsTask.LOGITS)) {
      throw new IllegalArgumentException(
          "not a character model: it needs an input '"
              + CharsTask.TOKENS
              + "' and an output '"
              + CharsTask.LOGITS
              + "'; inputs: "
              + String.join(", ", model.graph().inputs().keySet())
              + "; outputs: "
              + String.join(", ", model.graph().outputs().keySet()));
    }
    Tokenizer t = Tokenizer.from(model.weights());
    return new Generator(model.open(options), t);
  }

  /**
   * Up to {@code length} characters following {@code prime} (which is not repeated), stopping early
   * at the end mark. Each character is drawn from the softmax of the logits divided by {@code
   * temperature} (&gt; 0; lower is more conservative), restricted to the {@code topK} most likely
   * when {@code topK} &gt; 0. Padding, the start mark and the unknown-character id are never drawn.
   */
  public String sample(String prime, int length, double temperature, int topK, long seed) {
    if (!(temperature > 0) || !Double.isFinite(temperature)) {
      throw new IllegalArgumentException("temperature must be positive, got " + temperature);
    }
    if (length < 0 || topK < 0) {
      throw new IllegalArgumentException(
          "length and top-k must be at least 0, got " + length + " and " + topK);
    }
    int[] primeIds = tokenizer.encode(prime);
    int[] first = new int[primeIds.length + 1];
    first[0] = Tokenizer.START;
    System.arraycopy(primeIds, 0, first, 1, primeIds.length);
    SplittableRandom rnd = new SplittableRandom(seed);
    StringBuilder out = new StringBuilder();
    double[] p = new double[vocab];
    float[] last = new float[vocab];
    try (State state = session.newState();
        Tensor one = Tensor.allocate(DType.I32, 1, 1);
        Tensor logits = Tensor.allocate(DType.F32, 1, 1, vocab)) {
      try (Tensor ids = Tensor.of(first, first.length, 1);
          var r = session.step(state, Map.of(CharsTask.TOKENS, ids))) {
        read(r.get(CharsTask.LOGITS), (long) (first.length - 1) * vocab, last);
      }
      // one step per character, into the same tensors
      Map<String, Tensor> in = Map.of(CharsTask.TOKENS, one);
      Map<String, Tensor> outs = Map.of(CharsTask.LOGITS, logits);
      for (int i = 0; i < length; i++) {
        int id = draw(last, temperature, topK, p, rnd);
        if (id == Tokenizer.END) {
          break;
        }
        out.append(tokenizer.token(id));
        one.setInt(0, id);
        session.step(state, in, outs);
        read(logits, 0, last);
      }
    }
    return out.toString();
  }

  /** {@code into.length} floats of {@code t} from element {@code from}. */
  private static void read(Tensor t, long from, float[] into) {
    for (int i = 0; i < into.length; i++) {
      into[i] = t.getFloat(from + i);
    }
  }

  /**
   * One id from softmax(logits / temperature) over the drawable ids: the {@code topK} with the
   * highest logits (ties to the lower id) when {@code topK} &gt; 0, else all of them. {@code p} is
   * scratch of the logits' length; nothing is allocated.
   */
  static int draw(float[] logits, double temperature, int topK, double[] p, SplittableRandom rnd) {
    int v = logits.length;
    int drawable = 0; // p[i] marks first: 1 may be drawn, 0 may not
    for (int i = 0; i < v; i++) {
      p[i] = drawable(i) ? 1 : 0;
      drawable += (int) p[i];
    }
    if (topK > 0 && topK < drawable) {
      for (int taken = 0; taken < topK; taken++) { // the highest left, the lower id on ties
        int best = -1;
        for (int i = 0; i < v; i++) {
          if (p[i] == 1 && (best < 0 || logits[i] > logits[best])) {
            best = i;
          }
        }
        p[best] = 2;
      }
      for (int i = 0; i < v; i++) {
        p[i] = p[i] == 2 ? 1 : 0;
      }
    }
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < v; i++) {
      if (p[i] > 0) {
        max = Math.max(max, logits[i]);
      }
    }
    double sum = 0;
    for (int i = 0; i < v; i++) {
      p[i] = p[i] > 0 ? Math.exp((logits[i] - max) / temperature) : 0;
      sum += p[i];
    }
    double u = rnd.nextDouble() * sum;
    int chosen = -1;
    for (int i = 0; i < v; i++) {
      if (p[i] > 0) {
        chosen = i;
        u -= p[i];
        if (u < 0) {
          break;
        }
      }
    }
    return chosen;
  }

  private static boolean drawable(int id) {
    return id != Tokenizer.PAD && id != Tokenizer.START && id != Tokenizer.OOV;
  }

  /** Closes the session. */
  @Override
  public void close() {
    session.close();
  }
}
