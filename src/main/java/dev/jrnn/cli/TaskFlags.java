package dev.jrnn.cli;

import dev.jrnn.fit.Progress;
import dev.jrnn.tasks.TaskOptions;
import java.io.PrintStream;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options every {@code jrnn train <task>} shares, as a picocli mixin; an option not given keeps
 * the task's default (its help shows it).
 */
final class TaskFlags {

  @Option(
      names = "--epochs",
      paramLabel = "E",
      converter = AtLeast.One.class,
      description = "Epochs to train.")
  Integer epochs;

  @Option(
      names = "--batch",
      paramLabel = "N",
      converter = AtLeast.One.class,
      description = "Sequences per step.")
  Integer batch;

  @Option(names = "--lr", paramLabel = "X", description = "Adam's learning rate.")
  Double lr;

  @Option(
      names = "--hidden",
      paramLabel = "H",
      converter = AtLeast.One.class,
      description = "Units of the (first) recurrent layer.")
  Integer hidden;

  @Option(
      names = "--layers",
      paramLabel = "L",
      converter = AtLeast.One.class,
      description = "Recurrent layers.")
  Integer layers;

  @Option(names = "--cell", paramLabel = "CELL", description = "lstm, gru or rnn (default: lstm).")
  String cell;

  @Option(names = "--bidirectional", description = "Recurrent layers read both ways.")
  boolean bidirectional;

  @Option(
      names = "--dropout",
      paramLabel = "P",
      description = "Dropout between layers and before the output.")
  Double dropout;

  @Option(
      names = "--recurrent-dropout",
      paramLabel = "P",
      description = "Variational dropout on the recurrent input (default: 0).")
  Double recurrentDropout;

  @Option(
      names = "--schedule",
      paramLabel = "S",
      description =
          "Learning rate per step: constant or cosine (to 1 %% of --lr; default: constant).")
  String schedule;

  @Option(
      names = "--warmup",
      paramLabel = "STEPS",
      converter = AtLeast.Zero.class,
      description = "Steps of linear learning-rate warm-up (default: 0).")
  Integer warmup;

  @Option(
      names = "--patience",
      paramLabel = "K",
      converter = AtLeast.Zero.class,
      description = "Stop after K epochs without a better validation loss (0: never).")
  Integer patience;

  @Option(
      names = "--clip-norm",
      paramLabel = "C",
      description = "Clip the gradients' global norm (0: off; default: 1).")
  Double clipNorm;

  @Option(
      names = "--limit",
      paramLabel = "N",
      converter = AtLeast.Zero.class,
      description = "Use only N examples (0: all; default: 0), for a quick run.")
  Integer limit;

  @Option(
      names = "--seed",
      paramLabel = "S",
      description = "Seed of weights, splits, batch order, dropout (default: 1).")
  Long seed;

  @Option(
      names = "--backend",
      paramLabel = "B",
      description = "java, reference, onednn or opencl (default: java).")
  String backend;

  @Option(
      names = "--threads",
      paramLabel = "N",
      converter = AtLeast.One.class,
      description = "Threads (default: 2).")
  Integer threads;

  @Option(
      names = "--output-dir",
      paramLabel = "DIR",
      description =
          "Where model.jrnn, curves.png and metrics.csv go (default: a new runs/<task>-<time>).")
  Path outputDir;

  @Option(
      names = "--resume",
      description =
          "Continue the run in --output-dir from its last checkpoint up to --epochs, exactly as if"
              + " it had not stopped (same data, options and seed; with --schedule cosine, the"
              + " same --epochs).")
  boolean resume;

  @Option(
      names = "--progress",
      paramLabel = "HOW",
      description =
          "bar, plain (one line per epoch), quiet, or auto: a bar on a terminal, else plain (default).")
  String progress = "auto";

  /** {@code o} with every option given applied. */
  TaskOptions apply(TaskOptions o, PrintStream out) {
    if (epochs != null) o.epochs(epochs);
    if (batch != null) o.batch(batch);
    if (lr != null) o.lr(lr);
    if (hidden != null) o.hidden(hidden);
    if (layers != null) o.layers(layers);
    if (cell != null) o.cell(cell);
    if (bidirectional) o.bidirectional(true);
    if (dropout != null) o.dropout(dropout);
    if (recurrentDropout != null) o.recurrentDropout(recurrentDropout);
    if (schedule != null) o.schedule(schedule);
    if (warmup != null) o.warmup(warmup);
    if (patience != null) o.patience(patience);
    if (clipNorm != null) o.clipNorm(clipNorm);
    if (limit != null) o.limit(limit);
    if (seed != null) o.seed(seed);
    if (backend != null) o.backend(backend);
    if (threads != null) o.threads(threads);
    if (outputDir != null) o.outputDir(outputDir);
    if (resume && outputDir == null) {
      throw new UsageException("--resume needs --output-dir, the folder of the run to continue");
    }
    o.resume(resume);
    o.out(out);
    o.progress(
        switch (progress) {
          case "auto" -> Progress.auto(out);
          case "bar" -> Progress.bar(out);
          case "plain" -> Progress.plain(out);
          case "quiet" -> Progress.quiet();
          default ->
              throw new UsageException(
                  "--progress must be auto, bar, plain or quiet, got '" + progress + "'");
        });
    return o;
  }
}
