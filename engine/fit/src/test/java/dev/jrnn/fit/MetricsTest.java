package dev.jrnn.fit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every metric on cases small enough to work out by hand; the expected values say how. */
class MetricsTest {

  private static final double EPS = 1e-12;

  /** Feeds one batch to a fresh metric and returns its value. */
  private static double once(Metric m, Tensor output, Tensor target) {
    try (output;
        target) {
      m.update(Predictions.of(output, target));
      return m.value();
    }
  }

  /** Logits [n, k] with 1 at each predicted class and 0 elsewhere. */
  private static Tensor oneHot(int k, int... predicted) {
    float[] v = new float[predicted.length * k];
    for (int i = 0; i < predicted.length; i++) {
      v[i * k + predicted[i]] = 1;
    }
    return Tensor.of(v, predicted.length, k);
  }

  @Test
  void binaryAccuracyFromLogitsAndProbabilities() {
    // logits > 0 → {1, 0, 1, 0} (0 itself is negative) against {1, 0, 0, 1}: 2 of 4 right
    assertEquals(
        0.5,
        once(
            Metrics.accuracy(),
            Tensor.of(new float[] {2, -1, 0.5f, 0}, 4),
            Tensor.of(new float[] {1, 0, 0, 1}, 4)),
        EPS);
    // probabilities > 0.5 → {1, 0, 1, 0} (0.5 itself is negative); [N, 1] output against [N] ids
    assertEquals(
        0.5,
        once(
            Metrics.accuracy(Metrics.Scores.PROBABILITIES),
            Tensor.of(new float[] {0.9f, 0.2f, 0.6f, 0.5f}, 4, 1),
            Tensor.of(new int[] {1, 0, 0, 1}, 4)),
        EPS);
  }

  @Test
  void multiclassAccuracyIsArgmax() {
    // argmax {1, 0, 2} against {1, 2, 2}: 2 of 3
    assertEquals(
        2.0 / 3,
        once(
            Metrics.accuracy(),
            Tensor.of(new float[] {1, 2, 0, 3, 0, 0, 0, 0, 5}, 3, 3),
            Tensor.of(new int[] {1, 2, 2}, 3)),
        EPS);
  }

  @Test
  void binaryPrecisionRecallF1() {
    // predicted {1,1,0,1,0,0}, actual {1,0,1,1,0,1}: tp 2 (0, 3), fp 1 (1), fn 2 (2, 5)
    float[] logits = {3, 1, -1, 2, -2, -0.5f};
    float[] actual = {1, 0, 1, 1, 0, 1};
    assertEquals(2.0 / 3, binary(Metrics.precision(), logits, actual), EPS);
    assertEquals(2.0 / 4, binary(Metrics.recall(), logits, actual), EPS);
    // 2tp / (2tp + fp + fn) = 4/7 = 2PR/(P+R) = (2/3) / (7/6)
    assertEquals(4.0 / 7, binary(Metrics.f1(), logits, actual), EPS);
  }

  @Test
  void f1IsZeroWithoutPositivePredictions() {
    float[] logits = {-1, -2, -0.1f};
    float[] actual = {1, 0, 1};
    assertEquals(0, binary(Metrics.precision(), logits, actual), EPS);
    assertEquals(0, binary(Metrics.recall(), logits, actual), EPS);
    assertEquals(0, binary(Metrics.f1(), logits, actual), EPS);
    assertEquals(0, Metrics.f1().value(), EPS); // nothing seen
  }

  private static double binary(Metric m, float[] logits, float[] actual) {
    return once(m, Tensor.of(logits, logits.length), Tensor.of(actual, actual.length));
  }

  @Test
  void macroAveragesOverThreeClasses() {
    // targets {0,0,1,1,2,2}, argmax {0,1,1,1,2,0}
    // class 0: tp 1, fp 1, fn 1 → P 1/2, R 1/2, F1 1/2
    // class 1: tp 2, fp 1, fn 0 → P 2/3, R 1,   F1 4/5
    // class 2: tp 1, fp 0, fn 1 → P 1,   R 1/2, F1 2/3
    int[] targets = {0, 0, 1, 1, 2, 2};
    int[] predicted = {0, 1, 1, 1, 2, 0};
    for (int k : new int[] {3, 4}) { // a class never seen (k = 4) is not averaged in
      assertEquals(
          13.0 / 18, macro(Metrics.macroPrecision(), k, predicted, targets), EPS, "k " + k);
      assertEquals(2.0 / 3, macro(Metrics.macroRecall(), k, predicted, targets), EPS, "k " + k);
      assertEquals(59.0 / 90, macro(Metrics.macroF1(), k, predicted, targets), EPS, "k " + k);
      assertEquals(4.0 / 6, macro(Metrics.accuracy(), k, predicted, targets), EPS, "k " + k);
    }
  }

  private static double macro(Metric m, int k, int[] predicted, int[] targets) {
    return once(m, oneHot(k, predicted), Tensor.of(targets, targets.length));
  }

  @Test
  void metricsPoolOverBatchesAndReset() {
    Metric f1 = Metrics.macroF1();
    // the macro case split into two batches gives the same value
    try (Tensor o1 = oneHot(3, 0, 1, 1);
        Tensor t1 = Tensor.of(new int[] {0, 0, 1}, 3);
        Tensor o2 = oneHot(3, 1, 2, 0);
        Tensor t2 = Tensor.of(new int[] {1, 2, 2}, 3)) {
      f1.update(Predictions.of(o1, t1));
      f1.update(Predictions.of(o2, t2));
      assertEquals(59.0 / 90, f1.value(), EPS);
      f1.reset();
      f1.update(Predictions.of(o1, t1)); // class 0: F1 2/3, class 1: F1 2/3
      assertEquals(2.0 / 3, f1.value(), EPS);
    }
  }

  @Test
  void perplexityOfAUniformModelIsTheVocabularySize() {
    int vocab = 5;
    // [T 3, N 2, V] zeros, lengths {3, 1}: the padded steps have peaked logits that must not count
    float[] logits = new float[3 * 2 * vocab];
    for (int t = 1; t < 3; t++) {
      logits[(t * 2 + 1) * vocab + 4] = 50;
    }
    int[] ids = {0, 1, 2, 3, 4, 0};
    for (Metric m : List.of(Metrics.perplexity(), Metrics.bitsPerChar())) {
      try (Tensor out = Tensor.of(logits, 3, 2, vocab);
          Tensor target = Tensor.of(ids, 3, 2);
          Tensor lengths = Tensor.of(new int[] {3, 1}, 2)) {
        m.update(Predictions.of(out, target).withLengths(lengths, false));
        double expected = m.name().equals("perplexity") ? vocab : Math.log(vocab) / Math.log(2);
        assertEquals(expected, m.value(), 1e-9, m.name());
      }
    }
  }

  @Test
  void perplexityIsTokenWeightedOverBatches() {
    // logits {0, ln 3}: p = {1/4, 3/4}. Batch A: one token of class 1 (ln 4/3 nats).
    // Batch B, batch-first [N 2, T 2], lengths {2, 1}, ids {0, 0 | 0, pad}: three tokens of ln 4.
    // mean = (ln 4/3 + 3 ln 4) / 4 → perplexity (4/3 · 64)^(1/4), bits mean / ln 2
    float l3 = (float) Math.log(3);
    Metric ppl = Metrics.perplexity();
    Metric bpc = Metrics.bitsPerChar();
    try (Tensor outA = Tensor.of(new float[] {0, l3}, 1, 1, 2);
        Tensor idsA = Tensor.of(new int[] {1}, 1, 1);
        Tensor outB = Tensor.of(new float[] {0, l3, 0, l3, 0, l3, 9, -9}, 2, 2, 2);
        Tensor idsB = Tensor.of(new int[] {0, 0, 0, 1}, 2, 2);
        Tensor lengthsB = Tensor.of(new int[] {2, 1}, 2)) {
      for (Metric m : List.of(ppl, bpc)) {
        m.update(Predictions.of(outA, idsA));
        m.update(Predictions.of(outB, idsB).withLengths(lengthsB, true));
      }
    }
    float l3f = (float) Math.log(3); // the logits are floats: use the stored value
    double p1 = Math.exp(l3f) / (1 + Math.exp(l3f));
    double mean = (-Math.log(p1) - 3 * Math.log(1 - p1)) / 4;
    assertEquals(Math.exp(mean), ppl.value(), 1e-12);
    assertEquals(Math.pow(4.0 / 3 * 64, 0.25), ppl.value(), 1e-6);
    assertEquals(mean / Math.log(2), bpc.value(), 1e-12);
  }

  @Test
  void ignoredTargetsDoNotCount() {
    // token 0: uniform over 3 classes, target 0 (argmax of a tie is the first class: right);
    // token 1: target 2, the ignored id, with logits that would be wrong and cost 9 nats
    Metric ppl = Metrics.perplexity();
    Metric acc = Metrics.accuracy();
    try (Tensor out = Tensor.of(new float[] {0, 0, 0, 9, 0, 0}, 2, 3);
        Tensor ids = Tensor.of(new int[] {0, 2}, 2)) {
      for (Metric m : List.of(ppl, acc)) {
        m.update(Predictions.of(out, ids).ignoring(2));
      }
    }
    assertEquals(3, ppl.value(), 1e-9);
    assertEquals(1, acc.value(), EPS);
  }

  @Test
  void regressionErrorsAndTheInverseTransform() {
    // predicted {1, 2, 3}, actual {2, 2, 5}: errors {-1, 0, -2}
    float[] p = {1, 2, 3};
    float[] a = {2, 2, 5};
    assertEquals(5.0 / 3, regression(Metrics.mse(), p, a), EPS);
    assertEquals(1, regression(Metrics.mae(), p, a), EPS);
    assertEquals(Math.sqrt(5.0 / 3), regression(Metrics.rmse(), p, a), EPS);
    // de-normalised by x → 10x + 1, errors scale by 10
    assertEquals(500.0 / 3, regression(Metrics.mse(x -> 10 * x + 1), p, a), 1e-9);
    assertEquals(10, regression(Metrics.mae(x -> 10 * x + 1), p, a), 1e-9);
    assertEquals(Math.sqrt(500.0 / 3), regression(Metrics.rmse(x -> 10 * x + 1), p, a), 1e-9);
  }

  private static double regression(Metric m, float[] predicted, float[] actual) {
    // as two batches: [N 1, 1] output then [N 2, 1]
    try (Tensor p1 = Tensor.of(new float[] {predicted[0]}, 1, 1);
        Tensor a1 = Tensor.of(new float[] {actual[0]}, 1, 1);
        Tensor p2 = Tensor.of(new float[] {predicted[1], predicted[2]}, 2, 1);
        Tensor a2 = Tensor.of(new float[] {actual[1], actual[2]}, 2, 1)) {
      m.update(Predictions.of(p1, a1));
      m.update(Predictions.of(p2, a2));
      return m.value();
    }
  }

  @Test
  void namesAndErrors() {
    for (String n :
        List.of(
            "accuracy",
            "precision",
            "recall",
            "f1",
            "perplexity",
            "bits_per_char",
            "mse",
            "mae",
            "rmse")) {
      assertEquals(n, Metrics.byName(n).name());
    }
    assertEquals("f1", Metrics.byName("macro_f1").name());
    var e = assertThrows(IllegalArgumentException.class, () -> Metrics.byName("auc"));
    assertTrue(e.getMessage().contains("bits_per_char"), e.getMessage());
    assertTrue(Double.isNaN(Metrics.accuracy().value()));
    assertTrue(Double.isNaN(Metrics.rmse().value()));
    try (Tensor out = Tensor.of(new float[] {1, 2}, 1, 2);
        Tensor bad = Tensor.of(new int[] {2}, 1)) {
      var x =
          assertThrows(
              IllegalArgumentException.class,
              () -> Metrics.accuracy().update(Predictions.of(out, bad)));
      assertTrue(x.getMessage().contains("outside [0, 2)"), x.getMessage());
    }
  }
}
