package dev.jrnn.train;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The whole-model fixtures written by {@code engine/core/src/test/python/make_model_fixtures.py}
 * (fixtures/training/models): the jrnn graph and loss a fixture's config describes, its weights and
 * batch, and the error measure the model tests share.
 */
final class ModelFixtures {

  static final String GROUP = "models";

  /** The backends every model test runs on. */
  static final List<String> BACKENDS = List.of("reference", "java");

  /** Largest error allowed, in {@link #relativeError}. */
  static final double TOLERANCE = 1e-4;

  private ModelFixtures() {}

  /** (backend, fixture) for every backend and every fixture of the given kind. */
  static Stream<Arguments> cases(String kind) {
    return BACKENDS.stream()
        .flatMap(
            b ->
                TrainingFixture.names(GROUP).stream()
                    .filter(n -> isKind(n, kind))
                    .map(n -> Arguments.of(b, n)));
  }

  private static boolean isKind(String name, String kind) {
    try (TrainingFixture f = TrainingFixture.load(GROUP, name)) {
      return kind.equals(f.config.get("kind"));
    }
  }

  private static int integer(TrainingFixture f, String key) {
    return (int) f.number(key);
  }

  static boolean perStep(TrainingFixture f) {
    return "tagger".equals(f.config.get("model"));
  }

  /**
   * ids [T, N] and lengths [N] → embedding → LSTM or GRU stack over the lengths → each row's last
   * valid step (classifier) or every step (tagger) → linear: output "logits".
   */
  static Graph graph(TrainingFixture f) {
    int hidden = integer(f, "hidden");
    Recurrent spec =
        "gru".equals(f.config.get("cell")) ? Recurrent.gru(hidden) : Recurrent.lstm(hidden);
    spec = spec.layers(integer(f, "layers"));
    if (f.flag("bidirectional")) {
      spec = spec.bidirectional();
    }
    Recurrent rnn = spec;
    return Graph.build(
        b -> {
          Value ids = b.input("ids", DType.I32, dyn("T"), dyn("N"));
          Value lengths = b.input("lengths", DType.I32, dyn("N"));
          Value x = b.embedding(ids, integer(f, "vocab"), integer(f, "embed"));
          Value y = b.recurrent(x, rnn, lengths, null, null);
          b.output("logits", b.linear(perStep(f) ? y : b.lastStep(y), integer(f, "classes")));
        });
  }

  /** Mean cross-entropy of "logits"; the tagger's also ignores an index and counts valid steps. */
  static Loss loss(TrainingFixture f) {
    Loss l = Loss.crossEntropy("logits");
    if (f.config.containsKey("ignore_index")) {
      l = l.ignoreIndex(integer(f, "ignore_index"));
    }
    return perStep(f) ? l.lengths("lengths") : l;
  }

  /** Copies of the initial weights, canonical names. */
  static Weights weights(TrainingFixture f) {
    Weights w = Weights.empty();
    f.copies("init.").forEach(w::put);
    return w;
  }

  /** The names of the fixture's tensors {@code prefix + <name>}, the prefix removed, sorted. */
  static Set<String> names(TrainingFixture f, String prefix) {
    Map<String, Tensor> copies = f.copies(prefix);
    copies.values().forEach(Tensor::close);
    return new TreeSet<>(copies.keySet());
  }

  /** The batch's inputs, views owned by the fixture. */
  static Map<String, Tensor> inputs(TrainingFixture f) {
    return Map.of("ids", f.tensor("ids"), "lengths", f.tensor("lengths"));
  }

  /**
   * Largest {@code |a − e| / max(|e|, 1e-3·max|e|)} over a tensor's elements: relative, with
   * elements far below the tensor's scale held to an error relative to a thousandth of it. NaN
   * counts as infinite.
   */
  static double relativeError(Tensor expected, Tensor actual) {
    assertArrayEquals(expected.shape(), actual.shape(), "shape");
    assertEquals(DType.F32, actual.dtype(), "dtype");
    float[] e = expected.toFloatArray();
    float[] a = actual.toFloatArray();
    double scale = 0;
    for (float v : e) {
      scale = Math.max(scale, Math.abs(v));
    }
    double worst = 0;
    for (int i = 0; i < e.length; i++) {
      double d = Math.abs((double) e[i] - a[i]);
      if (d != 0) {
        d /= Math.max(Math.abs(e[i]), 1e-3 * scale);
      }
      worst = Math.max(worst, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
    }
    return worst;
  }

  /** {@code |a − e| / |e|} of two numbers. */
  static double relativeError(double expected, double actual) {
    double d = Math.abs(actual - expected) / Math.abs(expected);
    return Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
  }
}
