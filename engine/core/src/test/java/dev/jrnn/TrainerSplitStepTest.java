package dev.jrnn;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.TrainerTest.Batch;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link Trainer#backward} and {@link Trainer#apply}: a step split in two, as data-parallel
 * training uses it (gradients computed on several workers, averaged, applied once).
 */
class TrainerSplitStepTest {

  /** {@link TrainerTest#classifier()} with dropout, so that the step's masks matter. */
  static Graph classifierWithDropout() {
    return Graph.build(
        b -> {
          Value ids = b.input("ids", DType.I32, dyn("T"), dyn("N"));
          Value x = b.dropout(b.embedding(ids, TrainerTest.VOCAB, 4), 0.3);
          Value y = b.recurrent(x, Recurrent.lstm(8));
          b.output("logits", b.linear(b.lastStep(y), 2));
        });
  }

  /** Adam with a norm clip low enough that every step clips. */
  static Training clippedAdam() {
    return Training.of(Loss.crossEntropy("logits"), Optimizer.adam(0.05).clipNorm(0.05)).seed(3);
  }

  static Options java1() {
    return Options.backend("java").threads(1);
  }

  static Map<String, float[]> values(Weights w) {
    Map<String, float[]> m = new java.util.LinkedHashMap<>();
    for (String n : w.names()) {
      m.put(n, w.get(n).toFloatArray());
    }
    return m;
  }

  static void assertSameBits(Weights expected, Weights actual, String what) {
    assertEquals(expected.names(), actual.names(), what);
    for (String n : expected.names()) {
      assertArrayEquals(
          expected.get(n).toFloatArray(), actual.get(n).toFloatArray(), 0f, what + ": " + n);
    }
  }

  @Test
  void backwardThenApplyOfItsGradientsIsAStep() {
    Graph g = classifierWithDropout();
    try (Weights w = Weights.random(g, 1);
        Trainer whole = Trainer.open(g, w, clippedAdam(), java1());
        Trainer split = Trainer.open(g, w, clippedAdam(), java1())) {
      for (int i = 0; i < 4; i++) {
        try (Batch b = Batch.random(i)) {
          double expected = whole.step(b.inputs(), b.labels());
          double loss = split.backward(b.inputs(), b.labels());
          assertEquals(expected, loss, 0, "loss of step " + (i + 1));
          try (Weights grads = split.gradients()) {
            split.apply(grads);
          }
        }
        assertEquals(whole.steps(), split.steps());
        assertEquals(whole.gradientNorm(), split.gradientNorm(), 0);
        assertTrue(whole.gradientNorm() > 0.05, "the clip is exercised");
        try (Weights a = whole.weights();
            Weights b = split.weights();
            Weights ga = whole.gradients();
            Weights gb = split.gradients()) {
          assertSameBits(a, b, "weights after step " + (i + 1));
          assertSameBits(ga, gb, "gradients of step " + (i + 1));
        }
      }
    }
  }

  @Test
  void backwardUpdatesNothingAndUsesTheNextStepsMasks() {
    Graph g = classifierWithDropout();
    try (Weights w = Weights.random(g, 2);
        Trainer t = Trainer.open(g, w, clippedAdam(), java1());
        Trainer other = Trainer.open(g, w, clippedAdam(), java1());
        Batch b = Batch.random(7);
        Batch next = Batch.random(8)) {
      assertEquals(0, t.gradients().names().size(), "no gradients before the first backward");
      t.step(b.inputs(), b.labels());
      other.step(b.inputs(), b.labels());
      Map<String, float[]> before = values(t.weights());
      double first = t.backward(next.inputs(), next.labels());
      double again = t.backward(next.inputs(), next.labels());
      assertEquals(first, again, 0, "the same masks and weights: the same loss");
      assertEquals(1, t.steps());
      Map<String, float[]> after = values(t.weights());
      for (String n : before.keySet()) {
        assertArrayEquals(before.get(n), after.get(n), 0f, n + " changed by backward");
      }
      // step 2 of a trainer that did not call backward sees the same masks, loss and gradients
      assertEquals(other.step(next.inputs(), next.labels()), first, 0);
      try (Weights ga = other.gradients();
          Weights gb = t.gradients()) {
        assertSameBits(ga, gb, "gradients of step 2");
      }
    }
  }

  /**
   * The premise of synchronous data-parallel training with a mean loss: the row-weighted mean of
   * the gradients of a batch's parts is the batch's gradient. Equal up to float summation order
   * (the parts are summed separately), so within 1e-6 of the largest element, not bit for bit.
   */
  @Test
  void rowWeightedMeanOfPartGradientsIsTheBatchGradient() {
    Graph g = TrainerTest.classifier();
    int cut = 3; // rows [0, 3) and [3, 8): unequal parts, so the weighting matters
    try (Weights w = Weights.random(g, 4);
        Trainer t = Trainer.open(g, w, clippedAdam(), java1());
        Batch b = Batch.random(11);
        Batch first = part(b, 0, cut);
        Batch second = part(b, cut, TrainerTest.BATCH)) {
      double lossAll = t.backward(b.inputs(), b.labels());
      Weights all = t.gradients();
      double loss1 = t.backward(first.inputs(), first.labels());
      Weights g1 = t.gradients();
      double loss2 = t.backward(second.inputs(), second.labels());
      Weights g2 = t.gradients();
      try (all;
          g1;
          g2) {
        double a = (double) cut / TrainerTest.BATCH;
        assertEquals(lossAll, a * loss1 + (1 - a) * loss2, 1e-6);
        float max = 0;
        for (String n : all.names()) {
          for (float v : all.get(n).toFloatArray()) {
            max = Math.max(max, Math.abs(v));
          }
        }
        for (String n : all.names()) {
          float[] expected = all.get(n).toFloatArray();
          float[] x = g1.get(n).toFloatArray();
          float[] y = g2.get(n).toFloatArray();
          for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], a * x[i] + (1 - a) * y[i], 1e-6 * max, n + "[" + i + "]");
          }
        }
        // and not merely the plain mean of the parts
        float[] e = all.get("linear.bias").toFloatArray();
        float[] x = g1.get("linear.bias").toFloatArray();
        float[] y = g2.get("linear.bias").toFloatArray();
        assertNotEquals(e[0], (x[0] + y[0]) / 2, 1e-4);
      }
    }
  }

  /** Rows [from, to) of a time-major batch. */
  static Batch part(Batch b, int from, int to) {
    int steps = b.ids().dim(0);
    int n = b.ids().dim(1);
    int[] ids = b.ids().toIntArray();
    int[] labels = b.labels().toIntArray();
    int[] pi = new int[steps * (to - from)];
    for (int t = 0; t < steps; t++) {
      System.arraycopy(ids, t * n + from, pi, t * (to - from), to - from);
    }
    return new Batch(
        Tensor.of(pi, steps, to - from),
        Tensor.of(java.util.Arrays.copyOfRange(labels, from, to), to - from));
  }

  @Test
  void applyNamesAMissingExtraMisShapedOrNonFiniteGradient() {
    Graph g = TrainerTest.classifier();
    try (Weights w = Weights.random(g, 5);
        Trainer t = Trainer.open(g, w, clippedAdam(), java1());
        Batch b = Batch.random(1)) {
      t.backward(b.inputs(), b.labels());
      Map<String, float[]> before = values(t.weights());
      try (Weights grads = t.gradients()) {
        Weights missing = Weights.empty();
        for (String n : grads.names()) {
          if (!n.equals("linear.bias")) {
            missing.put(n, grads.get(n).copy());
          }
        }
        var e1 = assertThrows(IllegalArgumentException.class, () -> t.apply(missing));
        assertTrue(
            e1.getMessage().contains("no gradient for weight 'linear.bias'"), e1::getMessage);
        missing.close();

        Weights extra = Weights.empty();
        grads.names().forEach(n -> extra.put(n, grads.get(n).copy()));
        extra.put("lstm.l9.fwd.W", Tensor.allocate(DType.F32, 1));
        var e2 = assertThrows(IllegalArgumentException.class, () -> t.apply(extra));
        assertTrue(e2.getMessage().contains("'lstm.l9.fwd.W' is not a weight"), e2::getMessage);
        extra.close();

        Weights shaped = Weights.empty();
        grads.names().forEach(n -> shaped.put(n, grads.get(n).copy()));
        shaped.put("linear.bias", Tensor.allocate(DType.F32, 1, 2));
        var e3 = assertThrows(IllegalArgumentException.class, () -> t.apply(shaped));
        assertTrue(
            e3.getMessage().contains("'linear.bias' must be F32 [2], got F32 [1, 2]"),
            e3::getMessage);
        shaped.close();

        grads.get("linear.weight").setFloat(3, Float.NaN);
        var e4 = assertThrows(IllegalStateException.class, () -> t.apply(grads));
        assertTrue(
            e4.getMessage().contains("step 1: the gradient of weight 'linear.weight' is NaN"),
            e4::getMessage);
      }
      assertEquals(0, t.steps());
      Map<String, float[]> after = values(t.weights());
      for (String n : before.keySet()) {
        assertArrayEquals(before.get(n), after.get(n), 0f, n + " changed by a refused apply");
      }
    }
  }
}
