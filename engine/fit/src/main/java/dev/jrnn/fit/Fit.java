package dev.jrnn.fit;

import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Weights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Keras' {@code model.fit} over a {@link Trainer}: epochs of training steps over {@link Batches},
 * validation with {@link Metric}s after each epoch, the best and the last checkpoint, early
 * stopping that can restore the best weights, a CSV log, progress output and learning-curve plots.
 * Immutable and reusable, one run at a time (metrics are accumulators).
 *
 * <pre>{@code
 * Fit fit = Fit.builder(Training.of(Loss.crossEntropy("logits"), Optimizer.adam(1e-3)))
 *     .options(Options.backend("java"))
 *     .epochs(20)
 *     .validation(val)
 *     .metrics(Metrics.accuracy(), Metrics.macroF1())
 *     .monitor("val_loss").earlyStopping(3).restoreBest(true)
 *     .checkpoints(dir).csv(dir.resolve("metrics.csv")).plot(dir.resolve("curves.png"))
 *     .progress(Progress.auto(System.out))
 *     .build();
 * try (Fitted f = fit.run(graph, Weights.random(graph, 1), train)) {
 *   f.trainer().model().save(dir.resolve("model.jrnn"));
 * }
 * // after an interruption: the same fit goes on from the last epoch's checkpoint
 * try (Fitted f = fit.resume(dir.resolve(Fit.LAST), train)) { ... }
 * }</pre>
 *
 * <p><b>Monitoring.</b> One column of the {@link History} is monitored ({@code val_loss} by default
 * with validation, else {@code loss}): an epoch improves on the best when its value is lower by
 * more than {@code minDelta} ({@link Mode#MIN}) or higher by more than it ({@link Mode#MAX}); the
 * first finite value always improves, NaN never does. With {@link Builder#earlyStopping(int)} the
 * run stops after {@code patience} epochs in a row without improvement (Keras' rule). With {@link
 * Builder#restoreBest(boolean)}, the trainer returned holds the best epoch's weights (and optimizer
 * state): it is re-opened from {@code best.jrnn} when the run ends, stopped early or not (Keras
 * restores only on an early stop).
 *
 * <p><b>Checkpoints.</b> With {@link Builder#checkpoints(Path)}, {@code best.jrnn} is written
 * whenever the monitored value improves and {@code last.jrnn} after every epoch; both are {@link
 * Trainer#saveCheckpoint} files whose metadata also holds the fit's state ({@code fit.epoch},
 * {@code fit.best}, {@code fit.best_epoch}, {@code fit.wait}, {@code fit.stopped}, {@code
 * fit.monitor} and the history as CSV in {@code fit.history}), so {@link #resume} continues
 * exactly: given batches whose order depends only on the epoch, the resumed run ends with the
 * weights, bit for bit, of a run that was not interrupted. The metadata stays in models saved from
 * the trainer.
 *
 * <p>Epochs count from 1; {@code epochs} is the last epoch to run, also when resuming.
 */
public final class Fit {

  /** File name of the best checkpoint in the checkpoint directory. */
  public static final String BEST = "best.jrnn";

  /** File name of the last epoch's checkpoint in the checkpoint directory. */
  public static final String LAST = "last.jrnn";

  /** Whether lower or higher values of the monitored column are better. */
  public enum Mode {
    /** Lower is better. */
    MIN,
    /** Higher is better. */
    MAX,
    /**
     * Higher for {@code accuracy}, {@code precision}, {@code recall} and {@code f1} (with or
     * without {@code val_}), lower for everything else.
     */
    AUTO
  }

  private static final String KEY_EPOCH = "fit.epoch";
  private static final String KEY_BEST = "fit.best";
  private static final String KEY_BEST_EPOCH = "fit.best_epoch";
  private static final String KEY_WAIT = "fit.wait";
  private static final String KEY_STOPPED = "fit.stopped";
  private static final String KEY_MONITOR = "fit.monitor";
  private static final String KEY_HISTORY = "fit.history";

  private final Training training;
  private final Options options;
  private final int epochs;
  private final Batches validation;
  private final List<Metric> metrics;
  private final String metricsOutput;
  private final String monitor;
  private final boolean maximize;
  private final double minDelta;
  private final int patience; // -1: no early stopping
  private final boolean restoreBest;
  private final Path checkpoints;
  private final Path csv;
  private final Path plot;
  private final Progress progress;
  private final List<Callback> callbacks;

  private Fit(Builder b) {
    this.training = b.training;
    this.options = b.options;
    this.epochs = b.epochs;
    this.validation = b.validation;
    this.metrics = List.copyOf(b.metrics);
    this.metricsOutput = b.metricsOutput != null ? b.metricsOutput : training.loss().output();
    this.monitor = b.monitor != null ? b.monitor : validation != null ? "val_loss" : "loss";
    this.maximize =
        b.mode == Mode.AUTO
            ? Metrics.higherIsBetter(monitor.startsWith("val_") ? monitor.substring(4) : monitor)
            : b.mode == Mode.MAX;
    this.minDelta = b.minDelta;
    this.patience = b.patience;
    this.restoreBest = b.restoreBest;
    this.checkpoints = b.checkpoints;
    this.csv = b.csv;
    this.plot = b.plot;
    this.progress = b.progress;
    this.callbacks = List.copyOf(b.callbacks);
  }

  /** A builder for a fit that trains as {@code training} says. */
  public static Builder builder(Training training) {
    return new Builder(training);
  }

  /**
   * Opens a trainer on {@code graph} and {@code initial} (which may be closed afterwards) and runs
   * epochs 1 to {@code epochs} over {@code train}. The caller closes the result, which owns the
   * trainer; on failure the trainer is closed and the exception passes on.
   */
  public Fitted run(Graph graph, Weights initial, Batches train) {
    Objects.requireNonNull(train, "train");
    Trainer trainer = Trainer.open(graph, initial, training, options);
    return loop(trainer, new History(metricColumns(), monitor), 0, checkpoints, train);
  }

  /**
   * Continues a run from its {@code last.jrnn} (or any checkpoint this fit wrote) up to epoch
   * {@code epochs}: the trainer, the history, the best value and the patience counter are restored.
   * This fit must monitor the same column and compute the same metrics. Checkpoints go on into
   * {@link Builder#checkpoints}'s directory, or the checkpoint's own when none is set; a run that
   * had stopped early runs no more epochs.
   */
  public Fitted resume(Path checkpoint, Batches train) {
    Objects.requireNonNull(train, "train");
    Trainer trainer = Trainer.resume(checkpoint, training, options);
    try {
      Map<String, String> md = trainer.metadata();
      if (!md.containsKey(KEY_HISTORY) || !md.containsKey(KEY_MONITOR)) {
        throw new IllegalArgumentException(
            checkpoint + " is a trainer checkpoint but not one a fit wrote (no fit.* metadata)");
      }
      if (!md.get(KEY_MONITOR).equals(monitor)) {
        throw new IllegalArgumentException(
            "the run monitored " + md.get(KEY_MONITOR) + ", this fit monitors " + monitor);
      }
      History history = History.fromCsv(md.get(KEY_HISTORY), monitor);
      if (!history.metricColumns().equals(metricColumns())) {
        throw new IllegalArgumentException(
            "the run computed "
                + history.metricColumns()
                + ", this fit computes "
                + metricColumns());
      }
      int bestEpoch = Integer.parseInt(md.get(KEY_BEST_EPOCH));
      if (bestEpoch > 0) {
        history.best(bestEpoch, Double.parseDouble(md.get(KEY_BEST)));
      }
      int stopped = Integer.parseInt(md.get(KEY_STOPPED));
      if (stopped > 0) {
        history.stopped(stopped);
      }
      Path from = checkpoint.toAbsolutePath().getParent();
      Path dir = checkpoints != null ? checkpoints : from;
      Path best = from.resolve(BEST);
      if (bestEpoch > 0 && !dir.toAbsolutePath().equals(from) && Files.exists(best)) {
        Files.createDirectories(dir);
        Files.copy(best, dir.resolve(BEST), StandardCopyOption.REPLACE_EXISTING);
      }
      return loop(trainer, history, Integer.parseInt(md.get(KEY_WAIT)), dir, train);
    } catch (IOException e) {
      trainer.close();
      throw new UncheckedIOException("cannot copy the best checkpoint", e);
    } catch (RuntimeException e) {
      trainer.close();
      throw e;
    }
  }

  private List<String> metricColumns() {
    return metrics.stream().map(m -> "val_" + m.name()).toList();
  }

  private Fitted loop(Trainer trainer, History history, int wait, Path dir, Batches train) {
    List<Callback> all = new ArrayList<>();
    if (csv != null) {
      all.add(new CsvLog(csv));
    }
    all.add(progress.callback());
    all.addAll(callbacks);
    Path scratch = null;
    boolean done = false;
    try {
      if (dir != null) {
        Files.createDirectories(dir);
      } else if (restoreBest) {
        scratch = Files.createTempDirectory("jrnn-fit");
      }
      Path bestDir = dir != null ? dir : scratch;
      for (Callback c : all) {
        c.onFitBegin(history, epochs);
      }
      for (int e = history.lastEpoch() + 1; e <= epochs && !history.stoppedEarly(); e++) {
        History.Epoch row = epoch(trainer, train, e, all);
        history.add(row);
        double value = row.get(monitor);
        boolean improved = improves(value, history);
        if (improved) {
          history.best(e, value);
          wait = 0;
        } else {
          wait++;
          if (patience >= 0 && wait >= patience) {
            history.stopped(e);
          }
        }
        trainer.putMetadata(KEY_EPOCH, Integer.toString(e));
        trainer.putMetadata(KEY_BEST, Double.toString(history.best()));
        trainer.putMetadata(KEY_BEST_EPOCH, Integer.toString(history.bestEpoch()));
        trainer.putMetadata(KEY_WAIT, Integer.toString(wait));
        trainer.putMetadata(KEY_STOPPED, Integer.toString(history.stoppedEpoch()));
        trainer.putMetadata(KEY_MONITOR, monitor);
        trainer.putMetadata(KEY_HISTORY, history.toCsv());
        if (improved && bestDir != null) {
          checkpoint(trainer, bestDir.resolve(BEST));
        }
        if (dir != null) {
          checkpoint(trainer, dir.resolve(LAST));
        }
        for (Callback c : all) {
          c.onEpochEnd(row, history);
        }
      }
      if (restoreBest
          && history.bestEpoch() > 0
          && history.bestEpoch() != history.lastEpoch()
          && bestDir != null) {
        Trainer best = Trainer.resume(bestDir.resolve(BEST), training, options);
        trainer.close();
        trainer = best;
      }
      if (plot != null && !history.epochs().isEmpty()) {
        Plots.learningCurves(history, plot);
      }
      for (Callback c : all) {
        c.onFitEnd(history);
      }
      done = true;
      return new Fitted(trainer, history);
    } catch (IOException e) {
      throw new UncheckedIOException("fit: " + e.getMessage(), e);
    } finally {
      if (!done) {
        trainer.close();
      }
      for (Callback c : all) {
        if (c instanceof AutoCloseable a) {
          try {
            a.close();
          } catch (Exception ignored) {
            // the fit's own outcome matters more than a callback's cleanup
          }
        }
      }
      if (scratch != null) {
        deleteTree(scratch);
      }
    }
  }

  private boolean improves(double value, History history) {
    if (Double.isNaN(value)) {
      return false;
    }
    if (history.bestEpoch() == 0) {
      return true;
    }
    return maximize ? value > history.best() + minDelta : value < history.best() - minDelta;
  }

  /** A batch's weight in an epoch's loss: see {@link Positions#lossWeight}. */
  private double lossWeight(Batch b) {
    Loss loss = training.loss();
    return Positions.lossWeight(
        loss, b.target(), loss.lengthsInput().map(b::input).orElse(null), b.size());
  }

  /** Trains one epoch and validates; returns its row. */
  private History.Epoch epoch(Trainer trainer, Batches train, int e, List<Callback> all) {
    int batches = train.count();
    for (Callback c : all) {
      c.onEpochBegin(e, epochs, batches);
    }
    long start = System.nanoTime();
    double sum = 0;
    double weights = 0;
    long sequences = 0;
    int batch = 0;
    double lr = trainer.learningRate();
    Iterator<Batch> it = train.epoch(e);
    while (it.hasNext()) {
      try (Batch b = it.next()) {
        lr = trainer.learningRate();
        double loss = trainer.step(b.inputs(), b.target());
        double w = lossWeight(b);
        sum += loss * w;
        weights += w;
        sequences += b.size();
        batch++;
        Callback.Step s =
            new Callback.Step(
                e,
                batch,
                batches,
                trainer.steps(),
                loss,
                b.size(),
                lr,
                sum / weights,
                sequences,
                (System.nanoTime() - start) / 1e9);
        for (Callback c : all) {
          c.onStep(s);
        }
      }
    }
    double trainSeconds = (System.nanoTime() - start) / 1e9;
    Map<String, Double> values = new LinkedHashMap<>();
    double valLoss = validate(trainer, e, values);
    double seconds = (System.nanoTime() - start) / 1e9;
    return new History.Epoch(
        e,
        weights == 0 ? Double.NaN : sum / weights,
        valLoss,
        values,
        lr,
        seconds,
        trainSeconds > 0 ? sequences / trainSeconds : 0);
  }

  /**
   * The validation loss, pooled over the batches like the loss pools positions ({@link
   * #lossWeight}); puts each metric's {@code val_} value into {@code out}.
   */
  private double validate(Trainer trainer, int e, Map<String, Double> out) {
    if (validation == null) {
      return Double.NaN;
    }
    metrics.forEach(Metric::reset);
    Loss loss = training.loss();
    double sum = 0;
    double weights = 0;
    Iterator<Batch> it = validation.epoch(e);
    while (it.hasNext()) {
      try (Batch b = it.next()) {
        double w = lossWeight(b);
        sum += trainer.evaluate(b.inputs(), b.target()) * w;
        weights += w;
        if (!metrics.isEmpty()) {
          try (Result r = trainer.run(b.inputs())) {
            Predictions p = Predictions.of(loss, r.get(metricsOutput), b);
            for (Metric m : metrics) {
              m.update(p);
            }
          }
        }
      }
    }
    for (Metric m : metrics) {
      out.put("val_" + m.name(), m.value());
    }
    return weights == 0 ? Double.NaN : sum / weights;
  }

  /** Saves into a sibling temporary file and moves it into place, so a crash leaves the old one. */
  private static void checkpoint(Trainer trainer, Path file) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    trainer.saveCheckpoint(tmp);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temporary directory left behind is harmless
    }
  }

  /** Builds a {@link Fit}; every setting but the training has a default. */
  public static final class Builder {
    private final Training training;
    private Options options = Options.defaults();
    private int epochs = 1;
    private Batches validation;
    private final List<Metric> metrics = new ArrayList<>();
    private String metricsOutput;
    private String monitor;
    private Mode mode = Mode.AUTO;
    private double minDelta;
    private int patience = -1;
    private boolean restoreBest;
    private Path checkpoints;
    private Path csv;
    private Path plot;
    private Progress progress = Progress.auto(System.out);
    private final List<Callback> callbacks = new ArrayList<>();

    private Builder(Training training) {
      this.training = Objects.requireNonNull(training, "training");
    }

    /** The backend and threads of the trainer ({@link Options#defaults()} by default). */
    public Builder options(Options o) {
      this.options = Objects.requireNonNull(o, "options");
      return this;
    }

    /** The last epoch to run, {@code >= 1} (default 1). */
    public Builder epochs(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("epochs must be >= 1, got " + n);
      }
      this.epochs = n;
      return this;
    }

    /** Batches to evaluate after each epoch (dropout off); the loss and metrics are reported. */
    public Builder validation(Batches v) {
      this.validation = Objects.requireNonNull(v, "validation");
      return this;
    }

    /** Metrics of the validation batches, reported as {@code val_<name>}; names must differ. */
    public Builder metrics(Metric... ms) {
      for (Metric m : ms) {
        metrics.add(Objects.requireNonNull(m, "metric"));
      }
      return this;
    }

    /** The graph output the metrics read (default: the loss's output). */
    public Builder metricsOutput(String name) {
      this.metricsOutput = Objects.requireNonNull(name, "output");
      return this;
    }

    /**
     * The column to monitor: {@code loss}, {@code val_loss} or {@code val_<metric>}; the mode
     * {@link Mode#AUTO}.
     */
    public Builder monitor(String column) {
      return monitor(column, Mode.AUTO);
    }

    /** The column to monitor and whether lower or higher is better. */
    public Builder monitor(String column, Mode m) {
      this.monitor = Objects.requireNonNull(column, "column");
      this.mode = Objects.requireNonNull(m, "mode");
      return this;
    }

    /** How much the monitored value must change to count as an improvement, {@code >= 0}. */
    public Builder minDelta(double d) {
      if (!(d >= 0) || Double.isInfinite(d)) {
        throw new IllegalArgumentException("minDelta must be finite and >= 0, got " + d);
      }
      this.minDelta = d;
      return this;
    }

    /** Stops after {@code patience >= 0} epochs in a row without improvement. */
    public Builder earlyStopping(int patience) {
      if (patience < 0) {
        throw new IllegalArgumentException("patience must be >= 0, got " + patience);
      }
      this.patience = patience;
      return this;
    }

    /** Whether the trainer returned holds the best epoch's weights (default false). */
    public Builder restoreBest(boolean on) {
      this.restoreBest = on;
      return this;
    }

    /** A directory for {@code best.jrnn} and {@code last.jrnn} (created if missing). */
    public Builder checkpoints(Path dir) {
      this.checkpoints = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /** A CSV file of the history, rewritten at the start and appended to after each epoch. */
    public Builder csv(Path file) {
      this.csv = Objects.requireNonNull(file, "file");
      return this;
    }

    /** A PNG of the learning curves ({@link Plots#learningCurves}), written when the run ends. */
    public Builder plot(Path png) {
      this.plot = Objects.requireNonNull(png, "png");
      return this;
    }

    /** Progress output (default {@link Progress#auto} on {@code System.out}). */
    public Builder progress(Progress p) {
      this.progress = Objects.requireNonNull(p, "progress");
      return this;
    }

    /**
     * Adds a callback, called after the CSV log and the progress output; one that is {@link
     * AutoCloseable} is closed when the fit ends, however it ends.
     */
    public Builder callback(Callback c) {
      callbacks.add(Objects.requireNonNull(c, "callback"));
      return this;
    }

    /** Adds a callback of each training step. */
    public Builder onStep(Consumer<Callback.Step> fn) {
      Objects.requireNonNull(fn, "fn");
      return callback(
          new Callback() {
            @Override
            public void onStep(Step s) {
              fn.accept(s);
            }
          });
    }

    /**
     * The fit.
     *
     * @throws IllegalArgumentException for metrics without validation, two metrics of one name, or
     *     a monitored column the history will not have
     */
    public Fit build() {
      if (!metrics.isEmpty() && validation == null) {
        throw new IllegalArgumentException("metrics are computed on validation batches; none set");
      }
      Set<String> names = new HashSet<>();
      for (Metric m : metrics) {
        if (!names.add(m.name())) {
          throw new IllegalArgumentException("two metrics are called '" + m.name() + "'");
        }
      }
      if (monitor != null) {
        List<String> known = new ArrayList<>(List.of("loss"));
        if (validation != null) {
          known.add("val_loss");
          metrics.forEach(m -> known.add("val_" + m.name()));
        }
        if (!known.contains(monitor)) {
          throw new IllegalArgumentException(
              "cannot monitor '" + monitor + "'; this fit reports " + String.join(", ", known));
        }
      }
      return new Fit(this);
    }
  }
}
