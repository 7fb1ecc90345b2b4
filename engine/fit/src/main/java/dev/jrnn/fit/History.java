package dev.jrnn.fit;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * What a fit recorded: one {@link Epoch} per epoch, the monitored quantity's best value and epoch,
 * and whether early stopping ended the run. The columns are those of the CSV file: {@code epoch},
 * {@code loss}, {@code val_loss}, {@code val_<metric>} for each metric, {@code lr}, {@code
 * seconds}, {@code sequences_per_s}.
 */
public final class History {

  /**
   * One epoch's row.
   *
   * @param epoch the epoch, 1 for the first
   * @param loss the training loss: the epoch's step losses (each taken before its update, dropout
   *     on) pooled over the batches as the loss pools positions (weighted by the positions each
   *     batch's mean counts), so it is the mean over the epoch's positions
   * @param valLoss the validation loss: {@code Trainer.evaluate} over the validation batches,
   *     pooled the same way; NaN without validation
   * @param metrics {@code val_<name>} to value, in the fit's metric order
   * @param learningRate the learning rate of the epoch's last step
   * @param seconds wall-clock time of the epoch, validation included
   * @param sequencesPerSecond training sequences per second of training time
   */
  public record Epoch(
      int epoch,
      double loss,
      double valLoss,
      Map<String, Double> metrics,
      double learningRate,
      double seconds,
      double sequencesPerSecond) {

    /** Keeps a read-only copy of the metrics. */
    public Epoch {
      metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    }

    /** The value in column {@code column}; throws listing the columns if there is none. */
    public double get(String column) {
      return switch (column) {
        case "epoch" -> epoch;
        case "loss" -> loss;
        case "val_loss" -> valLoss;
        case "lr" -> learningRate;
        case "seconds" -> seconds;
        case "sequences_per_s" -> sequencesPerSecond;
        default -> {
          Double v = metrics.get(column);
          if (v == null) {
            throw new IllegalArgumentException(
                "no column '" + column + "'; columns: " + String.join(", ", columns(metrics)));
          }
          yield v;
        }
      };
    }
  }

  private final List<String> metricColumns; // val_<name>
  private final String monitor;
  private final List<Epoch> epochs = new ArrayList<>();
  private int bestEpoch;
  private double best = Double.NaN;
  private int stoppedEpoch;

  History(List<String> metricColumns, String monitor) {
    this.metricColumns = List.copyOf(metricColumns);
    this.monitor = Objects.requireNonNull(monitor, "monitor");
  }

  /** Every epoch's row, oldest first (a read-only view). */
  public List<Epoch> epochs() {
    return Collections.unmodifiableList(epochs);
  }

  /** The CSV columns, in order. */
  public List<String> columns() {
    List<String> c = new ArrayList<>(List.of("epoch", "loss", "val_loss"));
    c.addAll(metricColumns);
    c.addAll(List.of("lr", "seconds", "sequences_per_s"));
    return c;
  }

  private static List<String> columns(Map<String, Double> metrics) {
    History h = new History(new ArrayList<>(metrics.keySet()), "loss");
    return h.columns();
  }

  /** One column over the epochs. */
  public double[] column(String name) {
    if (!columns().contains(name)) {
      throw new IllegalArgumentException(
          "no column '" + name + "'; columns: " + String.join(", ", columns()));
    }
    return epochs.stream().mapToDouble(e -> e.get(name)).toArray();
  }

  /** The monitored column (best checkpoint, early stopping). */
  public String monitor() {
    return monitor;
  }

  /** The epoch with the best monitored value so far; 0 before any. */
  public int bestEpoch() {
    return bestEpoch;
  }

  /** The best monitored value; NaN before any. */
  public double best() {
    return best;
  }

  /** The epoch after which early stopping ended the run; 0 if it did not. */
  public int stoppedEpoch() {
    return stoppedEpoch;
  }

  /** Whether early stopping ended the run. */
  public boolean stoppedEarly() {
    return stoppedEpoch > 0;
  }

  /** The last epoch recorded; 0 before any. */
  public int lastEpoch() {
    return epochs.isEmpty() ? 0 : epochs.getLast().epoch();
  }

  void add(Epoch e) {
    epochs.add(e);
  }

  void best(int epoch, double value) {
    bestEpoch = epoch;
    best = value;
  }

  void stopped(int epoch) {
    stoppedEpoch = epoch;
  }

  List<String> metricColumns() {
    return metricColumns;
  }

  /** The CSV text: the header line and one line per epoch, full precision, NaN empty. */
  String toCsv() {
    StringBuilder b = new StringBuilder(header()).append('\n');
    epochs.forEach(e -> b.append(row(e)).append('\n'));
    return b.toString();
  }

  String header() {
    return String.join(",", columns());
  }

  String row(Epoch e) {
    StringBuilder b = new StringBuilder();
    for (String c : columns()) {
      if (!b.isEmpty()) {
        b.append(',');
      }
      b.append(c.equals("epoch") ? Integer.toString(e.epoch()) : number(e.get(c)));
    }
    return b.toString();
  }

  private static String number(double v) {
    return Double.isNaN(v) ? "" : Double.toString(v);
  }

  /** Reads the rows of {@link #toCsv()} text back (the header names the metric columns). */
  static History fromCsv(String csv, String monitor) {
    String[] lines = csv.strip().split("\n");
    List<String> header = List.of(lines[0].split(",", -1));
    int lr = header.indexOf("lr");
    if (header.size() < 6 || !header.subList(0, 3).equals(List.of("epoch", "loss", "val_loss"))) {
      throw new IllegalArgumentException("not a fit history header: " + lines[0]);
    }
    if (lr < 3
        || !header.subList(lr, header.size()).equals(List.of("lr", "seconds", "sequences_per_s"))) {
      throw new IllegalArgumentException("not a fit history header: " + lines[0]);
    }
    History h = new History(header.subList(3, lr), monitor);
    for (int i = 1; i < lines.length; i++) {
      String[] f = lines[i].split(",", -1);
      if (f.length != header.size()) {
        throw new IllegalArgumentException(
            String.format(
                Locale.ROOT, "history row %d has %d fields, not %d", i, f.length, header.size()));
      }
      Map<String, Double> m = new LinkedHashMap<>();
      for (int c = 3; c < lr; c++) {
        m.put(header.get(c), parse(f[c]));
      }
      h.add(
          new Epoch(
              Integer.parseInt(f[0]),
              parse(f[1]),
              parse(f[2]),
              m,
              parse(f[lr]),
              parse(f[lr + 1]),
              parse(f[lr + 2])));
    }
    return h;
  }

  private static double parse(String s) {
    return s.isEmpty() ? Double.NaN : Double.parseDouble(s);
  }
}
