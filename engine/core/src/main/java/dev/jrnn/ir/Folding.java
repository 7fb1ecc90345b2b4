package dev.jrnn.ir;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.kernels.Arith;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * The data-movement and shape ops evaluated on host values ({@link Const}), with ONNX semantics:
 * negative axes and indices count from the end, slices clamp, integer division truncates. Plain
 * loops; these tensors are small (shapes, initial states) or the ops are copies.
 *
 * <p>While a graph is built, folding runs {@link #within} the graph's {@link Budget}: each fold
 * checks the size of what it makes against it before allocating, so a model of a few bytes cannot
 * make the builder allocate gigabytes (a ConstantOfShape of {@code [65536, 65536]}). Run-time
 * evaluation ({@code spi.FoldKernel}) has no budget beyond the Java array limit.
 */
public final class Folding {

  /**
   * The most elements one value folded while a graph is built may have (a MatMul counts its
   * multiply-adds). Folded values in recurrent models are shapes, index vectors, initial states and
   * small tensors; 16M elements (64 MB of floats) is far beyond them, and well within a heap.
   */
  public static final long MAX_FOLDED_ELEMENTS = 1 << 24;

  /**
   * The most elements all the values folded while one graph is built may have together: folded
   * values stay in the graph as constants, so many folds below {@link #MAX_FOLDED_ELEMENTS} would
   * otherwise add up without bound.
   */
  public static final long MAX_FOLDED_ELEMENTS_PER_GRAPH = 1 << 26;

  private static final ScopedValue<Budget> BUDGET = ScopedValue.newInstance();

  private Folding() {}

  /**
   * What the folds of one graph may still make: {@link #MAX_FOLDED_ELEMENTS} per value and {@link
   * #MAX_FOLDED_ELEMENTS_PER_GRAPH} in all. Not thread-safe; one per graph builder.
   */
  public static final class Budget {
    private long used;

    /** How many elements this graph's folds have made so far. */
    public long used() {
      return used;
    }

    /**
     * Takes {@code n} elements or throws; {@code what} completes "folding …" in the message (as
     * {@code makes a value of shape [2, 3] (6 elements)}).
     */
    void take(long n, String what) {
      if (n > MAX_FOLDED_ELEMENTS) {
        throw new IllegalArgumentException(
            "folding " + what + ", more than the " + MAX_FOLDED_ELEMENTS + " one fold may make");
      }
      if (n > MAX_FOLDED_ELEMENTS_PER_GRAPH - used) {
        throw new IllegalArgumentException(
            "folding "
                + what
                + ", but this graph's folds have made "
                + used
                + " of the "
                + MAX_FOLDED_ELEMENTS_PER_GRAPH
                + " elements they may make in all");
      }
      used += n;
    }
  }

  /** Runs {@code f} (inference that may fold) with folds limited by {@code budget}. */
  public static <T> T within(Budget budget, Supplier<T> f) {
    return ScopedValue.where(BUDGET, budget).call(f::get);
  }

  /** The elements as longs, whatever the constant's type. */
  static long[] asLongs(Const c) {
    if (c.longs() != null) {
      return c.longs();
    }
    long[] v = new long[(int) c.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = c.longAt(i);
    }
    return v;
  }

  static long[] strides(int[] shape) {
    long[] s = new long[shape.length];
    long acc = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      s[i] = acc;
      acc *= shape[i];
    }
    return s;
  }

  static long count(int[] shape) {
    long n = 1;
    for (int d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /** The product of sizes, or {@link Long#MAX_VALUE} when it overflows. */
  private static long saturatedProduct(long... sizes) {
    long n = 1;
    for (long d : sizes) {
      if (d == 0) {
        return 0;
      }
    }
    for (long d : sizes) {
      if (d > 0 && n > Long.MAX_VALUE / d) {
        return Long.MAX_VALUE;
      }
      n *= d;
    }
    return n;
  }

  /**
   * The element count of a value of {@code shape} this fold is about to allocate, checked against
   * the Java array limit and, while a graph is built, taken from its {@link Budget}.
   */
  private static int reserve(int[] shape) {
    long n = saturatedProduct(Arrays.stream(shape).asLongStream().toArray());
    String what = "makes a value of shape " + Arrays.toString(shape) + " (" + n + " elements)";
    if (BUDGET.isBound()) {
      BUDGET.get().take(n, what);
    }
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("folding " + what + ", more than a Java array holds");
    }
    return (int) n;
  }

  /** A new constant with the same elements and another shape. */
  static Const withShape(Const c, int[] shape) {
    return new Const(c.dtype(), shape, c.floats(), c.longs());
  }

  /** Gathers flat source positions {@code src} of {@code c} into a constant of {@code shape}. */
  private static Const pick(Const c, int[] shape, long[] src) {
    if (c.dtype() == DType.F32) {
      float[] v = new float[src.length];
      for (int i = 0; i < v.length; i++) {
        v[i] = c.floats()[(int) src[i]];
      }
      return new Const(DType.F32, shape, v, null);
    }
    long[] v = new long[src.length];
    for (int i = 0; i < v.length; i++) {
      v[i] = c.longs()[(int) src[i]];
    }
    return new Const(DType.I32, shape, null, v);
  }

  static Const binary(Arith fn, Const a, Const b) {
    if (a.dtype() != b.dtype()) {
      throw new IllegalArgumentException("A is " + a.dtype() + " but B is " + b.dtype());
    }
    int[] out = Shapes.broadcast(a.shape(), b.shape());
    reserve(out);
    long[] ia = broadcastIndex(a.shape(), out);
    long[] ib = broadcastIndex(b.shape(), out);
    if (a.dtype() == DType.F32) {
      float[] v = new float[ia.length]; // (as binary(...) below, without widened copies)
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) fn.apply((double) a.floats()[(int) ia[i]], b.floats()[(int) ib[i]]);
      }
      return new Const(DType.F32, out, v, null);
    }
    long[] v = new long[ia.length];
    for (int i = 0; i < v.length; i++) {
      long x = a.longs()[(int) ia[i]];
      long y = b.longs()[(int) ib[i]];
      v[i] = fn.apply(x, y);
    }
    return new Const(DType.I32, out, null, v);
  }

  /**
   * F32 arithmetic in double: {@code a[ia[i]] op b[ib[i]]} for each output element {@code i} (the
   * indices from {@link #broadcastIndex}). Rounded to float it is the float operation's result; the
   * reference backend's gradient tests run it unrounded.
   */
  public static double[] binary(Arith fn, double[] a, long[] ia, double[] b, long[] ib) {
    double[] v = new double[ia.length];
    for (int i = 0; i < v.length; i++) {
      v[i] = fn.apply(a[(int) ia[i]], b[(int) ib[i]]);
    }
    return v;
  }

  /** A F32 constant's elements, widened to double (exactly). */
  static double[] doubles(Const c) {
    float[] f = c.floats();
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  /** Each element rounded to float once. */
  static float[] rounded(double[] v) {
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = (float) v[i];
    }
    return f;
  }

  /**
   * For each element of {@code out}, the flat index into {@code in} under broadcasting. The caller
   * has {@link #reserve reserved} {@code out}.
   */
  public static long[] broadcastIndex(int[] in, int[] out) {
    int n = (int) count(out);
    long[] st = new long[out.length];
    long stride = 1;
    for (int k = out.length - 1; k >= 0; k--) {
      int i = k - (out.length - in.length);
      int d = i >= 0 ? in[i] : 1;
      st[k] = d == 1 ? 0 : stride;
      stride *= d;
    }
    long[] idx = new long[n];
    int[] pos = new int[out.length];
    long at = 0;
    for (int i = 0; i < n; i++) {
      idx[i] = at;
      for (int k = out.length - 1; k >= 0; k--) {
        at += st[k];
        if (++pos[k] < out[k]) {
          break;
        }
        at -= st[k] * out[k];
        pos[k] = 0;
      }
    }
    return idx;
  }

  static Const concat(int axis, Const[] parts) {
    int rank = parts[0].rank();
    int ax = Shapes.axis(axis, rank);
    int[] out = parts[0].shape().clone();
    long along = 0;
    for (Const p : parts) {
      if (p.dtype() != parts[0].dtype() || p.rank() != rank) {
        throw new IllegalArgumentException("concat of " + p + " and " + parts[0]);
      }
      along += p.shape()[ax];
    }
    if (along > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "the concatenated dimension " + ax + " would have " + along + " elements");
    }
    out[ax] = (int) along;
    int n = reserve(out);
    long inner = 1;
    for (int i = ax + 1; i < rank; i++) {
      inner *= out[i];
    }
    long outer = 1;
    for (int i = 0; i < ax; i++) {
      outer *= out[i];
    }
    float[] f = parts[0].dtype() == DType.F32 ? new float[n] : null;
    long[] l = f == null ? new long[n] : null;
    if (n == 0) { // else outer is at most n
      return new Const(parts[0].dtype(), out, f, l);
    }
    long offset = 0;
    for (Const p : parts) {
      long block = p.shape()[ax] * inner;
      if (block == 0) {
        continue; // (each part's copies then add up to at most n)
      }
      for (long o = 0; o < outer; o++) {
        long to = o * out[ax] * inner + offset;
        if (f != null) {
          System.arraycopy(p.floats(), (int) (o * block), f, (int) to, (int) block);
        } else {
          System.arraycopy(p.longs(), (int) (o * block), l, (int) to, (int) block);
        }
      }
      offset += block;
    }
    return new Const(parts[0].dtype(), out, f, l);
  }

  static Const gather(int axis, Const data, Const indices) {
    int[] ds = data.shape();
    int ax = Shapes.axis(axis, ds.length);
    int[] is = indices.shape();
    int[] out = new int[ds.length - 1 + is.length];
    System.arraycopy(ds, 0, out, 0, ax);
    System.arraycopy(is, 0, out, ax, is.length);
    System.arraycopy(ds, ax + 1, out, ax + is.length, ds.length - ax - 1);
    long inner = 1;
    for (int i = ax + 1; i < ds.length; i++) {
      inner *= ds[i];
    }
    long outer = 1;
    for (int i = 0; i < ax; i++) {
      outer *= ds[i];
    }
    long[] ids = new long[(int) indices.size()];
    for (int j = 0; j < ids.length; j++) {
      long id = indices.longAt(j);
      if (id < -ds[ax] || id >= ds[ax]) {
        throw new IllegalArgumentException(
            "Gather index " + id + " is out of range for dimension " + ax + " of size " + ds[ax]);
      }
      ids[j] = id < 0 ? id + ds[ax] : id;
    }
    long[] src = new long[reserve(out)];
    if (src.length == 0) { // else outer, the indices and inner are all at most its length
      return pick(data, out, src);
    }
    int k = 0;
    for (long o = 0; o < outer; o++) {
      for (long id : ids) {
        long base = (o * ds[ax] + id) * inner;
        for (long q = 0; q < inner; q++) {
          src[k++] = base + q;
        }
      }
    }
    return pick(data, out, src);
  }

  static Const transpose(int[] perm, Const c) {
    int[] in = c.shape();
    int[] out = new int[perm.length];
    for (int i = 0; i < perm.length; i++) {
      out[i] = in[perm[i]];
    }
    long[] st = strides(in);
    long[] step = new long[out.length];
    for (int k = 0; k < out.length; k++) {
      step[k] = st[perm[k]];
    }
    return pick(c, out, walk(out, reserve(out), 0, step));
  }

  /**
   * The flat source positions {@code base + Σ pos[k]·step[k]} of the {@code n} positions of {@code
   * out} in row-major order, updated as the position advances (constant work per element).
   */
  private static long[] walk(int[] out, int n, long base, long[] step) {
    long[] src = new long[n];
    int[] pos = new int[out.length];
    long at = base;
    for (int i = 0; i < n; i++) {
      src[i] = at;
      for (int k = out.length - 1; k >= 0; k--) {
        at += step[k];
        if (++pos[k] < out[k]) {
          break;
        }
        at -= step[k] * out[k];
        pos[k] = 0;
      }
    }
    return src;
  }

  /** Output dims of ONNX Reshape. */
  static List<Dim> reshapeDims(TensorType in, long[] shape, boolean allowZero) {
    if (shape.length > TensorType.MAX_RANK) {
      throw new IllegalArgumentException(
          "shape has "
              + shape.length
              + " entries, but a tensor may have at most "
              + TensorType.MAX_RANK
              + " dimensions");
    }
    List<Dim> out = new ArrayList<>();
    int infer = -1;
    long known = 1;
    for (int i = 0; i < shape.length; i++) {
      long s = shape[i];
      if (s == 0 && !allowZero) {
        if (i >= in.rank()) {
          throw new IllegalArgumentException(
              "shape " + Arrays.toString(shape) + " copies dimension " + i + " of " + in);
        }
        Dim d = in.dim(i);
        out.add(d);
        if (d.isFixed()) {
          known *= d.size();
        } else {
          known = -1;
        }
      } else if (s == -1) {
        if (infer >= 0) {
          throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has two -1s");
        }
        infer = i;
        out.add(null);
      } else if (s < 0 || s > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "invalid dimension " + s + " in shape " + Arrays.toString(shape));
      } else {
        out.add(Dim.of((int) s));
        if (known >= 0) {
          known *= s;
        }
      }
    }
    if (infer >= 0) {
      if (in.isFullyFixed() && known > 0) {
        long total = count(in.shape());
        if (total % known != 0) {
          throw new IllegalArgumentException(
              "cannot reshape " + in + " to " + Arrays.toString(shape));
        }
        out.set(infer, Dim.of((int) (total / known)));
      } else if (in.isFullyFixed() && known == 0) {
        out.set(infer, Dim.of(0));
      } else {
        out.set(infer, symbolicRest(in, shape, allowZero));
      }
    } else if (in.isFullyFixed() && known >= 0 && count(in.shape()) != known) {
      throw new IllegalArgumentException("cannot reshape " + in + " to " + Arrays.toString(shape));
    }
    return out;
  }

  /**
   * The -1 of a reshape whose input has dynamic dimensions: known when every dynamic dimension is
   * copied by a 0 at its own position (as in {@code [0, 0, -1]} after a transpose), since the rest
   * of the input is then fixed.
   */
  private static Dim symbolicRest(TensorType in, long[] shape, boolean allowZero) {
    long rest = 1;
    for (int i = 0; i < in.rank(); i++) {
      boolean copied = !allowZero && i < shape.length && shape[i] == 0;
      Dim d = in.dim(i);
      if (copied) {
        continue;
      }
      if (!d.isFixed()) {
        return Dim.derived();
      }
      rest *= d.size();
    }
    long fixed = 1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] > 0) {
        fixed *= shape[i];
      }
    }
    if (fixed == 0 || rest % fixed != 0 || rest / fixed > Integer.MAX_VALUE) {
      return Dim.derived();
    }
    return Dim.of((int) (rest / fixed));
  }

  static List<Dim> squeezeDims(TensorType in, int[] axes) {
    int rank = in.rank();
    boolean[] drop = new boolean[rank];
    if (axes == null) {
      for (int i = 0; i < rank; i++) {
        Dim d = in.dim(i);
        if (!d.isFixed()) {
          throw new IllegalArgumentException(
              "Squeeze without axes needs fixed dimensions, got " + in);
        }
        drop[i] = d.size() == 1;
      }
    } else {
      for (int a : axes) {
        int ax = Shapes.axis(a, rank);
        Dim d = in.dim(ax);
        if (d.isFixed() && d.size() != 1) {
          throw new IllegalArgumentException("cannot squeeze dimension " + ax + " of " + in);
        }
        drop[ax] = true;
      }
    }
    List<Dim> out = new ArrayList<>();
    for (int i = 0; i < rank; i++) {
      if (!drop[i]) {
        out.add(in.dim(i));
      }
    }
    return out;
  }

  static List<Dim> unsqueezeDims(TensorType in, int[] axes) {
    int rank = in.rank() + axes.length;
    if (rank > TensorType.MAX_RANK) {
      throw new IllegalArgumentException(
          axes.length
              + " axes on "
              + in
              + " would make more than the "
              + TensorType.MAX_RANK
              + " dimensions a tensor may have");
    }
    boolean[] add = new boolean[rank];
    for (int a : axes) {
      int ax = Shapes.axis(a, rank);
      if (add[ax]) {
        throw new IllegalArgumentException("axis " + a + " repeats in Unsqueeze");
      }
      add[ax] = true;
    }
    List<Dim> out = new ArrayList<>();
    int j = 0;
    for (int i = 0; i < rank; i++) {
      out.add(add[i] ? Dim.of(1) : in.dim(j++));
    }
    return out;
  }

  /** Where an ONNX slice of a dimension of {@code n} starts, after clamping. */
  public static int sliceStart(int n, int start, int step) {
    long s = start < 0 ? (long) start + n : start;
    return (int) (step > 0 ? Math.max(0, Math.min(s, n)) : Math.max(-1, Math.min(s, n - 1)));
  }

  /** How many elements an ONNX slice of a dimension of {@code n} takes, after clamping. */
  public static int sliceCount(int n, int start, int end, int step) {
    long s = sliceStart(n, start, step);
    long e = end < 0 ? (long) end + n : end;
    if (step > 0) {
      e = Math.max(0, Math.min(e, n));
      return (int) Math.max(0, (e - s + step - 1) / step);
    }
    e = Math.max(-1, Math.min(e, n - 1));
    return (int) Math.max(0, (s - e + (-step) - 1) / -step);
  }

  static List<Dim> sliceDims(TensorType in, int[][] p) {
    List<Dim> out = new ArrayList<>(in.dims());
    for (int i = 0; i < p[0].length; i++) {
      int ax = Shapes.axis(p[2][i], in.rank());
      Dim d = in.dim(ax);
      out.set(
          ax,
          d.isFixed() ? Dim.of(sliceCount(d.size(), p[0][i], p[1][i], p[3][i])) : Dim.derived());
    }
    return out;
  }

  static Const slice(Const c, int[][] p) {
    int[] in = c.shape();
    int rank = in.length;
    int[] start = new int[rank];
    int[] step = new int[rank];
    int[] out = in.clone();
    Arrays.fill(step, 1);
    for (int i = 0; i < p[0].length; i++) {
      int ax = Shapes.axis(p[2][i], rank);
      start[ax] = sliceStart(in[ax], p[0][i], p[3][i]);
      out[ax] = sliceCount(in[ax], p[0][i], p[1][i], p[3][i]);
      step[ax] = p[3][i];
    }
    long[] st = strides(in);
    long base = 0;
    long[] stride = new long[rank];
    for (int k = 0; k < rank; k++) {
      base += start[k] * st[k];
      stride[k] = step[k] * st[k];
    }
    return pick(c, out, walk(out, reserve(out), base, stride));
  }

  static Const fill(Const scalar, int[] shape) {
    if (scalar.size() != 1) {
      throw new IllegalArgumentException(
          "ConstantOfShape value must hold one element, got " + scalar);
    }
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
    }
    int n = reserve(shape);
    if (scalar.dtype() == DType.F32) {
      float[] v = new float[n];
      Arrays.fill(v, scalar.floats()[0]);
      return new Const(DType.F32, shape, v, null);
    }
    long[] v = new long[n];
    Arrays.fill(v, scalar.longs()[0]);
    return new Const(DType.I32, shape, null, v);
  }

  static Const expand(Const c, int[] out) {
    reserve(out);
    return pick(c, out, broadcastIndex(c.shape(), out));
  }

  static Const cast(Const c, DType to) {
    if (c.dtype() == to) {
      return c;
    }
    reserve(c.shape());
    if (to == DType.F32) {
      float[] v = new float[(int) c.size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = c.longs()[i];
      }
      return new Const(DType.F32, c.shape(), v, null);
    }
    long[] v = new long[(int) c.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = (long) c.floats()[i];
    }
    return new Const(DType.I32, c.shape(), null, v);
  }

  /** The product of dimensions, dynamic when any is. */
  static Dim product(List<Dim> dims) {
    long[] sizes = new long[dims.size()];
    for (int i = 0; i < sizes.length; i++) {
      Dim d = dims.get(i);
      if (!d.isFixed()) {
        return Dim.derived();
      }
      sizes[i] = d.size();
    }
    long n = saturatedProduct(sizes); // (a plain product of 3 sizes can wrap around)
    if (n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("the product of dimensions " + dims + " is too large");
    }
    return Dim.of((int) n);
  }

  static List<Dim> matmulDims(TensorType a, TensorType b) {
    if (a.rank() == 0 || b.rank() == 0) {
      throw new IllegalArgumentException("MatMul needs rank >= 1, got " + a + " and " + b);
    }
    List<Dim> ad = new ArrayList<>(a.dims());
    List<Dim> bd = new ArrayList<>(b.dims());
    boolean vecA = ad.size() == 1;
    boolean vecB = bd.size() == 1;
    if (vecA) {
      ad.add(0, Dim.of(1));
    }
    if (vecB) {
      bd.add(Dim.of(1));
    }
    Shapes.unify(ad.get(ad.size() - 1), bd.get(bd.size() - 2), "MatMul inner dimension");
    TensorType ab = new TensorType(DType.F32, ad.subList(0, ad.size() - 2));
    TensorType bb = new TensorType(DType.F32, bd.subList(0, bd.size() - 2));
    List<Dim> out = new ArrayList<>(Shapes.broadcast(ab, bb));
    if (!vecA) {
      out.add(ad.get(ad.size() - 2));
    }
    if (!vecB) {
      out.add(bd.get(bd.size() - 1));
    }
    return out;
  }

  static Const matmul(Const a, Const b) {
    int[] shape = new TensorType(DType.F32, matmulDims(a.type(), b.type())).shape();
    int[] as = a.rank() == 1 ? new int[] {1, a.shape()[0]} : a.shape();
    int[] bs = b.rank() == 1 ? new int[] {b.shape()[0], 1} : b.shape();
    int m = as[as.length - 2];
    int k = as[as.length - 1];
    int n = bs[bs.length - 1];
    if (bs[bs.length - 2] != k) {
      throw new IllegalArgumentException(
          "MatMul of " + Arrays.toString(a.shape()) + " and " + Arrays.toString(b.shape()));
    }
    long total = saturatedProduct(Arrays.stream(shape).asLongStream().toArray());
    if (BUDGET.isBound() && k > 1) { // the multiply-adds count too
      long work = saturatedProduct(total, k);
      BUDGET
          .get()
          .take(
              work,
              "a MatMul of "
                  + Arrays.toString(a.shape())
                  + " by "
                  + Arrays.toString(b.shape())
                  + " takes "
                  + work
                  + " multiply-adds");
    }
    int size = reserve(shape);
    if (size == 0 || k == 0) { // else the batch is at most the output's size
      return new Const(DType.F32, shape, new float[size], null);
    }
    return new Const(
        DType.F32, shape, rounded(matmul(doubles(a), a.shape(), doubles(b), b.shape())), null);
  }

  /**
   * NumPy matmul in double of {@code a} and {@code b} with those shapes (rank-1 operands promoted,
   * batch dimensions broadcast), the shapes already checked; the reference backend's gradient tests
   * run it unrounded.
   */
  public static double[] matmul(double[] a, int[] aShape, double[] b, int[] bShape) {
    int[] as = aShape.length == 1 ? new int[] {1, aShape[0]} : aShape;
    int[] bs = bShape.length == 1 ? new int[] {bShape[0], 1} : bShape;
    int m = as[as.length - 2];
    int k = as[as.length - 1];
    int n = bs[bs.length - 1];
    int[] batch =
        Shapes.broadcast(Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2));
    long[] ia = broadcastIndex(Arrays.copyOf(as, as.length - 2), batch);
    long[] ib = broadcastIndex(Arrays.copyOf(bs, bs.length - 2), batch);
    int nb = ia.length;
    double[] out = new double[nb * m * n];
    for (int q = 0; q < nb; q++) {
      int ao = (int) ia[q] * m * k;
      int bo = (int) ib[q] * k * n;
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          double s = 0;
          for (int p = 0; p < k; p++) {
            s += a[ao + i * k + p] * b[bo + p * n + j];
          }
          out[(q * m + i) * n + j] = s;
        }
      }
    }
    return out;
  }
}
