package dev.jrnn.cli;

import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.data.Datasets;
import dev.jrnn.data.Padding;
import dev.jrnn.data.Tokenizer;
import dev.jrnn.fit.Progress;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import dev.jrnn.tasks.CharsTask;
import dev.jrnn.tasks.ClassifyTask;
import dev.jrnn.tasks.Generator;
import dev.jrnn.tasks.Report;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jrnn tour} (what {@code make run} starts): the whole project at work in a few minutes —
 * the backends, a character model trained briefly with samples, saved, reloaded and run on every
 * backend with parity and time, then the spam classifier trained for an epoch.
 */
@Command(
    name = "tour",
    description = {
      "Train, sample, reload, run on every backend, classify spam.",
      "",
      "Lists the backends; trains the character model on the first names for a few epochs and"
          + " prints samples; reloads the saved model and runs it on every available backend"
          + " (max abs difference from 'reference', median time); trains the spam classifier for"
          + " one epoch and prints its test accuracy and where its learning curves went. Files go"
          + " to --output-dir. Exits with status 1 when a backend differs from 'reference' by"
          + " more than 1e-4."
    })
final class TourCommand implements Callable<Integer> {

  @Option(
      names = "--output-dir",
      paramLabel = "DIR",
      description = "Where the tour's models and plots go (default: ${DEFAULT-VALUE}).")
  Path dir = Path.of("runs", "tour");

  @Option(
      names = "--chars-epochs",
      paramLabel = "E",
      converter = AtLeast.One.class,
      description = "Epochs of the character model (default: ${DEFAULT-VALUE}).")
  int charsEpochs = 5;

  @Option(
      names = "--classify-limit",
      paramLabel = "N",
      converter = AtLeast.Zero.class,
      description = "Messages the classifier uses (0: all; default: ${DEFAULT-VALUE}).")
  int classifyLimit;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintStream out = Main.stream(spec);
    var w = new java.io.PrintWriter(out, true);
    out.println("== 1. backends");
    BackendsCommand.print(w);
    w.flush();

    out.println();
    out.println("== 2. a character-level LSTM on English first names (jrnn train chars)");
    Report chars =
        CharsTask.firstNames()
            .samples(8)
            .run(
                CharsTask.defaults()
                    .epochs(charsEpochs)
                    .outputDir(dir.resolve("chars"))
                    .out(out)
                    .progress(Progress.plain(out)));
    chars.print(out);

    out.println();
    out.println("== 3. the saved model reloaded and run on every backend (200 names at once)");
    boolean agree = runEverywhere(chars.model(), out);
    try (Generator g = Generator.open(chars.model(), Options.backend("java"))) {
      out.println(
          "   reloaded, 'jrnn generate --prime Ma --top-k 5': "
              + "Ma"
              + g.sample("Ma", 20, 0.8, 5, 1)
              + ", Ma"
              + g.sample("Ma", 20, 0.8, 5, 2)
              + ", Ma"
              + g.sample("Ma", 20, 0.8, 5, 3));
    }

    out.println();
    out.println(
        "== 4. the spam classifier for one epoch (jrnn train classify; 10 epochs by default)");
    Report spam =
        ClassifyTask.spamAssassin()
            .run(
                ClassifyTask.defaults()
                    .epochs(1)
                    .limit(classifyLimit)
                    .outputDir(dir.resolve("classify"))
                    .out(out)
                    .progress(Progress.plain(out)));
    spam.print(out);
    out.printf(
        Locale.ROOT,
        "%nthe tour: test accuracy %.1f %% after one epoch (majority class %.1f %%); learning"
            + " curves in %s%n",
        100 * spam.metric("accuracy"),
        100 * spam.baselines().get("majority/accuracy"),
        spam.files().get(1));
    out.println(
        agree
            ? "every backend agrees with reference to within 1e-4"
            : "DISAGREEMENT: a backend differs from reference by more than 1e-4");
    return agree ? 0 : 1;
  }

  /** Runs the model on a batch of names on each available backend; false if one disagrees. */
  private static boolean runEverywhere(Path file, PrintStream out) {
    List<String> names = Datasets.firstNames();
    try (Model m = Model.load(file)) {
      Tokenizer t = Tokenizer.from(m.weights());
      List<int[]> seqs = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        seqs.add(t.encode(names.get(i * (names.size() / 200)), true));
      }
      boolean ok = true;
      try (Tensor tokens = Padding.pad(seqs).tokens()) {
        Map<String, Tensor> in = Map.of(CharsTask.TOKENS, tokens);
        float[] reference = null;
        out.printf("   %-10s %12s %10s%n", "backend", "max|diff|", "median ms");
        List<Backend> avail =
            Backends.all().stream().filter(b -> b.availability().available()).toList();
        for (Backend b : DemoCommand.orderReferenceFirst(avail)) {
          try (Session s = m.open(Options.backend(b.name()))) {
            float[][] y = new float[1][];
            double[] ms =
                Timing.time(
                    () -> {
                      try (Result r = s.run(in)) {
                        y[0] = r.get(CharsTask.LOGITS).toFloatArray();
                      }
                    },
                    1,
                    5);
            if (reference == null) {
              reference = y[0];
            }
            double diff = Timing.maxAbsDiff(reference, y[0]);
            ok &= diff <= 1e-4;
            out.printf(Locale.ROOT, "   %-10s %12.2e %10.2f%n", b.name(), diff, Timing.median(ms));
          }
        }
      }
      return ok;
    }
  }
}
