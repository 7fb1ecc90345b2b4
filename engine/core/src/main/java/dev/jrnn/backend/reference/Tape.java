package dev.jrnn.backend.reference;

import dev.jrnn.Activation;
import java.util.Arrays;

/**
 * A Wengert list in double precision: every scalar the reference backend computes is a node with
 * its value and, when recording, its parents and the local partial derivative with respect to each.
 * {@link #backward} walks the list once in reverse, so every gradient the reference gives is the
 * chain rule applied literally — the oracle the fast backward passes are checked against. Nothing
 * is recorded for inference, where only values are kept.
 */
final class Tape {

  /** Parent entries above which recording refuses: the reference is an oracle for small shapes. */
  static final long MAX_ENTRIES = 1L << 27;

  private final boolean recording;
  private double[] val = new double[1024];
  private double[] adj;
  private int[] start = new int[1025]; // parents of node i: par[start[i] .. start[i+1])
  private int[] par = new int[4096];
  private double[] partial = new double[4096];
  private int size;
  private int entries;
  private int perturbAt = -1; // a test's central difference: leaf index and offset
  private double perturbBy;

  Tape(boolean recording) {
    this.recording = recording;
  }

  boolean recording() {
    return recording;
  }

  double val(int i) {
    return val[i];
  }

  /** A node without parents: an input, a weight, a constant. */
  int leaf(double v) {
    return push(size == perturbAt ? v + perturbBy : v, 0);
  }

  /**
   * Adds {@code delta} to the value of the leaf that will be node {@code node} (traces are
   * deterministic, so a test can find the same leaf again): finite differences in double precision.
   */
  void perturb(int node, double delta) {
    perturbAt = node;
    perturbBy = delta;
  }

  /** Leaves for {@code v}'s elements. */
  int[] leaves(float[] v) {
    int[] ids = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      ids[i] = leaf(v[i]);
    }
    return ids;
  }

  /** {@code Σ xs}. */
  int sum(int... xs) {
    double s = 0;
    for (int x : xs) {
      s += val[x];
    }
    int n = push(s, xs.length);
    if (recording) {
      for (int x : xs) {
        edge(x, 1);
      }
    }
    return n;
  }

  /** {@code Σ_k a[aOff + k] · b[bOff + k]} for k below {@code len}. */
  int dot(int[] a, int aOff, int[] b, int bOff, int len) {
    double s = 0;
    for (int k = 0; k < len; k++) {
      s += val[a[aOff + k]] * val[b[bOff + k]];
    }
    int n = push(s, 2 * len);
    if (recording) {
      for (int k = 0; k < len; k++) {
        edge(a[aOff + k], val[b[bOff + k]]);
        edge(b[bOff + k], val[a[aOff + k]]);
      }
    }
    return n;
  }

  int add(int a, int b) {
    return binary(val[a] + val[b], a, 1, b, 1);
  }

  int sub(int a, int b) {
    return binary(val[a] - val[b], a, 1, b, -1);
  }

  int mul(int a, int b) {
    return binary(val[a] * val[b], a, val[b], b, val[a]);
  }

  int div(int a, int b) {
    double q = val[a] / val[b];
    return binary(q, a, 1 / val[b], b, -q / val[b]);
  }

  /** {@code c · a + d}. */
  int affine(int a, double c, double d) {
    return unary(c * val[a] + d, a, c);
  }

  int exp(int a) {
    double e = Math.exp(val[a]);
    return unary(e, a, e);
  }

  int log(int a) {
    return unary(Math.log(val[a]), a, 1 / val[a]);
  }

  int act(Activation f, int a) {
    return unary(f.apply(val[a]), a, f.derivative(val[a]));
  }

  /** {@code a} clamped to {@code [-c, c]}: gradient 1 inside, 0 where clamped. */
  int clip(int a, double c) {
    double v = val[a];
    if (v > c) {
      return unary(c, a, 0);
    }
    if (v < -c) {
      return unary(-c, a, 0);
    }
    return unary(v, a, 1);
  }

  /** A node equal to {@code a} whose gradient is scaled by {@code s} (dropout's mask). */
  int scale(int a, double s) {
    return unary(s * val[a], a, s);
  }

  /** Adds {@code g} to node {@code i}'s adjoint before {@link #backward}. */
  void seed(int i, double g) {
    adjoints()[i] += g;
  }

  /** The chain rule, once, from the last node to the first. */
  void backward() {
    if (!recording) {
      throw new IllegalStateException("the tape did not record");
    }
    double[] a = adjoints();
    for (int i = size - 1; i >= 0; i--) {
      double g = a[i];
      if (g == 0) {
        continue;
      }
      for (int k = start[i]; k < start[i + 1]; k++) {
        a[par[k]] += g * partial[k];
      }
    }
  }

  /** dLoss/d(node i) after {@link #backward}. */
  double adj(int i) {
    return adjoints()[i];
  }

  private double[] adjoints() {
    if (adj == null || adj.length < size) {
      adj = adj == null ? new double[size] : Arrays.copyOf(adj, size);
    }
    return adj;
  }

  private int unary(double v, int a, double da) {
    int n = push(v, 1);
    if (recording) {
      edge(a, da);
    }
    return n;
  }

  private int binary(double v, int a, double da, int b, double db) {
    int n = push(v, 2);
    if (recording) {
      edge(a, da);
      edge(b, db);
    }
    return n;
  }

  private int push(double v, int parents) {
    if (size == val.length) {
      val = Arrays.copyOf(val, size * 2);
      start = Arrays.copyOf(start, size * 2 + 1);
    }
    if (recording) {
      long need = (long) entries + parents;
      if (need > MAX_ENTRIES) {
        throw new IllegalStateException(
            "the reference backend would record more than "
                + MAX_ENTRIES
                + " derivative terms for this pass; it is the oracle for small shapes, train"
                + " larger ones on the java backend");
      }
      if (need > par.length) {
        int cap = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(need, 2L * par.length));
        par = Arrays.copyOf(par, cap);
        partial = Arrays.copyOf(partial, cap);
      }
    }
    val[size] = v;
    start[size] = entries;
    start[size + 1] = entries;
    return size++;
  }

  private void edge(int parent, double d) {
    par[entries] = parent;
    partial[entries] = d;
    entries++;
    start[size] = entries;
  }
}
