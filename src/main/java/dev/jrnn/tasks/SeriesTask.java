package dev.jrnn.tasks;

import static dev.jrnn.Dim.dyn;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Training;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.data.Datasets;
import dev.jrnn.data.Normalizer;
import dev.jrnn.data.SeriesCsv;
import dev.jrnn.data.Windows;
import dev.jrnn.fit.Batch;
import dev.jrnn.fit.Batches;
import dev.jrnn.fit.Fitted;
import dev.jrnn.fit.Metric;
import dev.jrnn.fit.Metrics;
import dev.jrnn.fit.Plots;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Sequence-to-one forecasting: the last {@link #window} values of a series → LSTM (or GRU, RNN)
 * layers → the last step → Linear → the value {@link #horizon} steps after the window, mean squared
 * error. By default on the daily US births 2000–2014, or on a numeric CSV column.
 *
 * <pre>{@code
 * Report r = SeriesTask.usBirths().run(SeriesTask.defaults().epochs(10));
 * r.metric("mse"); // next to r.baselines(): last value, same day last week
 * }</pre>
 *
 * <p>The windows are split in time order: the first 70 % train, the next 15 % validate, the last 15
 * % test, so the model never sees the future it is scored on. The series is normalised (z-score)
 * with the mean and deviation of the training part only, stored in the model. Metrics are in the
 * series' own units. The naive baselines on the test windows: the last value of the window, and the
 * value a week (7 steps) before the target. {@code forecast.png} draws prediction against truth
 * over the test split.
 */
public final class SeriesTask {

  /** The graph's input: a window of normalised values, F32 {@code [T, N, 1]}. */
  public static final String INPUT = "x";

  /** The graph's output: the normalised forecast, {@code [N, 1]}. */
  public static final String OUTPUT = "y";

  /** The forecast plot's file name. */
  public static final String FORECAST = "forecast.png";

  static final String WINDOW_KEY = "jrnn.task.window";
  static final String HORIZON_KEY = "jrnn.task.horizon";

  private final double[] series;
  private final String description;
  private int window = 56;
  private int horizon = 1;

  private SeriesTask(double[] series, String description) {
    this.series = series.clone();
    this.description = description;
  }

  /**
   * The task's default settings: 30 epochs, batch 32, Adam 1e-3, 64 units × 1 layer, no dropout.
   */
  public static TaskOptions defaults() {
    return new TaskOptions(60, 32, 1e-3, 64, 1, 0).patience(10);
  }

  /** Daily US births 2000–2014 ({@code make data}). */
  public static SeriesTask usBirths() {
    double[] s = Datasets.usBirths();
    return new SeriesTask(s, "daily US births 2000-2014 (" + s.length + " days)");
  }

  /** A numeric column of a CSV file with a header line. */
  public static SeriesTask csv(Path file, String column) {
    double[] s = SeriesCsv.column(file, column);
    return new SeriesTask(s, file + " column " + column + " (" + s.length + " values)");
  }

  /** A series in memory; {@code description} names it in the report. */
  public static SeriesTask of(double[] series, String description) {
    return new SeriesTask(series, Objects.requireNonNull(description, "description"));
  }

  /** Values the model reads per forecast (default 56: eight weeks of days). */
  public SeriesTask window(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("window must be at least 1, got " + n);
    }
    this.window = n;
    return this;
  }

  /** How far after the window the forecast lies (default 1: the next value). */
  public SeriesTask horizon(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("horizon must be at least 1, got " + n);
    }
    this.horizon = n;
    return this;
  }

  /**
   * The forecast {@code horizon} steps after the end of {@code series} under a model this task
   * wrote: its last window of values, normalised with the saved training statistics, in the series'
   * own units.
   */
  public static double forecast(Model model, double[] series, Options options) {
    Runs.requireTask(model, "series");
    int window = Integer.parseInt(model.weights().metadata().getOrDefault(WINDOW_KEY, "0"));
    if (window < 1) {
      throw new IllegalArgumentException(
          "the model does not record its window (" + WINDOW_KEY + ")");
    }
    if (series.length < window) {
      throw new IllegalArgumentException(
          "the model reads windows of " + window + " values; the series has " + series.length);
    }
    Normalizer norm = Normalizer.from(model.weights());
    float[] x = new float[window];
    for (int i = 0; i < window; i++) {
      double v = series[series.length - window + i];
      if (!Double.isFinite(v)) {
        throw new IllegalArgumentException(
            "value " + (series.length - window + i + 1) + " is " + v);
      }
      x[i] = (float) norm.apply(v);
    }
    try (Session s = model.open(options);
        Tensor in = Tensor.of(x, window, 1, 1);
        Result r = s.run(Map.of(INPUT, in))) {
      return norm.invert(r.get(OUTPUT).toFloatArray()[0]);
    }
  }

  /** The network. */
  Graph graph(TaskOptions o) {
    return Graph.build(
        b -> {
          Value x = b.input(INPUT, DType.F32, dyn("T"), dyn("N"), dev.jrnn.Dim.of(1));
          for (int l = 0; l < o.layers(); l++) {
            x = b.recurrent(x, o.recurrent(o.hidden()));
            if (l < o.layers() - 1 && o.dropout() > 0) {
              x = b.dropout(x, o.dropout());
            }
          }
          Value last = Runs.summary(b, x, null, o);
          if (o.dropout() > 0) {
            last = b.dropout(last, o.dropout());
          }
          b.output(OUTPUT, b.linear(last, 1));
        });
  }

  /** Trains, evaluates on the test split, plots and writes the files; see the class comment. */
  public Report run(TaskOptions o) {
    for (int i = 0; i < series.length; i++) {
      if (!Double.isFinite(series[i])) {
        throw new IllegalArgumentException(description + ": value " + (i + 1) + " is " + series[i]);
      }
    }
    Windows raw = Windows.of(series, window, horizon, 1);
    int n = raw.count();
    int trainEnd = (int) Math.round(n * 0.7);
    int valEnd = (int) Math.round(n * 0.85);
    if (trainEnd < 1 || valEnd <= trainEnd || n <= valEnd) {
      throw new IllegalArgumentException(
          description
              + ": "
              + n
              + " windows of "
              + window
              + "+"
              + horizon
              + " values are too few to train, validate and test");
    }
    // Fitted on every value a training window reads or predicts, nothing later.
    Normalizer norm = Normalizer.fit(series, 0, raw.targetIndex(trainEnd - 1) + 1);
    Windows w = Windows.of(norm.apply(series), window, horizon, 1);
    int[] train = w.range(0, trainEnd);
    int[] val = w.range(trainEnd, valEnd);
    int[] test = w.range(valEnd, n);
    if (o.limit() > 0 && o.limit() < train.length) {
      train = Arrays.copyOfRange(train, train.length - o.limit(), train.length);
    }
    Path dir = Runs.create(o.outputDir("series"));
    o.out().printf("series: %s; %s; window %d, horizon %d%n", description, o, window, horizon);

    Graph g = graph(o);
    Batches trainBatches = windows(w, train, o.batch(), o.seed(), true);
    Training training = o.training(Loss.mse(OUTPUT), trainBatches.count());
    var fit =
        Runs.fit(training, o, dir)
            .validation(windows(w, val, 512, o.seed(), false))
            .metrics(
                Metrics.mse(norm::invert), Metrics.mae(norm::invert), Metrics.rmse(norm::invert))
            .build();
    try (Weights init = Weights.random(g, "pytorch", o.seed())) {
      norm.storeIn(init);
      init.putMetadata(WINDOW_KEY, Integer.toString(window));
      init.putMetadata(HORIZON_KEY, Integer.toString(horizon));
      try (Fitted f = Runs.fitOrResume(fit, g, init, trainBatches, o, dir)) {
        Supplier<Metric[]> testMetrics =
            () ->
                new Metric[] {
                  Metrics.mse(norm::invert), Metrics.mae(norm::invert), Metrics.rmse(norm::invert)
                };
        Batches testBatches = windows(w, test, 512, o.seed(), false);
        Map<String, Double> metrics =
            new LinkedHashMap<>(
                Runs.evaluate(f.trainer(), testBatches, training.loss(), testMetrics.get()));
        metrics.putAll(Runs.evaluateReduced(f, o, testBatches, training.loss(), testMetrics));
        double[] actual = new double[test.length];
        double[] predicted = new double[test.length];
        try (Tensor x = w.inputs(test);
            Result r = f.trainer().run(Map.of(INPUT, x))) {
          float[] y = r.get(OUTPUT).toFloatArray();
          for (int k = 0; k < test.length; k++) {
            actual[k] = series[raw.targetIndex(test[k])];
            predicted[k] = norm.invert(y[k]);
          }
        }
        Path model = Runs.saveModel(f, "series", dir);
        Path forecast = dir.resolve(FORECAST);
        Plots.predictedVsActual(actual, predicted, description + ": test split", forecast);
        double[] tp = Runs.throughput(f.history());
        return new Report(
            "series",
            description,
            metrics,
            naiveBaselines(raw, test),
            f.history(),
            tp[0],
            tp[1],
            List.of(model, dir.resolve(Runs.CURVES), dir.resolve(Runs.METRICS), forecast),
            List.of());
      }
    }
  }

  /**
   * The naive forecasts' errors on the windows {@code which}: the window's last value, and the
   * latest value on the same day of the week that the window has seen (7 steps before the target,
   * or 14, 21, ... when the horizon reaches past a week), where the series reaches back that far.
   */
  Map<String, Double> naiveBaselines(Windows raw, int[] which) {
    int lag = 7 * ((horizon + 6) / 7);
    double lastSq = 0;
    double lastAbs = 0;
    double weekSq = 0;
    double weekAbs = 0;
    int weeks = 0;
    for (int k : which) {
      int t = raw.targetIndex(k);
      double e = series[t] - series[raw.start(k) + window - 1];
      lastSq += e * e;
      lastAbs += Math.abs(e);
      if (t >= lag) {
        double e7 = series[t] - series[t - lag];
        weekSq += e7 * e7;
        weekAbs += Math.abs(e7);
        weeks++;
      }
    }
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("last_value/mse", lastSq / which.length);
    m.put("last_value/mae", lastAbs / which.length);
    if (weeks == which.length) {
      m.put("same_day_last_week/mse", weekSq / weeks);
      m.put("same_day_last_week/mae", weekAbs / weeks);
    }
    return m;
  }

  /**
   * Window batches ({@link Runs#bucketed}, all windows of one length): the windows {@code which}
   * drawn into new batches each epoch when {@code shuffle}, else in fixed batches.
   */
  static Batches windows(Windows w, int[] which, int size, long seed, boolean shuffle) {
    int[] lengths = new int[which.length];
    Arrays.fill(lengths, w.inputLength());
    return Runs.bucketed(
        which,
        lengths,
        size,
        seed,
        shuffle,
        rows -> new Batch(Map.of(INPUT, w.inputs(rows)), w.targets(rows), rows.length));
  }
}
