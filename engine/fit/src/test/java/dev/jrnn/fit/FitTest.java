package dev.jrnn.fit;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Model;
import dev.jrnn.Optimizer;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Training;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fit loop on a tiny learnable task: "does token 1 appear in the sequence". */
class FitTest {

  static final int VOCAB = 6;
  static final int STEPS = 5;
  static final int BATCH = 8;
  static final Options REFERENCE = Options.backend("reference");

  /** Tokens → embedding → LSTM → (dropout) → last step → linear: two classes. */
  static Graph classifier(double dropout) {
    return Graph.build(
        b -> {
          Value ids = b.input("ids", DType.I32, dyn("T"), dyn("N"));
          Value x = b.embedding(ids, VOCAB, 4);
          Value y = b.recurrent(x, Recurrent.lstm(8));
          Value last = b.lastStep(y);
          b.output("logits", b.linear(dropout > 0 ? b.dropout(last, dropout) : last, 2));
        });
  }

  /** Batch {@code i} of the data set with seed {@code seed}: fresh tensors, the caller closes. */
  static Batch batch(long seed, int i) {
    Random r = new Random(seed * 1_000 + i);
    int[] ids = new int[STEPS * BATCH];
    int[] labels = new int[BATCH];
    for (int n = 0; n < BATCH; n++) {
      boolean one = r.nextBoolean();
      for (int t = 0; t < STEPS; t++) {
        ids[t * BATCH + n] = 2 + r.nextInt(VOCAB - 2);
      }
      if (one) {
        ids[r.nextInt(STEPS) * BATCH + n] = 1;
      }
      labels[n] = one ? 1 : 0;
    }
    return new Batch(Map.of("ids", Tensor.of(ids, STEPS, BATCH)), Tensor.of(labels, BATCH), BATCH);
  }

  static Batches train() {
    return Batches.shuffled(6, 11, i -> batch(1, i));
  }

  static Batches validation() {
    return Batches.ordered(2, i -> batch(2, i));
  }

  static Training adam() {
    return Training.of(Loss.crossEntropy("logits"), Optimizer.adam(0.05).clipNorm(1)).seed(3);
  }

  static Fit.Builder base() {
    return Fit.builder(adam())
        .options(REFERENCE)
        .validation(validation())
        .metrics(Metrics.accuracy(), Metrics.f1())
        .progress(Progress.quiet());
  }

  @Test
  void lossFallsAndTheLogsFollow(@TempDir Path dir) throws Exception {
    Graph g = classifier(0);
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    List<Callback.Step> steps = new ArrayList<>();
    Fit fit =
        base()
            .epochs(6)
            .csv(dir.resolve("metrics.csv"))
            .plot(dir.resolve("curves.png"))
            .progress(Progress.plain(new PrintStream(text, true, StandardCharsets.UTF_8)))
            .onStep(steps::add)
            .build();
    try (Weights w = Weights.random(g, 1);
        Fitted f = fit.run(g, w, train())) {
      History h = f.history();
      double[] loss = h.column("loss");
      double[] val = h.column("val_loss");
      System.out.printf(
          "fit: loss %.4f -> %.4f, val_loss %.4f -> %.4f, val_accuracy %s%n",
          loss[0], loss[5], val[0], val[5], java.util.Arrays.toString(h.column("val_accuracy")));
      assertEquals(6, h.epochs().size());
      assertTrue(loss[5] < 0.7 * loss[0], "loss " + loss[0] + " -> " + loss[5]);
      assertTrue(val[5] < 0.7 * val[0], "val_loss " + val[0] + " -> " + val[5]);
      assertTrue(h.column("val_accuracy")[5] > 0.8);
      assertEquals(36, f.trainer().steps());
      assertEquals(36, steps.size());
      assertEquals(6, steps.getLast().batch());
      assertEquals(36, steps.getLast().globalStep());
      assertEquals(0.05, h.epochs().getFirst().learningRate(), 1e-12);

      List<String> csv = Files.readAllLines(dir.resolve("metrics.csv"));
      assertEquals(
          "epoch,loss,val_loss,val_accuracy,val_f1,lr,seconds,sequences_per_s", csv.getFirst());
      assertEquals(1 + 6, csv.size());
      String[] row = csv.get(3).split(",", -1);
      assertEquals(8, row.length);
      assertEquals("3", row[0]);
      assertEquals(loss[2], Double.parseDouble(row[1]));

      String[] lines = text.toString(StandardCharsets.UTF_8).split("\n");
      assertEquals(6, lines.length, text.toString(StandardCharsets.UTF_8));
      for (int e = 1; e <= 6; e++) {
        String l = lines[e - 1];
        assertTrue(l.startsWith("epoch " + e + "/6 - loss "), l);
        assertTrue(l.contains(" - val_loss ") && l.contains(" - val_accuracy "), l);
        assertTrue(l.contains(" - val_f1 ") && l.endsWith(" seq/s"), l);
      }
      PlotsTest.assertPng(dir.resolve("curves.png"), 2 * Plots.WIDTH, Plots.HEIGHT);
    }
  }

  /** A metric that reports a given value per validation pass, to script a monitored curve. */
  static final class Scripted implements Metric {
    private final double[] values;
    private int pass = -1;

    Scripted(double... values) {
      this.values = values;
    }

    @Override
    public String name() {
      return "scripted";
    }

    @Override
    public void reset() {
      pass++;
    }

    @Override
    public void update(Predictions batch) {}

    @Override
    public double value() {
      return values[pass];
    }
  }

  @Test
  void earlyStoppingStopsAfterPatienceAndRestoresTheBest(@TempDir Path dir) {
    Graph g = classifier(0);
    // best at epoch 2; epochs 3 and 4 do not improve by more than 0.005 → stop after 4
    Fit fit =
        Fit.builder(adam())
            .options(REFERENCE)
            .epochs(8)
            .validation(validation())
            .metrics(new Scripted(0.5, 0.4, 0.45, 0.396, 0.1, 0.1, 0.1, 0.1))
            .monitor("val_scripted", Fit.Mode.MIN)
            .minDelta(0.005)
            .earlyStopping(2)
            .restoreBest(true)
            .checkpoints(dir)
            .progress(Progress.quiet())
            .build();
    try (Weights w = Weights.random(g, 1);
        Fitted f = fit.run(g, w, train());
        Model best = Model.load(dir.resolve(Fit.BEST));
        Model last = Model.load(dir.resolve(Fit.LAST));
        Weights restored = f.trainer().weights()) {
      History h = f.history();
      assertEquals(4, h.epochs().size());
      assertEquals(4, h.stoppedEpoch());
      assertEquals(2, h.bestEpoch());
      assertEquals(0.4, h.best());
      assertEquals("2", best.weights().metadata().get("fit.epoch"));
      assertEquals("4", last.weights().metadata().get("fit.epoch"));
      assertEquals("2", last.weights().metadata().get("fit.wait"));
      assertEquals(12, f.trainer().steps(), "the trainer of epoch 2");
      boolean differsFromLast = false;
      for (String name : restored.names()) {
        float[] r = restored.get(name).toFloatArray();
        assertArrayEquals(best.weights().get(name).toFloatArray(), r, name);
        differsFromLast |= !java.util.Arrays.equals(last.weights().get(name).toFloatArray(), r);
      }
      assertTrue(differsFromLast, "the last epoch's weights are not the best's");
    }
  }

  @Test
  void resumeFromLastContinuesExactly(@TempDir Path dir) throws Exception {
    History h =
        resumeMatchesStraight(
            dir, () -> base().monitor("val_accuracy").earlyStopping(3).restoreBest(true), 4, 2);
    assertEquals(4, h.epochs().size());
    assertFalse(h.stoppedEarly());
  }

  @Test
  void resumeRestoresThePatienceCounterAndTheBest(@TempDir Path dir) throws Exception {
    // the training loss falls, so "higher is better" makes epoch 1 the best and every later epoch
    // a miss: with patience 2 the run stops after epoch 3 — only if the resumed run knows that
    // epoch 2 already missed — and the weights come back from epoch 1's best.jrnn
    History h =
        resumeMatchesStraight(
            dir,
            () -> base().monitor("loss", Fit.Mode.MAX).earlyStopping(2).restoreBest(true),
            6,
            2);
    assertEquals(3, h.stoppedEpoch());
    assertEquals(1, h.bestEpoch());
  }

  /**
   * Runs {@code fit} to {@code epochs} in one go, and again stopped after {@code breakAfter} epochs
   * and resumed from last.jrnn; checks that the two end bit for bit alike, returns the history.
   */
  private static History resumeMatchesStraight(
      Path dir, Supplier<Fit.Builder> fit, int epochs, int breakAfter) throws Exception {
    Graph g = classifier(0.25); // dropout: the masks must continue too
    Path straight = dir.resolve("straight");
    Path broken = dir.resolve("broken");
    Map<String, byte[]> expected;
    History full;
    long steps;
    try (Weights w = Weights.random(g, 1);
        Fitted f = fit.get().epochs(epochs).checkpoints(straight).build().run(g, w, train());
        Weights out = f.trainer().weights()) {
      expected = all(out);
      full = f.history();
      steps = f.trainer().steps();
    }
    Path csv = broken.resolve("metrics.csv");
    try (Weights w = Weights.random(g, 1);
        Fitted f =
            fit.get().epochs(breakAfter).checkpoints(broken).csv(csv).build().run(g, w, train())) {
      assertEquals(breakAfter, f.history().epochs().size());
    }
    try (Fitted f =
            fit.get()
                .epochs(epochs)
                .checkpoints(broken)
                .csv(csv)
                .build()
                .resume(broken.resolve(Fit.LAST), train());
        Weights out = f.trainer().weights()) {
      assertSameBits(expected, all(out));
      assertEquals(steps, f.trainer().steps());
      History h = f.history();
      assertEquals(full.epochs().size(), h.epochs().size());
      assertArrayEquals(full.column("loss"), h.column("loss"));
      assertArrayEquals(full.column("val_loss"), h.column("val_loss"));
      assertEquals(full.bestEpoch(), h.bestEpoch());
      assertEquals(full.stoppedEpoch(), h.stoppedEpoch());
      assertEquals(1 + h.epochs().size(), Files.readAllLines(csv).size());
      try (Model a = Model.load(straight.resolve(Fit.LAST));
          Model b = Model.load(broken.resolve(Fit.LAST))) {
        assertSameBits(all(a.weights()), all(b.weights()));
      }
      return h;
    }
  }

  /** Every tensor's bytes, by sorted name: F32 weights and I32 optimizer counters alike. */
  private static Map<String, byte[]> all(Weights w) {
    Map<String, byte[]> m = new java.util.TreeMap<>();
    w.names().forEach(n -> m.put(n, w.get(n).segment().toArray(ValueLayout.JAVA_BYTE)));
    return m;
  }

  private static void assertSameBits(Map<String, byte[]> expected, Map<String, byte[]> got) {
    assertEquals(expected.keySet(), got.keySet());
    expected.forEach((n, bytes) -> assertArrayEquals(bytes, got.get(n), n));
  }

  @Test
  void resumeChecksThatItIsTheSameRun(@TempDir Path dir) {
    Graph g = classifier(0);
    try (Weights w = Weights.random(g, 1);
        Fitted f = base().epochs(1).checkpoints(dir).build().run(g, w, train())) {
      assertEquals(1, f.history().epochs().size());
    }
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> base().epochs(2).monitor("loss").build().resume(dir.resolve(Fit.LAST), train()));
    assertTrue(e.getMessage().contains("val_loss"), e.getMessage());
  }

  @Test
  void theBarReportsEachEpoch(@TempDir Path dir) {
    Graph g = classifier(0);
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    try (Weights w = Weights.random(g, 1);
        Fitted f =
            base()
                .epochs(2)
                .progress(Progress.bar(new PrintStream(text, true, StandardCharsets.UTF_8)))
                .build()
                .run(g, w, train())) {
      String out = text.toString(StandardCharsets.UTF_8);
      assertTrue(out.contains("epoch 1/2") && out.contains("epoch 2/2"), out);
      assertTrue(out.contains("val_accuracy"), out);
      assertEquals(2, f.history().epochs().size());
    }
  }

  @Test
  void buildRefusesWhatItCannotReport() {
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Fit.builder(adam()).metrics(Metrics.accuracy()).build());
    assertTrue(e.getMessage().contains("validation"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> base().monitor("val_auc").build());
    assertTrue(e.getMessage().contains("val_accuracy"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> base().metrics(Metrics.macroF1()).build());
  }
}
