package dev.jrnn.tasks;

import dev.jrnn.Loss;
import dev.jrnn.Model;
import dev.jrnn.Precision;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.data.Batching;
import dev.jrnn.fit.Batch;
import dev.jrnn.fit.Batches;
import dev.jrnn.fit.Fit;
import dev.jrnn.fit.Fitted;
import dev.jrnn.fit.History;
import dev.jrnn.fit.Metric;
import dev.jrnn.fit.Predictions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/** What the three tasks do alike: the output folder, the fit's files, held-out evaluation. */
final class Runs {

  static final String MODEL = "model.jrnn";
  static final String CURVES = "curves.png";
  static final String METRICS = "metrics.csv";
  static final String CHECKPOINTS = "checkpoints";

  /** Metadata key naming the task that trained a model. */
  static final String TASK_KEY = "jrnn.task";

  private Runs() {}

  /**
   * What a sequence-to-one model reads of the last recurrent layer's output {@code seq}: each row's
   * last valid step; for a bidirectional layer also the backward direction's final state (its
   * output at the first step, which has read the whole row), since the backward half of the last
   * step has read only the last token. Bidirectional gives {@code [N, 3H]}: forward last, backward
   * at the last step, backward final.
   */
  static dev.jrnn.Value summary(
      dev.jrnn.Graph.Builder b, dev.jrnn.Value seq, dev.jrnn.Value lengths, TaskOptions o) {
    dev.jrnn.Value last = b.lastStep(seq, lengths, false);
    if (!o.bidirectional()) {
      return last;
    }
    // finalH: [2, N, H], forward then backward; its last entry is the backward final state
    return b.concat(1, last, b.lastStep(seq.finalH(), null, false));
  }

  /** Throws unless {@code model} was written by the task {@code task}, naming what it is. */
  static void requireTask(dev.jrnn.Model model, String task) {
    String t = model.weights().metadata().get(TASK_KEY);
    if (!task.equals(t)) {
      throw new IllegalArgumentException(
          "the model was "
              + (t == null ? "not written by a jrnn task" : "written by 'jrnn train " + t + "'")
              + "; this needs one from 'jrnn train "
              + task
              + "'");
    }
  }

  /**
   * The batches of one split, the one batching rule of the three tasks: the items {@code which} (of
   * lengths {@code lengths}, in the order of {@code which}) bucketed by length ({@link
   * Batching#bucketed}); with {@code shuffle}, drawn afresh each epoch from the seed and the epoch
   * (members and order), else the same every epoch. {@code make} turns the data indices of a batch
   * (entries of {@code which}) into its tensors.
   */
  static Batches bucketed(
      int[] which,
      int[] lengths,
      int size,
      long seed,
      boolean shuffle,
      Function<int[], Batch> make) {
    List<int[]> fixed = Batching.bucketed(lengths, size, seed);
    int count = fixed.size();
    return new Batches() {
      @Override
      public int count() {
        return count;
      }

      @Override
      public Iterator<Batch> epoch(int epoch) {
        List<int[]> groups =
            shuffle ? Batching.bucketed(lengths, size, seed * 1_000_003L + epoch) : fixed;
        return new Iterator<>() {
          int next;

          @Override
          public boolean hasNext() {
            return next < groups.size();
          }

          @Override
          public Batch next() {
            if (!hasNext()) {
              throw new java.util.NoSuchElementException();
            }
            int[] members = groups.get(next++);
            int[] rows = new int[members.length];
            for (int k = 0; k < members.length; k++) {
              rows[k] = which[members[k]];
            }
            return make.apply(rows);
          }
        };
      }
    };
  }

  /** Creates {@code dir} (and parents); an error names it when that fails. */
  static Path create(Path dir) {
    try {
      return Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the output folder " + dir, e);
    }
  }

  /**
   * A fit builder with what every task wants: the options' epochs, backend, progress and early
   * stopping (restoring the best weights), checkpoints, the CSV log and the curves in {@code dir}.
   */
  static Fit.Builder fit(dev.jrnn.Training training, TaskOptions o, Path dir) {
    Fit.Builder b =
        Fit.builder(training)
            .options(o.engineOptions())
            .epochs(o.epochs())
            .restoreBest(true)
            .checkpoints(dir.resolve(CHECKPOINTS))
            .csv(dir.resolve(METRICS))
            .plot(dir.resolve(CURVES))
            .progress(o.progress());
    if (o.patience() > 0) {
      b.earlyStopping(o.patience());
    }
    return b;
  }

  /**
   * Runs {@code fit} from {@code initial}, or, when the options say {@link TaskOptions#resume} and
   * {@code dir} holds a last checkpoint, continues from it.
   */
  static Fitted fitOrResume(
      Fit fit, dev.jrnn.Graph g, dev.jrnn.Weights initial, Batches train, TaskOptions o, Path dir) {
    Path last = dir.resolve(CHECKPOINTS).resolve(Fit.LAST);
    if (o.resume() && Files.isRegularFile(last)) {
      o.out().println("resuming from " + last);
      return fit.resume(last, train);
    }
    return fit.run(g, initial, train);
  }

  /** Total training seconds and sequences per second over a fit's epochs. */
  static double[] throughput(History h) {
    double seconds = 0;
    double sequences = 0;
    for (History.Epoch e : h.epochs()) {
      seconds += e.seconds();
      sequences += e.sequencesPerSecond() * e.seconds();
    }
    return new double[] {seconds, seconds > 0 ? sequences / seconds : 0};
  }

  /**
   * The metrics over {@code batches} with the trainer's current weights, dropout off: the loss's
   * output against each batch's target, on the positions the loss counts (as validation does).
   */
  static Map<String, Double> evaluate(Trainer t, Batches batches, Loss loss, Metric... metrics) {
    return evaluate(t::run, batches, loss, metrics);
  }

  /**
   * The held-out metrics of the trained model with its weight matrices in bf16 and in int8 (what
   * {@code jrnn quantize} writes), keyed {@code "<metric> bf16"} and {@code "<metric> int8"}: the
   * accuracy cost of each precision next to f32's.
   */
  static Map<String, Double> evaluateReduced(
      Fitted f, TaskOptions o, Batches batches, Loss loss, Supplier<Metric[]> metrics) {
    Map<String, Double> out = new LinkedHashMap<>();
    try (Model m = f.trainer().model()) {
      for (Precision p : List.of(Precision.BF16, Precision.INT8)) {
        try (Session s = m.open(o.engineOptions().precision(p))) {
          String suffix = " " + p.name().toLowerCase(Locale.ROOT);
          evaluate(s::run, batches, loss, metrics.get()).forEach((k, v) -> out.put(k + suffix, v));
        }
      }
    }
    return out;
  }

  private static Map<String, Double> evaluate(
      Function<Map<String, Tensor>, Result> run, Batches batches, Loss loss, Metric... metrics) {
    for (Metric m : metrics) {
      m.reset();
    }
    for (Iterator<Batch> it = batches.epoch(1); it.hasNext(); ) {
      try (Batch b = it.next();
          Result r = run.apply(b.inputs())) {
        Predictions p = Predictions.of(loss, r.get(loss.output()), b);
        for (Metric m : metrics) {
          m.update(p);
        }
      }
    }
    Map<String, Double> out = new LinkedHashMap<>();
    for (Metric m : metrics) {
      out.put(m.name(), m.value());
    }
    return out;
  }

  /** Saves the trained model with the task's metadata into {@code dir}. */
  static Path saveModel(Fitted f, String task, Path dir) {
    f.trainer().putMetadata(TASK_KEY, task);
    Path file = dir.resolve(MODEL);
    try (var m = f.trainer().model()) {
      m.save(file);
    }
    return file;
  }
}
