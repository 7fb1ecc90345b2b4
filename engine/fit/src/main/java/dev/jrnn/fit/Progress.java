package dev.jrnn.fit;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * How a fit reports progress, to a stream the caller gives:
 *
 * <ul>
 *   <li>{@link #bar}: one progress bar per epoch (step/total, elapsed time and ETA, the running
 *       mean loss and sequences per second), the epoch's summary on the line below it (a bar is as
 *       wide as the terminal, too narrow for every metric);
 *   <li>{@link #plain}: exactly one line per epoch, for logs: {@code epoch 3/10 - loss 0.4123 -
 *       val_loss 0.3981 - val_accuracy 0.8750 - lr 1.00e-03 - 2.1 s - 1523 seq/s}, and, on the
 *       epoch that early stopping ends, why;
 *   <li>{@link #auto}: the bar on a terminal, plain lines otherwise;
 *   <li>{@link #quiet}: nothing.
 * </ul>
 */
public final class Progress {

  private enum Kind {
    BAR,
    PLAIN,
    QUIET
  }

  private final Kind kind;
  private final PrintStream out;

  private Progress(Kind kind, PrintStream out) {
    this.kind = kind;
    this.out = out;
  }

  /** A bar per epoch on {@code out}. */
  public static Progress bar(PrintStream out) {
    return new Progress(Kind.BAR, Objects.requireNonNull(out, "out"));
  }

  /** One line per epoch on {@code out}. */
  public static Progress plain(PrintStream out) {
    return new Progress(Kind.PLAIN, Objects.requireNonNull(out, "out"));
  }

  /**
   * {@link #bar} when the JVM runs on a terminal ({@code System.console()} is one), else {@link
   * #plain}.
   */
  public static Progress auto(PrintStream out) {
    var console = System.console();
    return console != null && console.isTerminal() ? bar(out) : plain(out);
  }

  /** No output. */
  public static Progress quiet() {
    return new Progress(Kind.QUIET, null);
  }

  Callback callback() {
    return switch (kind) {
      case BAR -> new Bar(out);
      case PLAIN -> new Plain(out);
      case QUIET -> new Callback() {};
    };
  }

  @Override
  public String toString() {
    return "Progress." + kind.name().toLowerCase(Locale.ROOT);
  }

  /** "loss 0.4123 - val_loss 0.3981 - ... - 2.1 s - 1523 seq/s" and why early stopping ended. */
  static String summary(History.Epoch e, History h) {
    StringBuilder b = new StringBuilder("loss ").append(number(e.loss()));
    if (!Double.isNaN(e.valLoss())) {
      b.append(" - val_loss ").append(number(e.valLoss()));
    }
    for (Map.Entry<String, Double> m : e.metrics().entrySet()) {
      b.append(" - ").append(m.getKey()).append(' ').append(number(m.getValue()));
    }
    b.append(String.format(Locale.ROOT, " - lr %.2e", e.learningRate()));
    b.append(String.format(Locale.ROOT, " - %.1f s", e.seconds()));
    b.append(String.format(Locale.ROOT, " - %.0f seq/s", e.sequencesPerSecond()));
    if (h.stoppedEpoch() == e.epoch()) {
      b.append(" - early stop: ")
          .append(h.monitor())
          .append(
              h.bestEpoch() == 0
                  ? " never improved"
                  : " best " + number(h.best()) + " at epoch " + h.bestEpoch());
    }
    return b.toString();
  }

  static String number(double v) {
    double a = Math.abs(v);
    return a == 0 || (a >= 1e-3 && a < 1e5) || !Double.isFinite(v)
        ? String.format(Locale.ROOT, "%.4f", v)
        : String.format(Locale.ROOT, "%.4e", v);
  }

  private static final class Plain implements Callback {
    private final PrintStream out;
    private int epochs;

    Plain(PrintStream out) {
      this.out = out;
    }

    @Override
    public void onEpochBegin(int epoch, int epochs, int batches) {
      this.epochs = epochs;
    }

    @Override
    public void onEpochEnd(History.Epoch row, History history) {
      out.println("epoch " + row.epoch() + "/" + epochs + " - " + summary(row, history));
      out.flush();
    }
  }

  private static final class Bar implements Callback, AutoCloseable {
    private final PrintStream out;
    private ProgressBar bar;

    Bar(PrintStream out) {
      this.out = out;
    }

    @Override
    public void onEpochBegin(int epoch, int epochs, int batches) {
      bar =
          new ProgressBarBuilder()
              .setTaskName("epoch " + epoch + "/" + epochs)
              .setInitialMax(batches)
              .setStyle(ProgressBarStyle.ASCII)
              .setUpdateIntervalMillis(250)
              .setConsumer(new ConsoleProgressBarConsumer(out))
              .build();
    }

    @Override
    public void onStep(Step s) {
      bar.stepTo(s.batch());
      bar.setExtraMessage(
          String.format(
              Locale.ROOT, "loss %s - %.0f seq/s", number(s.meanLoss()), s.sequencesPerSecond()));
    }

    /** Closes the bar as the last step left it and prints the whole summary below it. */
    @Override
    public void onEpochEnd(History.Epoch row, History history) {
      bar.close();
      bar = null;
      out.println("  " + summary(row, history));
      out.flush();
    }

    /** Closes a bar that a failed epoch left open. */
    @Override
    public void close() {
      if (bar != null) {
        bar.close();
        bar = null;
      }
    }
  }
}
