package dev.jrnn.bench;

import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Session;
import dev.jrnn.Weights;
import java.util.Locale;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Opens sessions in a requested precision and tells which precision their kernels read the weight
 * matrices in. A backend without kernels for a reduced precision still opens: the session widens
 * the reduced weights to f32 once and says so in one log line ("B has no bf16 kernels for ...");
 * that line, read from the {@code dev.jrnn} logger while the session opens, is the only report the
 * public API gives, so a benchmark can label the row instead of presenting f32 kernels as bf16.
 */
public final class PrecisionProbe {

  /** The logger name jrnn's sessions log to (through {@link System.Logger}, here JUL). */
  static final String LOGGER = "dev.jrnn";

  /**
   * A session and the precision its kernels read the weight matrices in.
   *
   * @param session the open session; the caller closes it
   * @param read the requested precision, or {@link Precision#F32} where the session widened it
   */
  public record Opened(Session session, Precision read) {

    /** Whether the session widened the requested reduced precision to f32. */
    public boolean widened(Precision requested) {
      return read != requested;
    }
  }

  private PrecisionProbe() {}

  /**
   * Opens {@code graph} with {@code options.precision(p)}, watching the session's log for the line
   * that says it widened {@code p} to f32.
   */
  public static Opened open(Graph graph, Weights weights, Options options, Precision p) {
    if (p == Precision.F32) {
      return new Opened(Session.open(graph, weights, options.precision(p)), p);
    }
    String marker = " has no " + p.name().toLowerCase(Locale.ROOT) + " kernels";
    Logger log = Logger.getLogger(LOGGER);
    Level before = log.getLevel();
    boolean[] widened = {false};
    Handler h =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            if (r.getMessage() != null && r.getMessage().contains(marker)) {
              widened[0] = true;
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    log.addHandler(h);
    if (!log.isLoggable(Level.INFO)) {
      log.setLevel(Level.INFO); // the line is INFO: hear it even where the logger is quieter
    }
    try {
      Session s = Session.open(graph, weights, options.precision(p));
      return new Opened(s, widened[0] ? Precision.F32 : p);
    } finally {
      log.removeHandler(h);
      log.setLevel(before);
    }
  }
}
