package dev.jrnn.data;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Pads and truncates id sequences to one length, as Keras' {@code pad_sequences} does, giving a
 * {@link Padded} batch that makes the tensors a graph takes.
 *
 * <p>The defaults differ from Keras on purpose: jrnn pads and truncates at the end ({@link
 * Side#POST}), because a recurrent layer's {@code lengths} input means "row {@code n} is its first
 * {@code lengths[n]} steps". With {@link Side#PRE} padding the real tokens sit at the end of each
 * row, which {@code lengths} cannot describe; such a batch gives a {@link Padded#mask() mask} but
 * refuses {@link Padded#lengthsTensor()}.
 *
 * <pre>{@code
 * Padded batch = Padding.pad(ids, 200);            // POST, POST, pad 0
 * try (Tensor tokens = batch.tokens();             // I32 [T, N]
 *      Tensor lengths = batch.lengthsTensor()) {   // I32 [N]
 *   session.run(Map.of("tokens", tokens, "lengths", lengths));
 * }
 * }</pre>
 */
public final class Padding {

  /** Which end of a sequence padding is added to, or tokens are cut from. */
  public enum Side {
    /** At the start. */
    PRE,
    /** At the end (jrnn's default: rows stop at their length). */
    POST
  }

  private Padding() {}

  /** Pads every sequence with {@code 0} at the end to the longest one's length. */
  public static Padded pad(List<int[]> sequences) {
    return pad(sequences, longest(sequences), Side.POST, Side.POST, 0);
  }

  /**
   * Pads with {@code 0} at the end to {@code length}; longer sequences keep their first {@code
   * length} ids.
   */
  public static Padded pad(List<int[]> sequences, int length) {
    return pad(sequences, length, Side.POST, Side.POST, 0);
  }

  /**
   * Pads or truncates every sequence to {@code length}.
   *
   * @param sequences the id sequences, at least one; none null
   * @param length the padded length {@code T}, at least 1
   * @param padding where padding goes: {@link Side#POST} after the ids, {@link Side#PRE} before
   * @param truncating which ids a longer sequence loses: {@link Side#POST} its last ones (it keeps
   *     its first {@code length}), {@link Side#PRE} its first ones (it keeps its last {@code
   *     length})
   * @param value the id written into padded positions
   */
  public static Padded pad(
      List<int[]> sequences, int length, Side padding, Side truncating, int value) {
    Objects.requireNonNull(sequences, "sequences");
    Objects.requireNonNull(padding, "padding");
    Objects.requireNonNull(truncating, "truncating");
    if (sequences.isEmpty()) {
      throw new IllegalArgumentException("no sequences to pad");
    }
    if (length < 1) {
      throw new IllegalArgumentException("padded length must be at least 1, got " + length);
    }
    int n = sequences.size();
    int[] ids = new int[Math.multiplyExact(n, length)]; // [N, T]
    int[] lengths = new int[n];
    for (int r = 0; r < n; r++) {
      int[] seq = sequences.get(r);
      if (seq == null) {
        throw new IllegalArgumentException("sequence " + r + " is null");
      }
      int len = Math.min(seq.length, length);
      int from = truncating == Side.PRE ? seq.length - len : 0;
      int to = r * length + (padding == Side.PRE ? length - len : 0);
      Arrays.fill(ids, r * length, (r + 1) * length, value);
      System.arraycopy(seq, from, ids, to, len);
      lengths[r] = len;
    }
    return new Padded(ids, lengths, length, padding);
  }

  private static int longest(List<int[]> sequences) {
    Objects.requireNonNull(sequences, "sequences");
    int max = 0;
    for (int i = 0; i < sequences.size(); i++) {
      int[] s = sequences.get(i);
      if (s == null) {
        throw new IllegalArgumentException("sequence " + i + " is null");
      }
      max = Math.max(max, s.length);
    }
    if (max == 0 && !sequences.isEmpty()) {
      throw new IllegalArgumentException(
          "all " + sequences.size() + " sequences are empty: nothing to pad to");
    }
    return max;
  }
}
