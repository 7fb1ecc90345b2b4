package dev.jrnn;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training session through the public API. */
class TrainerTest {

  static final int VOCAB = 6;
  static final int STEPS = 5;
  static final int BATCH = 8;

  /** Tokens → embedding → LSTM → last step → linear: two classes, "does token 1 appear". */
  static Graph classifier() {
    return Graph.build(
        b -> {
          Value ids = b.input("ids", DType.I32, dyn("T"), dyn("N"));
          Value x = b.embedding(ids, VOCAB, 4);
          Value y = b.recurrent(x, Recurrent.lstm(8));
          b.output("logits", b.linear(b.lastStep(y), 2));
        });
  }

  /** A batch of random sequences over tokens 0..VOCAB-1 and their labels. */
  record Batch(Tensor ids, Tensor labels) implements AutoCloseable {
    static Batch random(long seed) {
      Random r = new Random(seed);
      int[] ids = new int[STEPS * BATCH];
      int[] labels = new int[BATCH];
      for (int n = 0; n < BATCH; n++) {
        boolean one = r.nextBoolean();
        for (int t = 0; t < STEPS; t++) {
          int id = 2 + r.nextInt(VOCAB - 2);
          ids[t * BATCH + n] = id;
        }
        if (one) {
          ids[r.nextInt(STEPS) * BATCH + n] = 1;
        }
        labels[n] = one ? 1 : 0;
      }
      return new Batch(Tensor.of(ids, STEPS, BATCH), Tensor.of(labels, BATCH));
    }

    Map<String, Tensor> inputs() {
      return Map.of("ids", ids);
    }

    @Override
    public void close() {
      ids.close();
      labels.close();
    }
  }

  static Training adam() {
    return Training.of(Loss.crossEntropy("logits"), Optimizer.adam(0.05).clipNorm(1)).seed(3);
  }

  @Test
  void lossFallsOnALearnableTask() {
    Graph g = classifier();
    try (Weights w = Weights.random(g, 1);
        Trainer t = Trainer.open(g, w, adam(), Options.backend("reference"));
        Batch test = Batch.random(999)) {
      double before = t.evaluate(test.inputs(), test.labels());
      for (int i = 0; i < 60; i++) {
        try (Batch b = Batch.random(i)) {
          assertTrue(Double.isFinite(t.step(b.inputs(), b.labels())));
        }
      }
      double after = t.evaluate(test.inputs(), test.labels());
      System.out.printf("toy classifier: held-out loss %.4f -> %.4f%n", before, after);
      assertTrue(after < 0.5 * before, "loss " + before + " -> " + after);
      assertEquals(60, t.steps());
      assertTrue(t.gradientNorm() > 0);
    }
  }

  @Test
  void sameSeedSameWeights() {
    float[] a = train(adam(), 4);
    float[] b = train(adam(), 4);
    assertArrayEquals(a, b);
    float[] c = train(Training.of(Loss.crossEntropy("logits"), Optimizer.adam(0.05)).seed(4), 4);
    assertTrue(c.length == a.length);
  }

  private static float[] train(Training how, int steps) {
    Graph g = classifier();
    try (Weights w = Weights.random(g, 1);
        Trainer t = Trainer.open(g, w, how, Options.backend("reference"))) {
      for (int i = 0; i < steps; i++) {
        try (Batch b = Batch.random(i)) {
          t.step(b.inputs(), b.labels());
        }
      }
      try (Weights out = t.weights()) {
        return out.get("lstm.l0.fwd.R").toFloatArray();
      }
    }
  }

  @Test
  void checkpointResumesExactly(@TempDir Path dir) {
    Graph g = classifier();
    Path ckpt = dir.resolve("ckpt.jrnn");
    float[] straight;
    try (Weights w = Weights.random(g, 1);
        Trainer t = Trainer.open(g, w, adam(), Options.backend("reference"))) {
      for (int i = 0; i < 6; i++) {
        try (Batch b = Batch.random(i)) {
          t.step(b.inputs(), b.labels());
        }
        if (i == 2) {
          t.saveCheckpoint(ckpt);
        }
      }
      try (Weights out = t.weights()) {
        straight = out.get("lstm.l0.fwd.W").toFloatArray();
      }
    }
    try (Trainer t = Trainer.resume(ckpt, adam(), Options.backend("reference"))) {
      assertEquals(3, t.steps());
      for (int i = 3; i < 6; i++) {
        try (Batch b = Batch.random(i)) {
          t.step(b.inputs(), b.labels());
        }
      }
      try (Weights out = t.weights()) {
        assertArrayEquals(straight, out.get("lstm.l0.fwd.W").toFloatArray());
      }
    }
    try (Model m = Model.load(ckpt);
        Session s = m.open(Options.backend("reference"));
        Batch b = Batch.random(0);
        Result r = s.run(b.inputs())) {
      assertEquals(BATCH * 2, r.get("logits").size(), "a checkpoint is also a model");
    }
  }

  @Test
  void metadataTravelsWithModelsAndCheckpoints(@TempDir Path dir) {
    Graph g = classifier();
    Path ckpt = dir.resolve("ckpt.jrnn");
    Path model = dir.resolve("model.jrnn");
    try (Weights w = Weights.random(g, 1).putMetadata("app.tokenizer", "{\"chars\":\"ab\"}");
        Trainer t = Trainer.open(g, w, adam(), Options.backend("java"))) {
      t.putMetadata("app.epoch", "3");
      assertEquals(Map.of("app.tokenizer", "{\"chars\":\"ab\"}", "app.epoch", "3"), t.metadata());
      t.saveCheckpoint(ckpt);
      try (Model m = t.model()) {
        m.save(model);
      }
    }
    try (Model m = Model.load(model)) {
      assertEquals(
          Map.of("app.tokenizer", "{\"chars\":\"ab\"}", "app.epoch", "3"), m.weights().metadata());
    }
    try (Trainer t = Trainer.resume(ckpt, adam(), Options.backend("java"))) {
      assertEquals("3", t.metadata().get("app.epoch"));
      try (Weights w = t.weights()) {
        assertEquals("{\"chars\":\"ab\"}", w.metadata().get("app.tokenizer"));
      }
    }
  }

  @Test
  void aNonFiniteLossStopsNamingTheStepAndLeavesTheWeights() {
    Graph g = classifier();
    try (Weights w = Weights.random(g, 1);
        Trainer t = Trainer.open(g, w, adam(), Options.backend("reference"));
        Batch b = Batch.random(1)) {
      t.step(b.inputs(), b.labels());
      // A NaN embedding row: a fresh trainer on poisoned weights fails at its first step.
      try (Weights nan = t.weights()) {
        nan.get("embedding.weight").setFloat(2 * 4, Float.NaN);
        try (Trainer u = Trainer.open(g, nan, adam(), Options.backend("reference"))) {
          var e = assertThrows(IllegalStateException.class, () -> u.step(b.inputs(), b.labels()));
          assertTrue(
              e.getMessage().startsWith("step 1: the loss on output 'logits' is NaN"),
              e.getMessage());
          try (Weights after = u.weights()) {
            assertTrue(Float.isNaN(after.get("embedding.weight").getFloat(8)));
            assertEquals(
                nan.get("linear.weight").getFloat(0), after.get("linear.weight").getFloat(0));
            assertEquals(0, u.steps());
          }
        }
      }
    }
  }

  @Test
  void badConfigurationsAreClearErrors() {
    Graph g = classifier();
    try (Weights w = Weights.random(g, 1)) {
      var e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  Trainer.open(
                      g,
                      w,
                      Training.of(Loss.mse("y"), Optimizer.sgd(0.1)),
                      Options.backend("reference")));
      assertTrue(
          e.getMessage().contains("output 'y'") && e.getMessage().contains("logits"),
          e.getMessage());
      try (Trainer t = Trainer.open(g, w, adam(), Options.backend("reference"));
          Batch b = Batch.random(1);
          Tensor wrong = Tensor.of(new int[] {0, 1, 0}, 3)) {
        var m = assertThrows(IllegalArgumentException.class, () -> t.step(b.inputs(), wrong));
        assertTrue(m.getMessage().contains("target"), m.getMessage());
        assertEquals(0, t.steps());
      }
    }
  }

  @Test
  void evaluateAndRunChangeNothing() {
    Graph g = classifier();
    try (Weights w = Weights.random(g, 1);
        Trainer t = Trainer.open(g, w, adam(), Options.backend("reference"));
        Session s = Session.open(g, w, Options.backend("reference"));
        Batch b = Batch.random(1);
        Result want = s.run(b.inputs());
        Result got = t.run(b.inputs())) {
      assertArrayEquals(want.get("logits").toFloatArray(), got.get("logits").toFloatArray());
      double l1 = t.evaluate(b.inputs(), b.labels());
      double l2 = t.evaluate(b.inputs(), b.labels());
      assertEquals(l1, l2);
      assertEquals(0, t.steps());
    }
  }

  @Test
  void dropoutIsOnInStepsOnlyAndFollowsTheSeed() {
    Graph g =
        Graph.build(
            b -> {
              Value ids = b.input("ids", DType.I32, dyn("T"), dyn("N"));
              Value x = b.dropout(b.embedding(ids, VOCAB, 4), 0.5);
              Value y =
                  b.recurrent(x, Recurrent.gru(6).layers(2).dropout(0.3).recurrentDropout(0.3));
              b.output("logits", b.linear(b.lastStep(y), 2));
            });
    Training how = Training.of(Loss.crossEntropy("logits"), Optimizer.sgd(0.5));
    try (Weights w = Weights.random(g, 1);
        Session s = Session.open(g, w, Options.backend("reference"));
        Trainer a = Trainer.open(g, w, how.seed(1), Options.backend("reference"));
        Trainer b = Trainer.open(g, w, how.seed(1), Options.backend("reference"));
        Trainer c = Trainer.open(g, w, how.seed(2), Options.backend("reference"));
        Batch batch = Batch.random(5);
        Result want = s.run(batch.inputs());
        Result got = a.run(batch.inputs())) {
      assertArrayEquals(want.get("logits").toFloatArray(), got.get("logits").toFloatArray());
      double clean = a.evaluate(batch.inputs(), batch.labels());
      double la = a.step(batch.inputs(), batch.labels());
      double lb = b.step(batch.inputs(), batch.labels());
      double lc = c.step(batch.inputs(), batch.labels());
      assertEquals(la, lb, "same seed, same masks");
      assertTrue(
          la != lc && la != clean,
          "masks differ by seed and from no dropout: " + la + " " + lc + " " + clean);
    }
  }

  @Test
  void javaTrainsToTheSameBitsAtAnyThreadCount() {
    Graph g =
        Graph.build(
            b -> {
              Value ids = b.input("ids", DType.I32, dyn("T"), dyn("N"));
              Value x = b.dropout(b.embedding(ids, VOCAB, 24), 0.2);
              Value y = b.recurrent(x, Recurrent.lstm(40).bidirectional().layers(2));
              b.output("logits", b.linear(b.lastStep(y), 2));
            });
    float[][] got = new float[3][];
    for (int threads = 1; threads <= 3; threads++) {
      try (Weights w = Weights.random(g, "keras", 1);
          Trainer t = Trainer.open(g, w, adam(), Options.backend("java").threads(threads))) {
        assertTrue(
            t.placement().values().stream().allMatch("java"::equals), t.placement().toString());
        for (int i = 0; i < 3; i++) {
          try (Batch b = Batch.random(i)) {
            t.step(b.inputs(), b.labels());
          }
        }
        try (Weights out = t.weights()) {
          got[threads - 1] = out.get("lstm.l1.rev.R").toFloatArray();
        }
      }
    }
    assertArrayEquals(got[0], got[1], "1 vs 2 threads");
    assertArrayEquals(got[0], got[2], "1 vs 3 threads");
  }
}
