package dev.jrnn.train;

import dev.jrnn.DType;
import dev.jrnn.Loss;
import dev.jrnn.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A {@link Loss} evaluated: the loss of an output against its target and its gradient with respect
 * to the output, in one call. The per-position values are computed and summed in double; the
 * gradient is rounded to float once per element. Stateless apart from its spec, so one instance
 * serves any number of threads.
 *
 * <p>Layout: the output's elements are split into {@code rows} of {@code width} floats (width
 * {@code C}, the class count, for cross-entropy, else 1). With lengths, rows are further grouped by
 * the output's first two axes, time and batch (or batch and time), into blocks of {@code inner}
 * rows that are counted or skipped together.
 */
public final class LossFunction {

  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
  private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;

  private final Loss spec;
  private final Loss.Kind kind;
  private final float[] classWeights; // null: all 1
  private final boolean hasIgnore;
  private final int ignore;
  private final boolean mean;
  private final boolean hasLengths;

  private LossFunction(Loss spec) {
    this.spec = spec;
    this.kind = spec.kind();
    this.classWeights = spec.classWeights().orElse(null);
    this.hasIgnore = spec.ignoreIndex().isPresent();
    this.ignore = spec.ignoreIndex().orElse(0);
    this.mean = spec.reduction() == Loss.Reduction.MEAN;
    this.hasLengths = spec.lengthsInput().isPresent();
  }

  /** The function a {@link Loss} describes. */
  public static LossFunction of(Loss spec) {
    if (spec == null) {
      throw new IllegalArgumentException("loss spec must not be null");
    }
    return new LossFunction(spec);
  }

  /** The spec this function evaluates. */
  public Loss spec() {
    return spec;
  }

  /**
   * Loss of output {@code y} against {@code target}, writing {@code dL/dy} into {@code dy} (F32,
   * y's shape; padded and ignored positions get 0). A NaN or infinite loss is returned as it is,
   * for the caller to report.
   *
   * @param lengths I32 {@code [N]} per-row sequence lengths when the spec has {@link Loss#lengths},
   *     else null
   * @throws IllegalArgumentException naming the problem: a tensor of the wrong type or shape (the
   *     expected and the actual), a class id out of range (its position and value), a length that
   *     is negative or longer than the sequence
   */
  public double compute(Tensor y, Tensor target, Tensor lengths, Tensor dy) {
    if (y == null || target == null || dy == null) {
      throw new IllegalArgumentException(
          "loss on "
              + outName()
              + " needs the output, the target and dy, got "
              + (y == null ? "no output" : target == null ? "no target" : "no dy"));
    }
    check(y, target, lengths);
    if (dy.dtype() != DType.F32 || !sameShape(dy, y)) {
      throw new IllegalArgumentException(
          "dy of the loss on "
              + outName()
              + " must be F32 "
              + Tensor.shapeString(y.shape())
              + ", got "
              + dy.describe());
    }
    return evaluate(y, target, lengths, y.segment(), dy.segment(), false);
  }

  /**
   * {@link #compute} in double throughout, for gradient checks: the loss at {@code yValues} (y's
   * shape; y gives the shape and is checked as there, its values are not read) and its gradient
   * into {@code dy}, neither rounded to float. The same code as {@link #compute}, reading and
   * writing doubles.
   */
  double computeInDouble(Tensor y, Tensor target, Tensor lengths, double[] yValues, double[] dy) {
    check(y, target, lengths);
    if (yValues.length != y.size() || dy.length != y.size()) {
      throw new IllegalArgumentException("values and dy must have y's " + y.size() + " elements");
    }
    return evaluate(
        y, target, lengths, MemorySegment.ofArray(yValues), MemorySegment.ofArray(dy), true);
  }

  private String outName() {
    return "output '" + spec.output() + "'";
  }

  private static boolean sameShape(Tensor a, Tensor b) {
    if (a.rank() != b.rank()) {
      return false;
    }
    for (int i = 0; i < a.rank(); i++) {
      if (a.dim(i) != b.dim(i)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Checks the output, the target and the lengths against each other, throwing with what is wrong;
   * allocates nothing when they fit.
   */
  private void check(Tensor y, Tensor target, Tensor lengths) {
    if (y.dtype() != DType.F32) {
      throw new IllegalArgumentException(
          outName() + " must be F32 for a loss, got " + y.describe());
    }
    boolean ce = kind == Loss.Kind.CROSS_ENTROPY;
    int rank = y.rank();
    if (ce && rank == 0) {
      throw new IllegalArgumentException(
          "cross-entropy needs logits with a class axis, got a scalar " + outName());
    }
    int targetRank = ce ? rank - 1 : rank;
    DType targetType = ce ? DType.I32 : DType.F32;
    boolean fits = target.dtype() == targetType && target.rank() == targetRank;
    for (int i = 0; fits && i < targetRank; i++) {
      fits = target.dim(i) == y.dim(i);
    }
    if (!fits) {
      int[] shape = y.shape();
      int[] targetShape = ce ? Arrays.copyOf(shape, shape.length - 1) : shape;
      throw new IllegalArgumentException(
          "target of the "
              + kindName()
              + " loss on "
              + outName()
              + " "
              + y.describe()
              + " must be "
              + targetType
              + " "
              + Tensor.shapeString(targetShape)
              + (ce ? " (class ids: the output's shape without its class axis)" : "")
              + ", got "
              + target.describe());
    }
    int width = ce ? y.dim(rank - 1) : 1;
    if (ce && classWeights != null && classWeights.length != width) {
      throw new IllegalArgumentException(
          "classWeights has "
              + classWeights.length
              + " entries but "
              + outName()
              + " "
              + y.describe()
              + " has "
              + width
              + " classes");
    }
    if (hasLengths) {
      checkLengths(y, lengths);
    } else if (lengths != null) {
      throw new IllegalArgumentException(
          "lengths were given for the loss on " + outName() + ", whose spec has no lengths input");
    }
  }

  /**
   * The loss of checked tensors. Layout: the output's elements are split into rows of {@code
   * width}; with lengths, the rows are grouped by the first two axes into blocks of {@code inner}
   * rows (see the class comment).
   */
  private double evaluate(
      Tensor yt, Tensor target, Tensor lengths, MemorySegment y, MemorySegment dy, boolean wide) {
    boolean ce = kind == Loss.Kind.CROSS_ENTROPY;
    int rank = yt.rank();
    int width = ce ? yt.dim(rank - 1) : 1;
    long rows = width == 0 ? target.size() : yt.size() / width;
    long blocks = 1;
    long inner = rows;
    MemorySegment len = null;
    if (hasLengths) {
      len = lengths.segment();
      blocks = (long) yt.dim(0) * yt.dim(1);
      inner = blocks == 0 ? 0 : rows / blocks;
    }
    int d1 = rank > 1 ? yt.dim(1) : 1;
    return ce
        ? crossEntropy(y, target, dy, wide, width, blocks, inner, len, d1)
        : elementwise(y, target.segment(), dy, wide, blocks, inner, len, d1);
  }

  /** Element {@code i} of an output or gradient: float, or double when {@code wide}. */
  private static double get(MemorySegment s, boolean wide, long i) {
    return wide ? s.getAtIndex(D, i) : s.getAtIndex(F, i);
  }

  private static void set(MemorySegment s, boolean wide, long i, double v) {
    if (wide) {
      s.setAtIndex(D, i, v);
    } else {
      s.setAtIndex(F, i, (float) v);
    }
  }

  private String kindName() {
    return switch (kind) {
      case CROSS_ENTROPY -> "cross-entropy";
      case BINARY_CROSS_ENTROPY -> "binary cross-entropy";
      case MSE -> "mse";
      case MAE -> "mae";
      case HUBER -> "huber";
    };
  }

  /** Lengths: I32 {@code [N]}, each in {@code [0, T]}. */
  private void checkLengths(Tensor y, Tensor lengths) {
    int minRank = kind == Loss.Kind.CROSS_ENTROPY ? 3 : 2;
    String layout = spec.isBatchFirst() ? "[N, T, ...]" : "[T, N, ...]";
    if (y.rank() < minRank) {
      throw new IllegalArgumentException(
          "a loss with lengths needs a sequence "
              + outName()
              + " "
              + layout
              + (minRank == 3 ? " with a class axis" : "")
              + ", got "
              + Tensor.shapeString(y.shape()));
    }
    int t = y.dim(spec.isBatchFirst() ? 1 : 0);
    int n = y.dim(spec.isBatchFirst() ? 0 : 1);
    if (lengths == null) {
      throw new IllegalArgumentException(
          "the loss on "
              + outName()
              + " counts steps up to "
              + lengthsName()
              + ", which was not given");
    }
    if (lengths.dtype() != DType.I32 || lengths.rank() != 1 || lengths.dim(0) != n) {
      throw new IllegalArgumentException(
          lengthsName()
              + " must be I32 ["
              + n
              + "] (one per batch row of "
              + outName()
              + " "
              + layout
              + " "
              + Tensor.shapeString(y.shape())
              + "), got "
              + lengths.describe());
    }
    MemorySegment len = lengths.segment();
    for (int i = 0; i < n; i++) {
      int v = len.getAtIndex(I, i);
      if (v < 0) {
        throw new IllegalArgumentException(lengthsName() + "[" + i + "] = " + v + " is negative");
      }
      if (v > t) {
        throw new IllegalArgumentException(
            lengthsName()
                + "["
                + i
                + "] = "
                + v
                + " is longer than the sequence: T = "
                + t
                + " in "
                + outName()
                + " "
                + Tensor.shapeString(y.shape()));
      }
    }
  }

  private String lengthsName() {
    return "lengths '" + spec.lengthsInput().orElseThrow() + "'";
  }

  /** Whether block {@code b} (an index over the first two axes) is within its row's length. */
  private boolean counted(long b, int d1, MemorySegment len) {
    if (len == null) {
      return true;
    }
    int i0 = (int) (b / d1);
    int i1 = (int) (b % d1);
    return spec.isBatchFirst() ? i1 < len.getAtIndex(I, i0) : i0 < len.getAtIndex(I, i1);
  }

  private double crossEntropy(
      MemorySegment y,
      Tensor targetTensor,
      MemorySegment dy,
      boolean wide,
      int c,
      long blocks,
      long inner,
      MemorySegment len,
      int d1) {
    MemorySegment target = targetTensor.segment();
    // pass 1: check the class ids and sum the weights of counted positions (the mean's divisor)
    double total = 0;
    for (long b = 0; b < blocks; b++) {
      if (!counted(b, d1, len)) {
        continue;
      }
      for (long r = b * inner; r < (b + 1) * inner; r++) {
        int k = target.getAtIndex(I, r);
        if (hasIgnore && k == ignore) {
          continue;
        }
        if (k < 0 || k >= c) {
          throw new IllegalArgumentException(
              "target"
                  + position(r, targetTensor.shape())
                  + " = "
                  + k
                  + " is not a class id of output '"
                  + spec.output()
                  + "': it has "
                  + c
                  + " classes, ids 0 to "
                  + (c - 1)
                  + (hasIgnore ? " (or the ignore index " + ignore + ")" : ""));
        }
        total += classWeights == null ? 1 : classWeights[k];
      }
    }
    double divisor = mean ? total : 1;
    double loss = 0;
    for (long b = 0; b < blocks; b++) {
      boolean in = counted(b, d1, len);
      for (long r = b * inner; r < (b + 1) * inner; r++) {
        long base = r * c;
        int k = in ? target.getAtIndex(I, r) : 0;
        if (!in || (hasIgnore && k == ignore) || divisor == 0) {
          for (int j = 0; j < c; j++) {
            set(dy, wide, base + j, 0);
          }
          continue;
        }
        double w = classWeights == null ? 1 : classWeights[k];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < c; j++) {
          max = Math.max(max, get(y, wide, base + j));
        }
        // -log p_k = log(1 + others / e_k) with e = exp(x - max): no cancellation when p_k ≈ 1
        double ek = 0;
        double others = 0;
        for (int j = 0; j < c; j++) {
          double e = Math.exp(get(y, wide, base + j) - max);
          if (j == k) {
            ek = e;
          } else {
            others += e;
          }
          set(dy, wide, base + j, e); // (rounded to float here in f32, as it was)
        }
        double sum = ek + others;
        double nll =
            others < ek ? Math.log1p(others / ek) : max - get(y, wide, base + k) + Math.log(sum);
        loss += w * nll;
        double scale = w / divisor / sum;
        for (int j = 0; j < c; j++) {
          set(dy, wide, base + j, get(dy, wide, base + j) * scale);
        }
        set(dy, wide, base + k, -others * scale); // p_k - 1, without cancellation
      }
    }
    return loss / divisor;
  }

  private double elementwise(
      MemorySegment y,
      MemorySegment target,
      MemorySegment dy,
      boolean wide,
      long blocks,
      long inner,
      MemorySegment len,
      int d1) {
    long count = 0;
    for (long b = 0; b < blocks; b++) {
      if (counted(b, d1, len)) {
        count += inner;
      }
    }
    double scale = mean ? 1.0 / count : 1;
    double delta = spec.delta();
    double loss = 0;
    for (long b = 0; b < blocks; b++) {
      boolean in = counted(b, d1, len) && count > 0;
      for (long i = b * inner; i < (b + 1) * inner; i++) {
        if (!in) {
          set(dy, wide, i, 0);
          continue;
        }
        double x = get(y, wide, i);
        double t = target.getAtIndex(F, i);
        double l;
        double g;
        switch (kind) {
          case BINARY_CROSS_ENTROPY -> {
            // max(x, 0) - x t + log(1 + e^-|x|); the gradient sigmoid(x) - t
            double e = Math.exp(-Math.abs(x));
            l = Math.max(x, 0) - x * t + Math.log1p(e);
            g = (x >= 0 ? 1 / (1 + e) : e / (1 + e)) - t;
          }
          case MSE -> {
            double d = x - t;
            l = d * d;
            g = 2 * d;
          }
          case MAE -> {
            double d = x - t;
            l = Math.abs(d);
            g = Math.signum(d);
          }
          case HUBER -> {
            double d = x - t;
            double a = Math.abs(d);
            l = a < delta ? 0.5 * d * d : delta * (a - 0.5 * delta);
            g = a < delta ? d : delta * Math.signum(d);
          }
          default -> throw new IllegalStateException(kind.toString());
        }
        loss += l;
        set(dy, wide, i, g * scale);
      }
    }
    return mean ? loss / count : loss;
  }

  /** "[2, 1]": the multi-index of flat index {@code i} in {@code shape}. */
  private static String position(long i, int[] shape) {
    int[] at = new int[shape.length];
    for (int d = shape.length - 1; d >= 0; d--) {
      at[d] = (int) (i % shape[d]);
      i /= shape[d];
    }
    return Arrays.toString(at);
  }

  @Override
  public String toString() {
    return "LossFunction(" + spec + ")";
  }
}
