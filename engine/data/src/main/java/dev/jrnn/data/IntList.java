package dev.jrnn.data;

import java.util.Arrays;

/** A growable int array. */
final class IntList {

  private int[] a;
  private int n;

  IntList(int capacity) {
    a = new int[Math.max(capacity, 4)];
  }

  void add(int v) {
    if (n == a.length) {
      a = Arrays.copyOf(a, a.length * 2);
    }
    a[n++] = v;
  }

  /** Appends {@code src[from, to)}. */
  void add(int[] src, int from, int to) {
    int k = to - from;
    if (n + k > a.length) {
      a = Arrays.copyOf(a, Math.max(a.length * 2, n + k));
    }
    System.arraycopy(src, from, a, n, k);
    n += k;
  }

  int[] toArray() {
    return Arrays.copyOf(a, n);
  }
}
