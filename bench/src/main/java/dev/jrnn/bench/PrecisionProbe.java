package dev.jrnn.bench;

import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Session;
import dev.jrnn.Weights;

/**
 * Opens sessions in a requested precision and tells which precision their kernels read the weight
 * matrices in ({@link Session#weightPrecisions}): a backend without kernels for a reduced precision
 * still opens, widening the rounded weights to f32, and a benchmark labels that row instead of
 * presenting f32 kernels as bf16.
 */
public final class PrecisionProbe {

  /**
   * A session and the precision its kernels read the weight matrices in.
   *
   * @param session the open session; the caller closes it
   * @param read the requested precision, or {@link Precision#F32} where the session widened any
   *     matrix to it
   */
  public record Opened(Session session, Precision read) {

    /** Whether the session widened the requested reduced precision to f32. */
    public boolean widened(Precision requested) {
      return read != requested;
    }
  }

  private PrecisionProbe() {}

  /** Opens {@code graph} with {@code options.precision(p)}. */
  public static Opened open(Graph graph, Weights weights, Options options, Precision p) {
    Session s = Session.open(graph, weights, options.precision(p));
    boolean widened = s.weightPrecisions().values().stream().anyMatch(q -> q != p);
    return new Opened(s, widened ? Precision.F32 : p);
  }
}
