package dev.jrnn.tasks;

import dev.jrnn.fit.History;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a task run produced: held-out metrics next to the baselines', the training time and
 * throughput, and the files written.
 *
 * @param task the task's name ({@code classify}, {@code chars}, {@code series})
 * @param data what was trained on, in words
 * @param test the trained model's metrics on the held-out split
 * @param baselines {@code <baseline>/<metric>} to value on the same split
 * @param history the fit's per-epoch record
 * @param seconds wall-clock training time, validation included
 * @param sequencesPerSecond training sequences per second of training time, over all epochs
 * @param files model, curves, metrics and any other file written, in that order
 * @param samples what the trained model generated, for a language model; empty otherwise
 */
public record Report(
    String task,
    String data,
    Map<String, Double> test,
    Map<String, Double> baselines,
    History history,
    double seconds,
    double sequencesPerSecond,
    List<Path> files,
    List<String> samples) {

  /** The held-out value of {@code metric}; throws naming the known ones if there is none. */
  public double metric(String metric) {
    Double v = test.get(metric);
    if (v == null) {
      throw new IllegalArgumentException(
          "no metric '" + metric + "'; metrics: " + String.join(", ", test.keySet()));
    }
    return v;
  }

  /** The model file. */
  public Path model() {
    return files.getFirst();
  }

  /** Prints the summary: metrics beside the baselines, time, throughput and files. */
  public void print(PrintStream out) {
    out.printf(Locale.ROOT, "%s on %s%n", task, data);
    out.printf(
        Locale.ROOT,
        "  trained %d epochs (best %d) in %.1f s, %.0f sequences/s%n",
        history.lastEpoch(),
        history.bestEpoch(),
        seconds,
        sequencesPerSecond);
    test.forEach((k, v) -> out.printf(Locale.ROOT, "  test %-14s %s%n", k, format(v)));
    baselines.forEach((k, v) -> out.printf(Locale.ROOT, "  baseline %-22s %s%n", k, format(v)));
    for (String x : samples) {
      out.println("  sample: " + x);
    }
    for (Path f : files) {
      out.println("  wrote " + f);
    }
  }

  static String format(double v) {
    return Math.abs(v) >= 1e4
        ? String.format(Locale.ROOT, "%.0f", v)
        : String.format(Locale.ROOT, "%.4f", v);
  }
}
