package dev.jrnn.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Random;

/**
 * Splits item indices into batches: in order, shuffled, or bucketed by length so that a batch
 * padded to its longest sequence wastes little. Every index appears in exactly one batch; only the
 * last batch (of a chunk, when bucketing) may be smaller. Seeded methods give the same batches for
 * the same seed on every JVM.
 *
 * <pre>{@code
 * for (int[] batch : Batching.bucketed(lengths, 32, epochSeed)) {
 *   Padded p = Padding.pad(Splits.select(sequences, batch));
 *   ...
 * }
 * }</pre>
 */
public final class Batching {

  /** Batching per chunk that {@link #bucketed(int[], int, long)} sorts by length. */
  public static final int DEFAULT_CHUNK_BATCHES = 50;

  private Batching() {}

  /** Batching of {@code 0..n-1} in order: {@code [0, size)}, {@code [size, 2·size)}, … */
  public static List<int[]> inOrder(int n, int batchSize) {
    checkArgs(n, batchSize);
    int[] all = new int[n];
    for (int i = 0; i < n; i++) {
      all[i] = i;
    }
    return cut(all, 0, n, batchSize, new ArrayList<>());
  }

  /** Batching of a seeded permutation of {@code 0..n-1}. */
  public static List<int[]> shuffled(int n, int batchSize, long seed) {
    checkArgs(n, batchSize);
    return cut(Splits.permutation(n, seed), 0, n, batchSize, new ArrayList<>());
  }

  /**
   * Length-bucketed batches with {@link #DEFAULT_CHUNK_BATCHES} batches per chunk: see {@link
   * #bucketed(int[], int, int, long)}.
   */
  public static List<int[]> bucketed(int[] lengths, int batchSize, long seed) {
    return bucketed(lengths, batchSize, DEFAULT_CHUNK_BATCHES, seed);
  }

  /**
   * Length-bucketed batches of {@code 0..lengths.length-1}: the indices are shuffled, cut into
   * chunks of {@code batchSize · chunkBatches}, each chunk sorted by length (stably, so ties keep
   * their shuffled order) and cut into batches, and the order of all batches is shuffled. Larger
   * chunks waste less padding but make batches less random; {@code Integer.MAX_VALUE} sorts the
   * whole data set.
   *
   * @param lengths each item's length (e.g. its number of tokens), {@code >= 0}
   */
  public static List<int[]> bucketed(int[] lengths, int batchSize, int chunkBatches, long seed) {
    Objects.requireNonNull(lengths, "lengths");
    int n = lengths.length;
    checkArgs(n, batchSize);
    if (chunkBatches < 1) {
      throw new IllegalArgumentException("chunkBatches must be at least 1, got " + chunkBatches);
    }
    checkLengths(lengths);
    Random rnd = new Random(seed);
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    Splits.shuffle(p, rnd);
    long chunk = (long) batchSize * chunkBatches;
    List<int[]> batches = new ArrayList<>(n / batchSize + 1);
    for (int start = 0; start < n; start = (int) Math.min(n, start + chunk)) {
      int end = (int) Math.min(n, start + chunk);
      sortByLength(p, start, end, lengths);
      cut(p, start, end, batchSize, batches);
    }
    Collections.shuffle(batches, rnd);
    return batches;
  }

  /** Each sequence's length, for {@link #bucketed}. */
  public static int[] lengthsOf(List<int[]> sequences) {
    Objects.requireNonNull(sequences, "sequences");
    int[] out = new int[sequences.size()];
    for (int i = 0; i < out.length; i++) {
      int[] s = sequences.get(i);
      if (s == null) {
        throw new IllegalArgumentException("sequence " + i + " is null");
      }
      out[i] = s.length;
    }
    return out;
  }

  /**
   * The fraction of positions that would hold padding if each batch were padded to its longest
   * item: {@code 1 − Σ length / Σ (batch size · its longest length)}; 0 when nothing has length.
   */
  public static double paddingFraction(int[] lengths, List<int[]> batches) {
    Objects.requireNonNull(lengths, "lengths");
    Objects.requireNonNull(batches, "batches");
    checkLengths(lengths);
    long real = 0;
    long cells = 0;
    for (int[] b : batches) {
      int max = 0;
      for (int i : b) {
        if (i < 0 || i >= lengths.length) {
          throw new IndexOutOfBoundsException(
              "index " + i + " in a batch, but there are " + lengths.length + " lengths");
        }
        max = Math.max(max, lengths[i]);
        real += lengths[i];
      }
      cells += (long) max * b.length;
    }
    return cells == 0 ? 0 : 1.0 - (double) real / cells;
  }

  private static void sortByLength(int[] p, int from, int to, int[] lengths) {
    Integer[] boxed = new Integer[to - from];
    for (int i = from; i < to; i++) {
      boxed[i - from] = p[i];
    }
    Arrays.sort(boxed, (a, b) -> Integer.compare(lengths[a], lengths[b])); // stable
    for (int i = from; i < to; i++) {
      p[i] = boxed[i - from];
    }
  }

  private static List<int[]> cut(int[] p, int from, int to, int batchSize, List<int[]> out) {
    for (int s = from; s < to; s += batchSize) {
      out.add(Arrays.copyOfRange(p, s, Math.min(to, s + batchSize)));
    }
    return out;
  }

  private static void checkArgs(int n, int batchSize) {
    if (n < 0) {
      throw new IllegalArgumentException("cannot batch " + n + " items");
    }
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
    }
  }

  private static void checkLengths(int[] lengths) {
    for (int i = 0; i < lengths.length; i++) {
      if (lengths[i] < 0) {
        throw new IllegalArgumentException("length " + i + " is negative: " + lengths[i]);
      }
    }
  }
}
