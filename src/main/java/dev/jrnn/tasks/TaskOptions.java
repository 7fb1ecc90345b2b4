package dev.jrnn.tasks;

import dev.jrnn.Loss;
import dev.jrnn.Optimizer;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Schedule;
import dev.jrnn.Training;
import dev.jrnn.fit.Progress;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Objects;

/**
 * The settings a task trains with: model size, optimisation, regularisation, the backend, where the
 * files go and how progress is shown. Each task starts from its own defaults ({@code
 * ClassifyTask.defaults()}, ...); the setters return this for chaining. The same settings, seed and
 * thread count give the same model.
 */
public final class TaskOptions {

  private int epochs;
  private int batch;
  private double lr;
  private int hidden;
  private int layers;
  private String cell = "lstm";
  private boolean bidirectional;
  private double dropout;
  private double recurrentDropout;
  private long seed = 1;
  private String backend = "java";
  private int threads = Math.min(2, Runtime.getRuntime().availableProcessors());
  private int patience;
  private double clipNorm = 1;
  private int limit;
  private Path outputDir;
  private boolean resume;
  private String schedule = "constant";
  private int warmup;
  private PrintStream out = System.out;
  private Progress progress;

  TaskOptions(int epochs, int batch, double lr, int hidden, int layers, double dropout) {
    this.epochs = epochs;
    this.batch = batch;
    this.lr = lr;
    this.hidden = hidden;
    this.layers = layers;
    this.dropout = dropout;
  }

  /** Epochs to train (early stopping may end sooner). */
  public TaskOptions epochs(int n) {
    this.epochs = positive(n, "epochs");
    return this;
  }

  /** Sequences per training step. */
  public TaskOptions batch(int n) {
    this.batch = positive(n, "batch");
    return this;
  }

  /** Adam's learning rate. */
  public TaskOptions lr(double x) {
    if (!(x > 0) || !Double.isFinite(x)) {
      throw new IllegalArgumentException("the learning rate must be positive, got " + x);
    }
    this.lr = x;
    return this;
  }

  /** Hidden size of the (first) recurrent layer. */
  public TaskOptions hidden(int n) {
    this.hidden = positive(n, "hidden");
    return this;
  }

  /** Recurrent layers. */
  public TaskOptions layers(int n) {
    this.layers = positive(n, "layers");
    return this;
  }

  /** The recurrent cell: {@code lstm}, {@code gru} or {@code rnn} (tanh). */
  public TaskOptions cell(String name) {
    String c = Objects.requireNonNull(name, "cell").toLowerCase(Locale.ROOT);
    if (!c.equals("lstm") && !c.equals("gru") && !c.equals("rnn")) {
      throw new IllegalArgumentException("unknown cell '" + name + "'; cells: lstm, gru, rnn");
    }
    this.cell = c;
    return this;
  }

  /** Whether recurrent layers run both directions (outputs concatenated). */
  public TaskOptions bidirectional(boolean on) {
    this.bidirectional = on;
    return this;
  }

  /** Dropout probability between layers and before the output layer; 0 for none. */
  public TaskOptions dropout(double p) {
    this.dropout = probability(p, "dropout");
    return this;
  }

  /** Variational dropout on the recurrent input (one mask per sequence); 0 for none. */
  public TaskOptions recurrentDropout(double p) {
    this.recurrentDropout = probability(p, "recurrent dropout");
    return this;
  }

  /** Seed of the initial weights, the splits, the batch order and dropout. */
  public TaskOptions seed(long s) {
    this.seed = s;
    return this;
  }

  /** The backend to train on ({@code java}, {@code reference}, {@code onednn}, {@code opencl}). */
  public TaskOptions backend(String name) {
    this.backend = Objects.requireNonNull(name, "backend");
    return this;
  }

  /** Threads of the backend. */
  public TaskOptions threads(int n) {
    this.threads = positive(n, "threads");
    return this;
  }

  /**
   * The learning-rate schedule over the run, applied per step: {@code constant} (the default) or
   * {@code cosine} (from {@link #lr} down to 1 % of it over all epochs' steps).
   */
  public TaskOptions schedule(String name) {
    String s = Objects.requireNonNull(name, "schedule").toLowerCase(Locale.ROOT);
    if (!s.equals("constant") && !s.equals("cosine")) {
      throw new IllegalArgumentException(
          "unknown schedule '" + name + "'; schedules: constant, cosine");
    }
    this.schedule = s;
    return this;
  }

  /** Steps of linear warm-up from 0 to the learning rate at the start (0: none). */
  public TaskOptions warmup(int steps) {
    if (steps < 0) {
      throw new IllegalArgumentException("warm-up must be at least 0 steps, got " + steps);
    }
    this.warmup = steps;
    return this;
  }

  /** Stop after this many epochs without a better validation loss (0: never), keeping the best. */
  public TaskOptions patience(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("patience must be at least 0, got " + n);
    }
    this.patience = n;
    return this;
  }

  /** Clip the gradients' global L2 norm to this (0: no clipping). */
  public TaskOptions clipNorm(double c) {
    if (!(c >= 0) || !Double.isFinite(c)) {
      throw new IllegalArgumentException("clip norm must be at least 0, got " + c);
    }
    this.clipNorm = c;
    return this;
  }

  /** Use only the first {@code n} examples of the data (after a seeded shuffle); 0 for all. */
  public TaskOptions limit(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("limit must be at least 0, got " + n);
    }
    this.limit = n;
    return this;
  }

  /** The folder for model.jrnn, curves.png and metrics.csv; by default a new one under runs/. */
  public TaskOptions outputDir(Path dir) {
    this.outputDir = dir;
    return this;
  }

  /**
   * Continue the run in {@link #outputDir} from its last checkpoint ({@code checkpoints/last.jrnn})
   * up to {@link #epochs}, exactly as if it had not stopped: the same data, options and seed give
   * the same model as one uninterrupted run. Without a checkpoint there the run starts afresh. A
   * cosine schedule spans the epochs given, so resume it with the same {@link #epochs} to get the
   * uninterrupted run's rates.
   */
  public TaskOptions resume(boolean on) {
    this.resume = on;
    return this;
  }

  /** Where the task reports; progress goes there too unless {@link #progress} says otherwise. */
  public TaskOptions out(PrintStream s) {
    this.out = Objects.requireNonNull(s, "out");
    return this;
  }

  /** How epochs are shown (default: a bar on a terminal, one line per epoch otherwise). */
  public TaskOptions progress(Progress p) {
    this.progress = Objects.requireNonNull(p, "progress");
    return this;
  }

  public int epochs() {
    return epochs;
  }

  public int batch() {
    return batch;
  }

  public double lr() {
    return lr;
  }

  public int hidden() {
    return hidden;
  }

  public int layers() {
    return layers;
  }

  public String cell() {
    return cell;
  }

  public boolean bidirectional() {
    return bidirectional;
  }

  public double dropout() {
    return dropout;
  }

  public double recurrentDropout() {
    return recurrentDropout;
  }

  public long seed() {
    return seed;
  }

  public String backend() {
    return backend;
  }

  public int threads() {
    return threads;
  }

  public int patience() {
    return patience;
  }

  public double clipNorm() {
    return clipNorm;
  }

  public int limit() {
    return limit;
  }

  public boolean resume() {
    return resume;
  }

  public PrintStream out() {
    return out;
  }

  /** The progress display in effect. */
  public Progress progress() {
    return progress != null ? progress : Progress.auto(out);
  }

  /**
   * What a trainer optimizes: {@code loss} with Adam at {@link #lr}, the schedule over {@code
   * stepsPerEpoch}·{@link #epochs} steps with its warm-up, gradient clipping and the seed.
   */
  Training training(Loss loss, int stepsPerEpoch) {
    Schedule s =
        schedule.equals("cosine")
            ? Schedule.cosine(Math.max(1, stepsPerEpoch * epochs), 0.01)
            : Schedule.constant();
    if (warmup > 0) {
      s = s.warmup(warmup);
    }
    Optimizer opt = Optimizer.adam(lr).schedule(s);
    if (clipNorm > 0) {
      opt = opt.clipNorm(clipNorm);
    }
    return Training.of(loss, opt).seed(seed);
  }

  /** The engine options: backend and threads. */
  public Options engineOptions() {
    return Options.backend(backend).threads(threads);
  }

  /**
   * The output folder: the one given, else {@code runs/<task>-<yyyyMMdd-HHmmss>} (a suffix keeps it
   * new).
   */
  Path outputDir(String task) {
    if (outputDir != null) {
      return outputDir;
    }
    String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    Path p = Path.of("runs", task + "-" + stamp);
    for (int i = 2; p.toFile().exists(); i++) {
      p = Path.of("runs", task + "-" + stamp + "-" + i);
    }
    return p;
  }

  /**
   * One recurrent layer of {@code size} units as these options describe it: the cell, the direction
   * and recurrent dropout.
   */
  Recurrent recurrent(int size) {
    Recurrent r =
        switch (cell) {
          case "gru" -> Recurrent.gru(size);
          case "rnn" -> Recurrent.rnn(size);
          default -> Recurrent.lstm(size);
        };
    if (bidirectional) {
      r = r.bidirectional();
    }
    if (recurrentDropout > 0) {
      r = r.recurrentDropout(recurrentDropout);
    }
    return r;
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "%s%s hidden %d x %d layers, dropout %s/%s, batch %d, lr %s %s, %d epochs, seed %d, %s x%d",
        bidirectional ? "bidirectional " : "",
        cell,
        hidden,
        layers,
        dropout,
        recurrentDropout,
        batch,
        lr,
        schedule + (warmup > 0 ? " warm-up " + warmup : ""),
        epochs,
        seed,
        backend,
        threads);
  }

  private static int positive(int n, String what) {
    if (n < 1) {
      throw new IllegalArgumentException(what + " must be at least 1, got " + n);
    }
    return n;
  }

  private static double probability(double p, String what) {
    if (!(p >= 0 && p < 1)) {
      throw new IllegalArgumentException(what + " must be in [0, 1), got " + p);
    }
    return p;
  }
}
