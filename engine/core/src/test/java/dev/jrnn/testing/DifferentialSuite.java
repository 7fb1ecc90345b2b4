package dev.jrnn.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One backend against {@code reference} over cell × direction × layers × ragged batches × shapes
 * that hit vector tails (H = 1, 7, 16, 17, 36; I ≠ H; T = 1, 2; N = 1, 3), plus larger shapes that
 * make the backend split work across 2 and 3 threads. Every output at ≤ 1e-5, or the subclass's
 * {@link #tolerance}. Subclass per backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class DifferentialSuite {

  /** The backend under test, with {@code threads} threads. */
  protected abstract Options options(int threads);

  /**
   * The largest max abs difference allowed for case {@code c}: the suite's 1e-5, unless a subclass
   * derives a bound from the format its backend rounds activations to.
   */
  protected double tolerance(Case c) {
    return GoldenSuite.TOLERANCE;
  }

  /** Whether the backend is expected to run this case itself (others may be partitioned). */
  protected boolean runsNatively(Case c) {
    return true;
  }

  /** Cell variants: every option the cells have. */
  public enum Variant {
    RNN_TANH,
    RNN_RELU,
    LSTM,
    LSTM_PEEP_PROJ,
    LSTM_CLIP_COUPLED,
    LSTM_ACTS,
    GRU_LBR,
    GRU_RESET_FIRST,
    GRU_CLIP_ACTS;

    Recurrent spec(int h) {
      return switch (this) {
        case RNN_TANH -> Recurrent.rnn(h);
        case RNN_RELU -> Recurrent.rnn(h).relu();
        case LSTM -> Recurrent.lstm(h);
        case LSTM_PEEP_PROJ ->
            h > 1
                ? Recurrent.lstm(h).peepholes().projection(Math.max(1, h / 3))
                : Recurrent.lstm(h).peepholes();
        case LSTM_CLIP_COUPLED -> Recurrent.lstm(h).clip(0.9f).coupledInputForget();
        case LSTM_ACTS ->
            Recurrent.lstm(h)
                .activations(
                    List.of(
                        Activation.of(Activation.Kind.HARD_SIGMOID, 0.3f, 0.45f),
                        Activation.of(Activation.Kind.SOFTSIGN),
                        Activation.of(Activation.Kind.ELU, 0.8f, 0)));
        case GRU_LBR -> Recurrent.gru(h);
        case GRU_RESET_FIRST -> Recurrent.gru(h).linearBeforeReset(false);
        case GRU_CLIP_ACTS ->
            Recurrent.gru(h)
                .linearBeforeReset(false)
                .clip(1.2f)
                .activations(
                    List.of(
                        Activation.of(Activation.Kind.SIGMOID),
                        Activation.of(Activation.Kind.LEAKY_RELU, 0.2f, 0)));
      };
    }
  }

  /** One configuration. */
  public record Case(
      Variant variant,
      Recurrent.Direction direction,
      Recurrent.Merge merge,
      int layers,
      boolean ragged,
      boolean initialState,
      boolean batchFirst,
      int hidden,
      int input,
      int steps,
      int batch,
      int threads) {
    @Override
    public String toString() {
      return variant
          + " "
          + direction
          + (merge == Recurrent.Merge.SUM ? "-sum" : "")
          + " L="
          + layers
          + (ragged ? " ragged" : "")
          + (initialState ? " h0" : "")
          + (batchFirst ? " bf" : "")
          + " H="
          + hidden
          + " I="
          + input
          + " T="
          + steps
          + " N="
          + batch
          + " threads="
          + threads;
    }
  }

  /**
   * {@code reference} in the precision the backend under test runs in, if it asks for one: it
   * computes with the same (reduced, then widened) weight values, so the bound stays 1e-5.
   */
  private Options referenceOptions() {
    Options ref = Options.backend("reference");
    return options(1).requestedPrecision().map(ref::precision).orElse(ref);
  }

  static List<Case> cases() {
    int[][] small = { // H, I, T, N
      {1, 2, 2, 3}, {7, 5, 1, 1}, {16, 9, 2, 3}, {17, 17, 2, 1}, {36, 20, 1, 3}, {7, 3, 5, 3}
    };
    int[][] threaded = {{256, 40, 3, 1}, {100, 30, 4, 8}};
    List<Case> cases = new ArrayList<>();
    int k = 0;
    for (Variant v : Variant.values()) {
      for (Recurrent.Direction d : Recurrent.Direction.values()) {
        for (Recurrent.Merge m : Recurrent.Merge.values()) {
          if (m == Recurrent.Merge.SUM && d != Recurrent.Direction.BIDIRECTIONAL) {
            continue;
          }
          for (int layers = 1; layers <= 2; layers++) {
            for (int[] s : small) {
              boolean ragged = s[2] > 1 && (k % 2 == 0);
              cases.add(
                  new Case(
                      v,
                      d,
                      m,
                      layers,
                      ragged,
                      k % 3 == 0,
                      k % 4 == 1,
                      s[0],
                      s[1],
                      s[2],
                      s[3],
                      1 + k % 2));
              k++;
            }
            for (int[] s : threaded) {
              if (layers == 2 && s[0] == 256) {
                continue;
              }
              cases.add(
                  new Case(
                      v,
                      d,
                      m,
                      layers,
                      k % 2 == 0,
                      k % 3 == 0,
                      false,
                      s[0],
                      s[1],
                      s[2],
                      s[3],
                      2 + k % 2));
              k++;
            }
          }
        }
      }
    }
    return cases;
  }

  private final AtomicReference<String> worst = new AtomicReference<>("none");
  private volatile double worstDiff;
  private final AtomicReference<String> worstRel = new AtomicReference<>("none");
  private volatile double worstRatio; // max|diff| / tolerance
  private final Map<Integer, Integer> counts = new HashMap<>();

  /** The case's graph: x (and len, h0, c0) in; y, h (and c) out. */
  static Graph graph(Case c) {
    Recurrent fs = spec(c);
    int ld = fs.layers() * fs.directions();
    return Graph.build(
        b -> {
          Dim t = Dim.dyn("T");
          Dim n = Dim.dyn("N");
          Value x =
              c.batchFirst()
                  ? b.input("x", DType.F32, n, t, Dim.of(c.input()))
                  : b.input("x", DType.F32, t, n, Dim.of(c.input()));
          Value len = c.ragged() ? b.input("len", DType.I32, n) : null;
          Value h0 =
              c.initialState()
                  ? b.input("h0", DType.F32, Dim.of(ld), n, Dim.of(fs.outputHidden()))
                  : null;
          Value c0 =
              c.initialState() && fs.cell() == Recurrent.Cell.LSTM
                  ? b.input("c0", DType.F32, Dim.of(ld), n, Dim.of(fs.hidden()))
                  : null;
          Value y = b.recurrent(x, fs, len, h0, c0);
          b.output("y", y);
          b.output("h", y.finalH());
          if (fs.cell() == Recurrent.Cell.LSTM) {
            b.output("c", y.finalC());
          }
        });
  }

  /** The case's inputs, reproducible from its name; the tensors are added to {@code owned}. */
  static Map<String, Tensor> inputs(Case c, List<Tensor> owned) {
    Recurrent fs = spec(c);
    int ld = fs.layers() * fs.directions();
    SplittableRandom r = new SplittableRandom(c.toString().hashCode());
    Map<String, Tensor> in = new HashMap<>();
    in.put(
        "x",
        random(
            r,
            owned,
            c.batchFirst()
                ? new int[] {c.batch(), c.steps(), c.input()}
                : new int[] {c.steps(), c.batch(), c.input()}));
    if (c.ragged()) {
      int[] lens = new int[c.batch()];
      for (int i = 0; i < lens.length; i++) {
        lens[i] = 1 + r.nextInt(c.steps());
      }
      lens[0] = c.batch() > 1 ? c.steps() : 1 + r.nextInt(c.steps()); // mix full and short rows
      Tensor t = Tensor.of(lens, c.batch());
      owned.add(t);
      in.put("len", t);
    }
    if (c.initialState()) {
      in.put("h0", random(r, owned, ld, c.batch(), fs.outputHidden()));
      if (fs.cell() == Recurrent.Cell.LSTM) {
        in.put("c0", random(r, owned, ld, c.batch(), fs.hidden()));
      }
    }
    return in;
  }

  /** The case's recurrent spec. */
  static Recurrent spec(Case c) {
    Recurrent spec = c.variant().spec(c.hidden()).layers(c.layers()).batchFirst(c.batchFirst());
    return switch (c.direction()) {
      case FORWARD -> spec;
      case REVERSE -> spec.reverse();
      case BIDIRECTIONAL -> spec.bidirectional(c.merge());
    };
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void matchesReference(Case c) {
    Graph g = graph(c);
    List<Tensor> owned = new ArrayList<>();
    Map<String, Tensor> in = inputs(c, owned);
    try (Weights w = Weights.random(g, 17);
        Session ref = Session.open(g, w, referenceOptions());
        Session s = Session.open(g, w, options(c.threads()));
        Result want = ref.run(in);
        Result got = s.run(in)) {
      if (runsNatively(c)) {
        String placed = s.placement().values().iterator().next();
        assertTrue(placed.equals(s.backend()), c + " ran on " + placed);
      }
      double max = 0;
      for (String name : want.names()) {
        max = Math.max(max, Fixture.maxAbsDiff(want.get(name), got.get(name)));
      }
      double tol = tolerance(c);
      synchronized (this) {
        if (max > worstDiff) {
          worstDiff = max;
          worst.set(c.toString());
        }
        if (max / tol > worstRatio) {
          worstRatio = max / tol;
          worstRel.set(c.toString());
        }
      }
      double m = max;
      assertTrue(max <= tol, () -> c + ": max abs diff " + m + " > " + tol);
    } finally {
      owned.forEach(Tensor::close);
    }
  }

  static Tensor random(SplittableRandom r, List<Tensor> owned, int... shape) {
    Tensor t = Tensor.allocate(DType.F32, shape);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) (r.nextDouble() * 2 - 1));
    }
    owned.add(t);
    return t;
  }

  @AfterAll
  void summary() {
    System.out.printf(
        "%s vs reference: %d cases, largest max|diff| %.2e (%s), largest max|diff|/tolerance"
            + " %.3f (%s)%n",
        options(1).backendName(),
        cases().size(),
        worstDiff,
        worst.get(),
        worstRatio,
        worstRel.get());
  }
}
