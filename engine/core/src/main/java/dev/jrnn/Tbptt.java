package dev.jrnn;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Truncated backpropagation through time for {@link Trainer#stepTruncated}: a long sequence is cut
 * into chunks of {@code k1} steps; in each chunk the first {@code k1 − k2} steps only advance the
 * state, the last {@code k2} are trained (their outputs in the loss, gradients through them only),
 * and the final state is carried into the next chunk without a gradient. Immutable.
 *
 * <pre>{@code
 * Tbptt how = Tbptt.of(50, 50).sequences("tokens").state("h0", "hN").state("c0", "cN");
 * }</pre>
 */
public final class Tbptt {

  private final int k1;
  private final int k2;
  private final List<String> sequences;
  private final Map<String, String> state; // input -> output
  private final int timeAxis;

  private Tbptt(int k1, int k2, List<String> sequences, Map<String, String> state, int axis) {
    this.k1 = k1;
    this.k2 = k2;
    this.sequences = List.copyOf(sequences);
    this.state = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(state));
    this.timeAxis = axis;
  }

  /** Chunks of {@code k1} steps, the last {@code k2 ≤ k1} of each trained. */
  public static Tbptt of(int k1, int k2) {
    if (k1 < 1 || k2 < 1 || k2 > k1) {
      throw new IllegalArgumentException("need 1 <= k2 <= k1, got k1 = " + k1 + ", k2 = " + k2);
    }
    return new Tbptt(k1, k2, List.of(), Map.of(), 0);
  }

  /** The inputs cut along the time axis (the others are given whole to every chunk). */
  public Tbptt sequences(String... inputs) {
    return new Tbptt(k1, k2, List.of(inputs), state, timeAxis);
  }

  /** A state carried between chunks: graph output {@code output} feeds input {@code input}. */
  public Tbptt state(String input, String output) {
    Map<String, String> m = new LinkedHashMap<>(state);
    m.put(Objects.requireNonNull(input, "input"), Objects.requireNonNull(output, "output"));
    return new Tbptt(k1, k2, sequences, m, timeAxis);
  }

  /**
   * The time axis of the sequence inputs and of the target: 0 time-major (the default), 1
   * batch-first.
   */
  public Tbptt timeAxis(int axis) {
    if (axis != 0 && axis != 1) {
      throw new IllegalArgumentException("the time axis is 0 or 1, got " + axis);
    }
    return new Tbptt(k1, k2, sequences, state, axis);
  }

  /** Steps per chunk. */
  public int k1() {
    return k1;
  }

  /** Trained steps per chunk. */
  public int k2() {
    return k2;
  }

  /** The inputs cut along time. */
  public List<String> sequences() {
    return sequences;
  }

  /** State input to the output that feeds it. */
  public Map<String, String> state() {
    return state;
  }

  /** The time axis. */
  public int timeAxis() {
    return timeAxis;
  }

  @Override
  public String toString() {
    return "Tbptt[k1=" + k1 + ", k2=" + k2 + ", sequences=" + sequences + ", state=" + state + "]";
  }
}
