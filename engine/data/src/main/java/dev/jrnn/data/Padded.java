package dev.jrnn.data;

import dev.jrnn.Tensor;
import java.util.Arrays;

/**
 * A batch of {@code N} id sequences padded to length {@code T} by {@link Padding}: the ids, each
 * row's number of real ids, and the tensors a graph takes. Immutable. Every tensor method returns a
 * new tensor that the caller owns and closes.
 *
 * <p>Layouts: a graph's {@code embedding} takes I32 ids of any shape and appends the embedding
 * axis, so time-major ids {@code [T, N]} give the {@code [T, N, C]} sequence a recurrent layer
 * takes by default, and batch-first ids {@code [N, T]} give {@code [N, T, C]} for a {@code
 * batchFirst()} layer. {@link #tokens()} is time-major, jrnn's default; {@link #tokens(boolean)}
 * picks.
 */
public final class Padded {

  private final int[] ids; // [N, T]
  private final int[] lengths; // [N]
  private final int length;
  private final Padding.Side padding;

  Padded(int[] ids, int[] lengths, int length, Padding.Side padding) {
    this.ids = ids;
    this.lengths = lengths;
    this.length = length;
    this.padding = padding;
  }

  /** Number of sequences, {@code N}. */
  public int batchSize() {
    return lengths.length;
  }

  /** The padded length, {@code T}. */
  public int length() {
    return length;
  }

  /** Where padding was added. */
  public Padding.Side padding() {
    return padding;
  }

  /** Row {@code n}'s {@code T} ids, padding included (a copy). */
  public int[] row(int n) {
    checkRow(n);
    return Arrays.copyOfRange(ids, n * length, (n + 1) * length);
  }

  /** All ids batch-first, row after row, {@code [N·T]} (a copy). */
  public int[] ids() {
    return ids.clone();
  }

  /** Each row's number of real ids after truncation, {@code [N]} (a copy). */
  public int[] lengths() {
    return lengths.clone();
  }

  /** The fraction of the {@code N·T} positions that hold padding. */
  public double paddingFraction() {
    long real = 0;
    for (int l : lengths) {
      real += l;
    }
    return 1.0 - (double) real / ((double) lengths.length * length);
  }

  /** The ids time-major, I32 {@code [T, N]}: the input of an {@code embedding} by default. */
  public Tensor tokens() {
    return tokens(false);
  }

  /** The ids as I32 {@code [N, T]} when {@code batchFirst}, else {@code [T, N]}. */
  public Tensor tokens(boolean batchFirst) {
    int n = lengths.length;
    if (batchFirst) {
      return Tensor.of(ids, n, length);
    }
    int[] tm = new int[ids.length];
    for (int r = 0; r < n; r++) {
      for (int t = 0; t < length; t++) {
        tm[t * n + r] = ids[r * length + t];
      }
    }
    return Tensor.of(tm, length, n);
  }

  /**
   * The sequence lengths, I32 {@code [N]}, for a recurrent layer's {@code lengths} input (and
   * {@code lastStep}, and a loss over padded sequences): row {@code n} is its first {@code
   * lengths[n]} steps.
   *
   * @throws IllegalStateException if the batch was padded {@link Padding.Side#PRE PRE} (its real
   *     ids are at the end of each row, which lengths cannot describe; use {@link #mask()} or pad
   *     POST), or if a row is empty (jrnn's lengths are in {@code [1, T]}), naming the row
   */
  public Tensor lengthsTensor() {
    if (padding == Padding.Side.PRE) {
      throw new IllegalStateException(
          "lengths need POST padding: jrnn's rows stop at their length, but this batch was padded"
              + " PRE (its ids end each row); pad with Padding.Side.POST, or use mask()");
    }
    for (int r = 0; r < lengths.length; r++) {
      if (lengths[r] == 0) {
        throw new IllegalStateException(
            "row "
                + r
                + " is empty (length 0) but jrnn's lengths must be in [1, "
                + length
                + "]; drop empty sequences or encode them with start/end marks");
      }
    }
    return Tensor.of(lengths, lengths.length);
  }

  /** 1 where a position holds a real id and 0 at padding, F32 {@code [T, N]}; PRE or POST. */
  public Tensor mask() {
    return mask(false);
  }

  /** The {@link #mask()} as F32 {@code [N, T]} when {@code batchFirst}, else {@code [T, N]}. */
  public Tensor mask(boolean batchFirst) {
    int n = lengths.length;
    float[] m = new float[ids.length];
    for (int r = 0; r < n; r++) {
      int first = padding == Padding.Side.PRE ? length - lengths[r] : 0;
      for (int t = first; t < first + lengths[r]; t++) {
        m[batchFirst ? r * length + t : t * n + r] = 1f;
      }
    }
    return batchFirst ? Tensor.of(m, n, length) : Tensor.of(m, length, n);
  }

  /** "Padded(N=32, T=200, POST, 41% padding)". */
  @Override
  public String toString() {
    return String.format(
        "Padded(N=%d, T=%d, %s, %.0f%% padding)",
        batchSize(), length, padding, 100 * paddingFraction());
  }

  private void checkRow(int n) {
    if (n < 0 || n >= lengths.length) {
      throw new IndexOutOfBoundsException("row " + n + " of a batch of " + lengths.length);
    }
  }
}
