package dev.jrnn.cli;

import dev.jrnn.data.Tokenizer;
import dev.jrnn.tasks.CharsTask;
import dev.jrnn.tasks.ClassifyTask;
import dev.jrnn.tasks.Report;
import dev.jrnn.tasks.SeriesTask;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jrnn train classify | chars | series}: the three tasks of {@code dev.jrnn.tasks} on their
 * default data or the user's, each writing model.jrnn, curves.png and metrics.csv and printing its
 * held-out metrics next to the baselines'.
 */
final class TrainTaskCommands {

  private TrainTaskCommands() {}

  /** Runs a task's report through the shared output. */
  private static int report(Report r, PrintStream out) {
    r.print(out);
    return 0;
  }

  @Command(
      name = "classify",
      description = {
        "Train a binary text classifier: Embedding(vocab, 100) -> LSTM(100) -> Dropout ->"
            + " LSTM(50, last step) -> Dropout -> Dense(1), binary cross-entropy, Adam.",
        "",
        "Default data: the SpamAssassin public corpus (spam vs ham; make data installs it), each"
            + " message read as its main header fields and its body. Split 80/10/10 stratified;"
            + " prints test accuracy, precision, recall and F1 next to the majority class's."
            + " Defaults: 10 epochs, batch 32, lr 5e-4, hidden 100, 2 layers, dropout 0.5,"
            + " patience 4."
      })
  static final class Classify implements Callable<Integer> {
    @Option(
        names = "--csv",
        paramLabel = "FILE",
        description = "A CSV file of labelled texts instead of the default data.")
    Path csv;

    @Option(
        names = "--text-column",
        paramLabel = "C",
        description = "The CSV's text column (default: ${DEFAULT-VALUE}).")
    String textColumn = "text";

    @Option(
        names = "--label-column",
        paramLabel = "L",
        description = "The CSV's label column, two classes (default: ${DEFAULT-VALUE}).")
    String labelColumn = "label";

    @Option(
        names = "--tokens",
        paramLabel = "KIND",
        description = "words or chars (default: ${DEFAULT-VALUE}).")
    String tokens = "words";

    @Option(
        names = "--vocab",
        paramLabel = "V",
        converter = AtLeast.One.class,
        description = "Vocabulary cap, reserved ids included (default: ${DEFAULT-VALUE}).")
    int vocab = 10000;

    @Option(
        names = "--max-length",
        paramLabel = "T",
        converter = AtLeast.One.class,
        description = "Tokens kept from the start of each text (default: ${DEFAULT-VALUE}).")
    int maxLength = 200;

    @Mixin TaskFlags flags;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintStream out = Main.stream(spec);
      Tokenizer.Options t =
          switch (tokens) {
            case "words" -> Tokenizer.Options.words().lowerCase(true);
            case "chars" -> Tokenizer.Options.chars();
            default ->
                throw new UsageException("--tokens must be words or chars, got '" + tokens + "'");
          };
      ClassifyTask task =
          csv != null
              ? ClassifyTask.csv(csv, textColumn, labelColumn)
              : ClassifyTask.spamAssassin();
      task.tokens(t.maxVocab(vocab)).maxLength(maxLength);
      return report(task.run(flags.apply(ClassifyTask.defaults(), out)), out);
    }
  }

  @Command(
      name = "chars",
      description = {
        "Train a character-level language model: Embedding -> LSTM -> Dropout -> Linear over the"
            + " characters, cross-entropy at every step; then print a few samples.",
        "",
        "Default data: the English first names (female and male lists; make data installs them),"
            + " one sequence per name; or --text FILE cut into sequences. Prints test perplexity"
            + " and bits per character next to a unigram model's. 'jrnn generate MODEL' samples"
            + " more. Defaults: 20 epochs, batch 64, lr 3e-3, hidden 128, 1 layer, dropout 0.1,"
            + " patience 4."
      })
  static final class Chars implements Callable<Integer> {
    @Option(
        names = "--text",
        paramLabel = "FILE",
        description = "A plain text file instead of the default data.")
    Path text;

    @Option(
        names = "--seq-length",
        paramLabel = "T",
        converter = AtLeast.One.class,
        description =
            "Characters per training sequence cut from --text (default: ${DEFAULT-VALUE}).")
    int seqLength = 100;

    @Option(
        names = "--samples",
        paramLabel = "N",
        converter = AtLeast.Zero.class,
        description = "Samples printed after training (default: ${DEFAULT-VALUE}).")
    int samples = 5;

    @Mixin TaskFlags flags;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintStream out = Main.stream(spec);
      CharsTask task =
          text != null ? CharsTask.text(text).sequenceLength(seqLength) : CharsTask.firstNames();
      return report(task.samples(samples).run(flags.apply(CharsTask.defaults(), out)), out);
    }
  }

  @Command(
      name = "series",
      description = {
        "Train a sequence-to-one forecaster: the last --window values -> LSTM -> last step ->"
            + " Dense(1), mean squared error.",
        "",
        "Default data: the daily US births 2000-2014 (make data installs them); or --csv FILE"
            + " --column C. Windows split in time order 70/15/15; the series normalised with the"
            + " training part's mean and deviation. Prints test MSE, MAE and RMSE next to the"
            + " naive forecasts' (the last value; the same day last week) and draws forecast.png."
            + " Defaults: 60 epochs, batch 32, lr 1e-3, hidden 64, 1 layer, no dropout,"
            + " patience 10."
      })
  static final class Series implements Callable<Integer> {
    @Option(
        names = "--csv",
        paramLabel = "FILE",
        description = "A CSV file with a header line instead of the default data.")
    Path csv;

    @Option(
        names = "--column",
        paramLabel = "C",
        description = "The CSV's numeric column (required with --csv).")
    String column;

    @Option(
        names = "--window",
        paramLabel = "T",
        converter = AtLeast.One.class,
        description = "Values the model reads per forecast (default: ${DEFAULT-VALUE}).")
    int window = 56;

    @Option(
        names = "--horizon",
        paramLabel = "K",
        converter = AtLeast.One.class,
        description = "Steps after the window to forecast (default: ${DEFAULT-VALUE}).")
    int horizon = 1;

    @Mixin TaskFlags flags;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintStream out = Main.stream(spec);
      if (csv != null && column == null) {
        throw new UsageException("--csv needs --column, the numeric column to forecast");
      }
      SeriesTask task = csv != null ? SeriesTask.csv(csv, column) : SeriesTask.usBirths();
      task.window(window).horizon(horizon);
      return report(task.run(flags.apply(SeriesTask.defaults(), out)), out);
    }
  }
}
