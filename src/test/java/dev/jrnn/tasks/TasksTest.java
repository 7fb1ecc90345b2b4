package dev.jrnn.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.data.Labeled;
import dev.jrnn.data.Labels;
import dev.jrnn.data.Normalizer;
import dev.jrnn.data.Tokenizer;
import dev.jrnn.fit.Progress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The three tasks on small slices of their default data, and their bad inputs. */
class TasksTest {

  private static final PrintStream QUIET =
      new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

  private static TaskOptions small(TaskOptions o, Path dir) {
    return o.out(QUIET).progress(Progress.quiet()).outputDir(dir).threads(2);
  }

  @Test
  void classifierLearnsSpamFromASliceAndSavesWhatRunNeeds(@TempDir Path dir) {
    Report r =
        ClassifyTask.spamAssassin()
            .maxLength(60)
            .run(
                small(ClassifyTask.defaults(), dir)
                    .limit(600)
                    .epochs(3)
                    .hidden(16)
                    .batch(16)
                    .lr(5e-3));
    double[] loss = r.history().column("loss");
    System.out.printf(
        "classify slice: loss %s, test accuracy %.3f (majority %.3f)%n",
        java.util.Arrays.toString(loss),
        r.metric("accuracy"),
        r.baselines().get("majority/accuracy"));
    assertTrue(
        loss[loss.length - 1] < loss[0], "training loss falls: " + java.util.Arrays.toString(loss));
    assertTrue(
        r.metric("accuracy") > r.baselines().get("majority/accuracy"), "beats the majority class");
    for (Path f : r.files()) {
      assertTrue(Files.isRegularFile(f), f + " written");
    }
    try (Model m = Model.load(r.model())) {
      assertEquals("classify", m.weights().metadata().get("jrnn.task"));
      Tokenizer t = Tokenizer.from(m.weights());
      Labels labels = Labels.from(m.weights());
      assertEquals(List.of("ham", "spam"), labels.classes());
      int[] ids = t.encode(ClassifyTask.mailText("Subject: cheap pills\n\nbuy now"));
      try (Session s = m.open(Options.backend("java"));
          Tensor tokens = Tensor.of(ids, ids.length, 1);
          Tensor lengths = Tensor.of(new int[] {ids.length}, 1);
          Result out = s.run(Map.of(ClassifyTask.TOKENS, tokens, ClassifyTask.LENGTHS, lengths))) {
        assertTrue(Float.isFinite(out.get(ClassifyTask.LOGIT).toFloatArray()[0]));
      }
    }
  }

  @Test
  void charModelLearnsNamesAndGeneratesReproducibly(@TempDir Path dir) {
    Report r =
        CharsTask.firstNames()
            .samples(2)
            .run(small(CharsTask.defaults(), dir).limit(1500).epochs(3).hidden(32));
    System.out.printf(
        "chars slice: test perplexity %.2f (unigram %.2f), samples %s%n",
        r.metric("perplexity"), r.baselines().get("unigram/perplexity"), r.samples());
    assertTrue(r.metric("perplexity") < r.baselines().get("unigram/perplexity"));
    assertEquals(r.metric("bits_per_char"), Math.log(r.metric("perplexity")) / Math.log(2), 1e-9);
    // the same model with bf16 and int8 weight matrices: close to f32, and not f32 itself
    for (String p : new String[] {"bf16", "int8"}) {
      double q = r.metric("perplexity " + p);
      assertTrue(Math.abs(q / r.metric("perplexity") - 1) < 0.02, p + " perplexity " + q);
      assertTrue(q != r.metric("perplexity"), p + " perplexity equals f32's");
    }
    // the validation loss pools characters, not names: it is the log of the perplexity
    double[] valLoss = r.history().column("val_loss");
    double[] valPerplexity = r.history().column("val_perplexity");
    for (int e = 0; e < valLoss.length; e++) {
      assertEquals(Math.log(valPerplexity[e]), valLoss[e], 1e-5, "epoch " + (e + 1));
    }
    assertEquals(2, r.samples().size());
    try (Generator g = Generator.open(r.model(), Options.backend("java"))) {
      String a = g.sample("Ma", 30, 0.8, 0, 5);
      assertEquals(a, g.sample("Ma", 30, 0.8, 0, 5), "same seed, same text");
      List<String> others = new ArrayList<>();
      for (int s = 6; s < 12; s++) {
        others.add(g.sample("Ma", 30, 0.8, 0, s));
      }
      assertTrue(others.stream().anyMatch(o -> !o.equals(a)), "other seeds, other text");
      assertTrue(g.sample("", 7, 1.0, 0, 1).length() <= 7, "length caps a sample");
    }
  }

  @Test
  void forecasterTrainsOnASliceAndPlotsTheTestSplit(@TempDir Path dir) {
    Report r =
        SeriesTask.usBirths()
            .window(14)
            .run(small(SeriesTask.defaults(), dir).limit(800).epochs(3).hidden(8));
    assertTrue(r.metric("rmse") > 0);
    assertEquals(Math.sqrt(r.metric("mse")), r.metric("rmse"), 1e-6 * r.metric("rmse"));
    assertTrue(Files.isRegularFile(dir.resolve(SeriesTask.FORECAST)));
    try (Model m = Model.load(r.model())) {
      Normalizer n = Normalizer.from(m.weights());
      assertTrue(n.std() > 1000, "births vary by thousands: " + n);
      assertEquals("14", m.weights().metadata().get(SeriesTask.WINDOW_KEY));
    }
  }

  @Test
  void theSameSeedGivesTheSameModel(@TempDir Path dir) throws Exception {
    double[] series = new double[200];
    for (int i = 0; i < series.length; i++) {
      series[i] = Math.sin(i * 0.3) + 0.1 * (i % 7);
    }
    Report a =
        SeriesTask.of(series, "a sine")
            .window(10)
            .run(small(SeriesTask.defaults(), dir.resolve("a")).epochs(2).hidden(8));
    Report b =
        SeriesTask.of(series, "a sine")
            .window(10)
            .run(small(SeriesTask.defaults(), dir.resolve("b")).epochs(2).hidden(8));
    Report c =
        SeriesTask.of(series, "a sine")
            .window(10)
            .run(small(SeriesTask.defaults(), dir.resolve("c")).epochs(2).hidden(8).seed(2));
    assertEquals(a.test(), b.test());
    assertNotEquals(a.test(), c.test());
    try (Model ma = Model.load(a.model());
        Model mb = Model.load(b.model())) {
      for (String w : ma.weights().names()) {
        assertArrayEquals(
            ma.weights().get(w).toFloatArray(), mb.weights().get(w).toFloatArray(), w);
      }
    }
  }

  @Test
  void aResumedRunEndsWhereAnUninterruptedOneDoes(@TempDir Path dir) throws Exception {
    double[] series = new double[160];
    for (int i = 0; i < series.length; i++) {
      series[i] = Math.cos(i * 0.2) + 0.05 * (i % 5);
    }
    SeriesTask task = SeriesTask.of(series, "a wave").window(8);
    Report whole =
        task.run(
            small(SeriesTask.defaults(), dir.resolve("whole")).epochs(4).hidden(8).dropout(0.2));
    task.run(small(SeriesTask.defaults(), dir.resolve("split")).epochs(2).hidden(8).dropout(0.2));
    var said = new ByteArrayOutputStream();
    Report resumed =
        task.run(
            small(SeriesTask.defaults(), dir.resolve("split"))
                .epochs(4)
                .hidden(8)
                .dropout(0.2)
                .resume(true)
                .out(new PrintStream(said, true, StandardCharsets.UTF_8)));
    assertTrue(said.toString(StandardCharsets.UTF_8).contains("resuming from"), said.toString());
    assertEquals(4, resumed.history().lastEpoch());
    assertArrayEquals(whole.history().column("loss"), resumed.history().column("loss"));
    assertEquals(whole.test(), resumed.test());
    try (Model a = Model.load(whole.model());
        Model b = Model.load(resumed.model())) {
      for (String w : a.weights().names()) {
        assertArrayEquals(a.weights().get(w).toFloatArray(), b.weights().get(w).toFloatArray(), w);
      }
    }
  }

  @Test
  void aCosineScheduleLowersTheRateOverTheRun(@TempDir Path dir) {
    double[] series = new double[160];
    for (int i = 0; i < series.length; i++) {
      series[i] = Math.sin(i * 0.25);
    }
    Report r =
        SeriesTask.of(series, "a sine")
            .window(8)
            .run(small(SeriesTask.defaults(), dir).epochs(4).hidden(4).lr(0.01).schedule("cosine"));
    double[] lr = r.history().column("lr");
    for (int e = 1; e < lr.length; e++) {
      assertTrue(lr[e] < lr[e - 1], java.util.Arrays.toString(lr));
    }
    // 152 windows, 106 for training: 4 steps per epoch, 16 in all; the last step is step 15 of
    // the cosine from 1 down to 0.01 over 16 steps
    double last = 0.01 * (0.01 + 0.99 * (1 + Math.cos(Math.PI * 15 / 16)) / 2);
    assertEquals(last, lr[lr.length - 1], 1e-12, "the last step's rate");
    assertThrows(IllegalArgumentException.class, () -> SeriesTask.defaults().schedule("linear"));
  }

  @Test
  void baselinesOnHandMadeCases() {
    // majority class: training has 3 positives of 4; the test split answers 1 always
    int[] y = {1, 1, 1, 0, 1, 0, 0};
    var split =
        new dev.jrnn.data.Splits.Split(new int[] {0, 1, 2, 3}, new int[] {4}, new int[] {4, 5, 6});
    Map<String, Double> m = ClassifyTask.majorityBaseline(y, split);
    assertEquals(1 / 3.0, m.get("majority/accuracy"), 1e-12);
    assertEquals(2.0 * 1 / (1 + 3), m.get("majority/f1"), 1e-12); // precision 1/3, recall 1
    // unigram over targets {4, 4, 5} with add-one smoothing over vocab 6 - 2 = 4 outcomes
    List<int[]> seqs = List.of(new int[] {2, 4, 4, 5}, new int[] {2, 4, 5});
    var s2 = new dev.jrnn.data.Splits.Split(new int[] {0}, new int[] {}, new int[] {1});
    Map<String, Double> u = CharsTask.unigramBaseline(seqs, s2, 6);
    double p4 = (2 + 1) / 7.0;
    double p5 = (1 + 1) / 7.0;
    assertEquals(Math.exp(-(Math.log(p4) + Math.log(p5)) / 2), u.get("unigram/perplexity"), 1e-12);
    // naive forecasts: series 0..9 squared, window 3 → targets 3..9
    double[] series = new double[10];
    for (int i = 0; i < 10; i++) {
      series[i] = i * i;
    }
    SeriesTask t = SeriesTask.of(series, "squares").window(3);
    var w = dev.jrnn.data.Windows.of(series, 3, 1, 1);
    Map<String, Double> b = t.naiveBaselines(w, new int[] {5, 6}); // targets 8 and 9
    double e8 = 64 - 49;
    double e9 = 81 - 64;
    assertEquals((e8 * e8 + e9 * e9) / 2, b.get("last_value/mse"), 1e-9);
    assertEquals(((64 - 1) + (81 - 4)) / 2.0, b.get("same_day_last_week/mae"), 1e-9);
    // a horizon of 9: the same weekday the window has seen lies 14 steps back
    double[] longer = new double[40];
    for (int i = 0; i < 40; i++) {
      longer[i] = i * i;
    }
    var w9 = dev.jrnn.data.Windows.of(longer, 3, 9, 1); // window k: values k..k+2, target k+11
    Map<String, Double> b9 =
        SeriesTask.of(longer, "squares").window(3).horizon(9).naiveBaselines(w9, new int[] {10});
    assertEquals(21 * 21 - 7 * 7, b9.get("same_day_last_week/mae"), 1e-9); // target 21, seen 7
    assertEquals(Math.pow(21 * 21 - 12 * 12, 2), b9.get("last_value/mse"), 1e-9);
  }

  @Test
  void aBidirectionalClassifierReadsTheBackwardFinalState(@TempDir Path dir) throws Exception {
    Report r =
        ClassifyTask.spamAssassin()
            .maxLength(30)
            .run(
                small(ClassifyTask.defaults(), dir)
                    .limit(200)
                    .epochs(1)
                    .hidden(8)
                    .layers(1)
                    .bidirectional(true));
    try (Model m = Model.load(r.model())) {
      // the dense layer reads [forward last, backward at the last step, backward final]: 3 x 8
      int[] dense =
          m.graph().weightShapes().values().stream()
              .filter(w -> w.length == 2 && w[0] == 1)
              .findFirst()
              .orElseThrow();
      assertArrayEquals(new int[] {1, 24}, dense);
      // the backward final state has read the whole text: changing the first token changes the
      // output even through a model that saw only one epoch
      Tokenizer t = Tokenizer.from(m.weights());
      int[] a = t.encode("Subject: hello there friend");
      int[] b = a.clone();
      b[0] = Tokenizer.OOV;
      try (Session s = m.open(Options.backend("java"))) {
        assertNotEquals(logit(s, a), logit(s, b));
      }
    }
  }

  private static float logit(Session s, int[] ids) {
    try (Tensor tokens = Tensor.of(ids, ids.length, 1);
        Tensor lengths = Tensor.of(new int[] {ids.length}, 1);
        Result out = s.run(Map.of(ClassifyTask.TOKENS, tokens, ClassifyTask.LENGTHS, lengths))) {
      return out.get(ClassifyTask.LOGIT).toFloatArray()[0];
    }
  }

  @Test
  void aTextIsCutIntoPiecesWithoutLosingItsTail() {
    assertEquals(
        List.of("abc", "def", "g"),
        CharsTask.of(List.of("abcdefg"), false, "t").sequenceLength(3).pieces());
    assertEquals(
        List.of("ab", "c😀"),
        CharsTask.of(List.of("abc😀"), false, "t").sequenceLength(2).pieces());
  }

  @Test
  void drawingHonoursTopKAndNeverDrawsMarks() {
    float[] logits = {9, 9, 9, 0, 1, 5, 2}; // PAD, OOV, START high: never drawn
    double[] p = new double[logits.length];
    var rnd = new java.util.SplittableRandom(1);
    for (int i = 0; i < 200; i++) {
      assertEquals(5, Generator.draw(logits, 1.0, 1, p, rnd));
      int any = Generator.draw(logits, 1.0, 0, p, rnd);
      assertTrue(any >= 3, "drew a mark: " + any);
    }
    float[] ties = {0, 0, 0, 2, 2, 2, 2}; // top-2 of four equal logits: ids 3 and 4 only
    for (int i = 0; i < 200; i++) {
      int id = Generator.draw(ties, 1.0, 2, p, rnd);
      assertTrue(id == 3 || id == 4, "drew " + id);
    }
  }

  @Test
  void badInputsAreClearErrors(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("three.csv");
    Files.writeString(csv, "text,label\nhello,a\nworld,b\nagain,c\n");
    var e1 =
        assertThrows(
            IllegalArgumentException.class,
            () -> ClassifyTask.csv(csv, "text", "label").run(small(ClassifyTask.defaults(), dir)));
    assertTrue(e1.getMessage().contains("a") && e1.getMessage().contains("c"), e1.getMessage());
    var e2 =
        assertThrows(IllegalArgumentException.class, () -> ClassifyTask.csv(csv, "body", "label"));
    assertTrue(
        e2.getMessage().contains("body") && e2.getMessage().contains("text"), e2.getMessage());
    Path empty = dir.resolve("empty.csv");
    Files.writeString(empty, "");
    assertThrows(RuntimeException.class, () -> ClassifyTask.csv(empty, "text", "label"));
    Path series = dir.resolve("s.csv");
    Files.writeString(series, "day,value\n1,3.5\n2,x\n");
    var e3 = assertThrows(IllegalArgumentException.class, () -> SeriesTask.csv(series, "value"));
    assertTrue(
        e3.getMessage().contains("line 3") && e3.getMessage().contains("x"), e3.getMessage());
    var e4 =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                SeriesTask.of(new double[] {1, 2, 3}, "short")
                    .window(5)
                    .run(small(SeriesTask.defaults(), dir)));
    assertTrue(e4.getMessage().contains("5"), e4.getMessage());
    var e5 =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                CharsTask.of(List.of("ab"), true, "x")
                    .run(small(CharsTask.defaults(), dir).bidirectional(true)));
    assertTrue(e5.getMessage().contains("bidirectional"), e5.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ClassifyTask.defaults().cell("lstn"));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            ClassifyTask.of(List.of(new Labeled("a", "x")), "one")
                .run(small(ClassifyTask.defaults(), dir)));
  }
}
