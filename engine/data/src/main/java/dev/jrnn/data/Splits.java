package dev.jrnn.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;

/**
 * Seeded shuffling and train/validation/test splits of item indices {@code 0..n-1}. The same seed
 * gives the same result on every JVM ({@link Random}'s generator is specified).
 *
 * <p>Split sizes come from cumulative rounding: with fractions {@code a, b, c}, the training part
 * is indices {@code [0, round(a·n))} of a permutation, validation {@code [round(a·n),
 * round((a+b)·n))} and test {@code [round((a+b)·n), round((a+b+c)·n))}, so each part is within one
 * item of its exact share and fractions summing to 1 use every item. A {@link #stratified} split
 * does this per class.
 */
public final class Splits {

  private Splits() {}

  /**
   * Indices of a train/validation/test split; each array is a fresh copy, in shuffled order.
   *
   * @param train training items
   * @param validation validation items
   * @param test test items
   */
  public record Split(int[] train, int[] validation, int[] test) {

    /** Copies the arrays. */
    public Split {
      train = train.clone();
      validation = validation.clone();
      test = test.clone();
    }

    /** The training indices (a copy). */
    @Override
    public int[] train() {
      return train.clone();
    }

    /** The validation indices (a copy). */
    @Override
    public int[] validation() {
      return validation.clone();
    }

    /** The test indices (a copy). */
    @Override
    public int[] test() {
      return test.clone();
    }

    /** Equal when the three index arrays are. */
    @Override
    public boolean equals(Object o) {
      return o instanceof Split s
          && Arrays.equals(train, s.train)
          && Arrays.equals(validation, s.validation)
          && Arrays.equals(test, s.test);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(train) * 961
          + Arrays.hashCode(validation) * 31
          + Arrays.hashCode(test);
    }

    /** "Split(train 800, validation 100, test 100)". */
    @Override
    public String toString() {
      return "Split(train "
          + train.length
          + ", validation "
          + validation.length
          + ", test "
          + test.length
          + ")";
    }
  }

  /** A permutation of {@code 0..n-1}, the same for the same seed. */
  public static int[] permutation(int n, long seed) {
    if (n < 0) {
      throw new IllegalArgumentException("cannot permute " + n + " items");
    }
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    shuffle(p, new Random(seed));
    return p;
  }

  /** Shuffles {@code values} in place (Fisher–Yates), the same way for the same seed. */
  public static void shuffle(int[] values, long seed) {
    shuffle(values, new Random(seed));
  }

  static void shuffle(int[] a, Random rnd) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  /**
   * A seeded random split of {@code n} items into parts of the given fractions; what the fractions
   * leave over (when they sum to less than 1) is in no part.
   *
   * @throws IllegalArgumentException if a fraction is negative or not finite, or they sum to more
   *     than 1
   */
  public static Split random(int n, double train, double validation, double test, long seed) {
    checkFractions(train, validation, test);
    int[] p = permutation(n, seed);
    int[] cut = cuts(n, train, validation, test);
    return new Split(
        Arrays.copyOfRange(p, 0, cut[0]),
        Arrays.copyOfRange(p, cut[0], cut[1]),
        Arrays.copyOfRange(p, cut[1], cut[2]));
  }

  /**
   * A seeded split that keeps each class's share: the items of each label (integer class ids, any
   * values) are split by the fractions on their own (each part within one item of the class's exact
   * share), then each part is shuffled so classes interleave.
   *
   * @throws IllegalArgumentException for bad fractions, as {@link #random}
   */
  public static Split stratified(
      int[] labels, double train, double validation, double test, long seed) {
    Objects.requireNonNull(labels, "labels");
    checkFractions(train, validation, test);
    TreeMap<Integer, List<Integer>> byClass = new TreeMap<>();
    for (int i = 0; i < labels.length; i++) {
      byClass.computeIfAbsent(labels[i], k -> new ArrayList<>()).add(i);
    }
    Random rnd = new Random(seed);
    IntList tr = new IntList(labels.length);
    IntList va = new IntList(labels.length);
    IntList te = new IntList(labels.length);
    for (List<Integer> members : byClass.values()) {
      int[] idx = members.stream().mapToInt(Integer::intValue).toArray();
      shuffle(idx, rnd);
      int[] cut = cuts(idx.length, train, validation, test);
      tr.add(idx, 0, cut[0]);
      va.add(idx, cut[0], cut[1]);
      te.add(idx, cut[1], cut[2]);
    }
    int[] a = tr.toArray();
    int[] b = va.toArray();
    int[] c = te.toArray();
    shuffle(a, rnd);
    shuffle(b, rnd);
    shuffle(c, rnd);
    return new Split(a, b, c);
  }

  /** The items at {@code indices}, in that order (a new list). */
  public static <T> List<T> select(List<T> items, int[] indices) {
    Objects.requireNonNull(items, "items");
    List<T> out = new ArrayList<>(indices.length);
    for (int i : indices) {
      if (i < 0 || i >= items.size()) {
        throw new IndexOutOfBoundsException("index " + i + " of " + items.size() + " items");
      }
      out.add(items.get(i));
    }
    return out;
  }

  /** The values at {@code indices}, in that order (a new array). */
  public static int[] select(int[] values, int[] indices) {
    int[] out = new int[indices.length];
    for (int k = 0; k < indices.length; k++) {
      int i = indices[k];
      if (i < 0 || i >= values.length) {
        throw new IndexOutOfBoundsException("index " + i + " of " + values.length + " values");
      }
      out[k] = values[i];
    }
    return out;
  }

  private static int[] cuts(int n, double a, double b, double c) {
    int c1 = (int) Math.min(n, Math.round(a * n));
    int c2 = (int) Math.min(n, Math.round((a + b) * n));
    int c3 = (int) Math.min(n, Math.round((a + b + c) * n));
    return new int[] {c1, Math.max(c1, c2), Math.max(c2, c3)};
  }

  private static void checkFractions(double train, double validation, double test) {
    double[] f = {train, validation, test};
    String[] names = {"train", "validation", "test"};
    for (int i = 0; i < 3; i++) {
      if (!(f[i] >= 0) || Double.isInfinite(f[i])) {
        throw new IllegalArgumentException(
            names[i] + " fraction must be a number in [0, 1], got " + f[i]);
      }
    }
    double sum = train + validation + test;
    if (sum > 1 + 1e-9) {
      throw new IllegalArgumentException(
          "split fractions sum to "
              + sum
              + " (train "
              + train
              + " + validation "
              + validation
              + " + test "
              + test
              + "); they must sum to at most 1");
    }
  }
}
