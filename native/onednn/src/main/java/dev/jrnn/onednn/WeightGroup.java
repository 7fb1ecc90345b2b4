package dev.jrnn.onednn;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Precisions;
import dev.jrnn.onednn.ffi.Dnnl;
import dev.jrnn.onednn.ffi.dnnl_memory_desc_t;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Consecutive layers {@code [l0, l1)} that one primitive runs, with their weights: the canonical
 * ones of every layer and direction in oneDNN's plain layouts ({@code ldgoi} is jrnn's {@code W
 * [G·H, I]} per layer and direction), and copies reordered into the layouts primitives chose. A
 * reordered copy is shared by the primitives that chose its layout and freed when the last of them
 * is destroyed (oneDNN may choose a layout per shape, so keeping them all would grow like the
 * primitives did).
 */
final class WeightGroup implements AutoCloseable {

  private static final AtomicInteger LIVE_REORDERED = new AtomicInteger();

  final int l0;
  final int l1;
  final int slc; // input channels
  private final RnnStack stack;
  private final Arena arena = Arena.ofShared(); // the plain weights
  private final EnumMap<Arg, MemorySegment> user = new EnumMap<>(Arg.class);
  private final List<Reordered> reordered = new ArrayList<>(); // guarded by this
  private float[] int8Scales; // int8: per output channel, see commonScales; guarded by this
  private boolean closed; // guarded by this

  /** A weight in a layout a primitive chose, with its own memory. */
  private static final class Reordered {
    final Arg arg;
    final Arena arena = Arena.ofShared();
    MemorySegment md; // a copy: the primitive descriptor it came from may go first
    MemorySegment memory; // the dnnl_memory_t
    int users;

    Reordered(Arg arg) {
      this.arg = arg;
    }
  }

  WeightGroup(RnnStack stack, int l0, int l1, int slc, Map<String, Tensor> w) {
    this.stack = stack;
    this.l0 = l0;
    this.l1 = l1;
    this.slc = slc;
    try {
      int n = (l1 - l0) * stack.dirs;
      long gh = (long) stack.gates * stack.hidden;
      int mb = stack.precision == Precision.BF16 ? 2 : 4; // a matrix element (int8: f32 values)
      user.put(Arg.WEIGHTS_LAYER, arena.allocate(n * gh * slc * mb, 64));
      user.put(Arg.WEIGHTS_ITER, arena.allocate(n * gh * stack.hout * mb, 64));
      user.put(Arg.BIAS, arena.allocate((long) n * stack.biasGates() * stack.hidden * 4, 64));
      if (stack.spec.hasPeepholes()) {
        user.put(Arg.WEIGHTS_PEEPHOLE, arena.allocate((long) n * 3 * stack.hidden * 4, 64));
      }
      if (stack.spec.projection() > 0) {
        user.put(
            Arg.WEIGHTS_PROJECTION, arena.allocate((long) n * stack.hout * stack.hidden * mb, 64));
      }
      load(w);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
  }

  int layers() {
    return l1 - l0;
  }

  /** The weight arguments the group's primitives take. */
  Set<Arg> weightArgs() {
    return user.keySet();
  }

  /**
   * Copies canonical weights in and refreshes every reordered copy in place (primitives keep no
   * pointer to them; the caller keeps calls out meanwhile).
   */
  synchronized void load(Map<String, Tensor> w) {
    checkOpen();
    int k = 0;
    int h = stack.hidden;
    int gh = stack.gates * h;
    float[][] rowScales = new float[2 * layers() * stack.dirs][]; // int8: W's and R's
    for (int l = l0; l < l1; l++) {
      for (int d = 0; d < stack.dirs; d++, k++) {
        String p = stack.op.weightPrefix(stack.node, l, d);
        rowScales[2 * k] = matrix(Arg.WEIGHTS_LAYER, k, w, p + "W", gh, slc);
        rowScales[2 * k + 1] = matrix(Arg.WEIGHTS_ITER, k, w, p + "R", gh, stack.hout);
        float[] bw = weight(w, p + "bW").toFloatArray();
        float[] br = weight(w, p + "bR").toFloatArray();
        float[] b = new float[stack.biasGates() * h];
        for (int i = 0; i < stack.gates * h; i++) {
          boolean candidate = stack.lbr && i >= 2 * h;
          b[i] = bw[i] + (candidate ? 0f : br[i]);
        }
        if (stack.lbr) { // the fourth slot: the recurrent candidate bias, applied inside r ⊙ (·)
          System.arraycopy(br, 2 * h, b, 3 * h, h);
        }
        put(Arg.BIAS, k, b);
        if (stack.spec.hasPeepholes()) {
          put(Arg.WEIGHTS_PEEPHOLE, k, weight(w, p + "P").toFloatArray());
        }
        if (stack.spec.projection() > 0) {
          matrix(Arg.WEIGHTS_PROJECTION, k, w, p + "Wp", stack.hout, h);
        }
      }
    }
    if (stack.precision == Precision.INT8) {
      int8Scales = commonScales(rowScales, gh);
    }
    try (Arena tmp = Arena.ofConfined()) {
      for (Reordered r : reordered) {
        OneDnn.reorder(
            stack.engine,
            userMd(tmp, r.arg),
            user.get(r.arg),
            r.md,
            r.memory,
            reorderAttr(r.arg, tmp),
            tmp);
      }
    }
  }

  /**
   * Copies matrix {@code name} [rows, cols] of layer slot {@code k} in: f32 and bf16 as they are
   * ({@code ldgoi}, {@code ldoi}); int8 as its f32 values transposed to {@code ldigo}, which oneDNN
   * quantizes with {@link #int8Scales} (its s8 reorders to the brgemm layout read {@code ldigo}
   * only). Returns an int8 matrix's row scales, else null.
   */
  private float[] matrix(Arg a, int k, Map<String, Tensor> w, String name, int rows, int cols) {
    Tensor t = weight(w, name);
    Precision p = Precisions.of(t.dtype());
    if (p != stack.precision || t.size() != (long) rows * cols) {
      throw new IllegalArgumentException(
          "weight '"
              + name
              + "' must be "
              + stack.precision.dtype()
              + " ["
              + rows
              + ", "
              + cols
              + "], got "
              + t.describe());
    }
    switch (p) {
      case F32 -> put(a, k, t.toFloatArray());
      case BF16 -> {
        long bytes = t.segment().byteSize();
        MemorySegment.copy(t.segment(), 0, user.get(a), k * bytes, bytes);
      }
      case INT8 -> {
        String sn = Precisions.scaleName(name);
        Tensor scale = w.get(sn);
        float[] f = Precisions.floats(name, t, scale);
        float[] igo = new float[f.length];
        for (int r = 0; r < rows; r++) {
          for (int c = 0; c < cols; c++) {
            igo[c * rows + r] = f[r * cols + c];
          }
        }
        put(a, k, igo);
        return Precisions.rowScales(name, t, scale);
      }
    }
    return null;
  }

  /**
   * oneDNN's int8 weight scales, one per output channel (gate·H + o) for {@code W}, {@code R} and
   * every layer and direction of the group at once: 1 / the largest of their row scales.
   */
  private static float[] commonScales(float[][] rowScales, int channels) {
    float[] common = new float[channels];
    for (float[] s : rowScales) {
      for (int i = 0; i < channels; i++) {
        common[i] = Math.max(common[i], s[i]);
      }
    }
    for (int i = 0; i < channels; i++) {
      common[i] = 1f / common[i];
    }
    return common;
  }

  /** The int8 weight scales the group's primitives and reorders take (see {@link #load}). */
  synchronized float[] int8Scales() {
    return int8Scales;
  }

  /** The attributes of the reorder of {@code arg}: its int8 scales, or none. */
  private MemorySegment reorderAttr(Arg arg, Arena tmp) {
    if (stack.precision != Precision.INT8
        || (arg != Arg.WEIGHTS_LAYER && arg != Arg.WEIGHTS_ITER)) {
      return MemorySegment.NULL;
    }
    MemorySegment attr = OneDnn.attr(tmp);
    OneDnn.setRnnWeightsQparams(attr, int8Scales, tmp);
    return attr;
  }

  private static Tensor weight(Map<String, Tensor> w, String name) {
    Tensor t = w.get(name);
    if (t == null) {
      throw new IllegalArgumentException("missing weight '" + name + "'");
    }
    return t;
  }

  private void put(Arg a, int k, float[] v) {
    MemorySegment dst = user.get(a);
    if ((long) (k + 1) * v.length * 4 > dst.byteSize()) {
      throw new IllegalArgumentException(
          a + " of layer slot " + k + ": " + v.length + " floats do not fit the weight's shape");
    }
    MemorySegment.copy(v, 0, dst, JAVA_FLOAT, (long) k * v.length * 4, v.length);
  }

  /**
   * The memory holding weight {@code arg} in layout {@code want}, reordered on first use; the
   * caller gives it back with {@link #release}.
   */
  synchronized MemorySegment acquire(Arg arg, MemorySegment want) {
    checkOpen();
    for (Reordered r : reordered) {
      if (r.arg == arg && Dnnl.dnnl_memory_desc_equal(r.md, want) == 1) {
        r.users++;
        return r.memory;
      }
    }
    Reordered r = new Reordered(arg);
    try (Arena tmp = Arena.ofConfined()) {
      r.md = r.arena.allocate(dnnl_memory_desc_t.sizeof(), 8).copyFrom(want);
      long bytes = Dnnl.dnnl_memory_desc_get_size(r.md);
      MemorySegment buf = r.arena.allocate(Math.max(bytes, 1), 64);
      r.memory =
          OneDnn.memory(stack.engine, r.md, buf, tmp)
              .reinterpret(r.arena, Dnnl::dnnl_memory_destroy);
      OneDnn.reorder(
          stack.engine,
          userMd(tmp, arg),
          user.get(arg),
          r.md,
          r.memory,
          reorderAttr(arg, tmp),
          tmp);
    } catch (RuntimeException | Error e) {
      r.arena.close();
      throw e;
    }
    r.users = 1;
    reordered.add(r);
    LIVE_REORDERED.incrementAndGet();
    return r.memory;
  }

  /** Gives back a memory from {@link #acquire}; the last user frees it. */
  synchronized void release(MemorySegment memory) {
    for (int i = 0; i < reordered.size(); i++) {
      Reordered r = reordered.get(i);
      if (r.memory.address() == memory.address()) {
        if (--r.users == 0) {
          reordered.remove(i);
          r.arena.close();
          LIVE_REORDERED.decrementAndGet();
        }
        return;
      }
    }
    // Not found: the group closed first and freed it.
  }

  /** Reordered copies held by every group of the process, for tests. */
  static int liveReordered() {
    return LIVE_REORDERED.get();
  }

  /** The plain (user) descriptor of a weight argument of this group. */
  MemorySegment userMd(Arena a, Arg arg) {
    int l = layers();
    int dirs = stack.dirs;
    int g = stack.gates;
    int h = stack.hidden;
    // int8 matrices are f32 values in ldigo (see matrix); bf16 ones bf16
    boolean int8 = stack.precision == Precision.INT8;
    int mt = stack.precision == Precision.BF16 ? Dnnl.dnnl_bf16() : Dnnl.dnnl_f32();
    int goi = int8 ? Dnnl.dnnl_ldigo() : Dnnl.dnnl_ldgoi();
    return switch (arg) {
      case WEIGHTS_LAYER -> OneDnn.typedMd(a, mt, goi, l, dirs, slc, g, h);
      case WEIGHTS_ITER -> OneDnn.typedMd(a, mt, goi, l, dirs, stack.hout, g, h);
      case BIAS -> OneDnn.md(a, Dnnl.dnnl_ldgo(), l, dirs, stack.biasGates(), h);
      case WEIGHTS_PEEPHOLE -> OneDnn.md(a, Dnnl.dnnl_ldgo(), l, dirs, 3, h);
      case WEIGHTS_PROJECTION -> OneDnn.typedMd(a, mt, Dnnl.dnnl_ldoi(), l, dirs, h, stack.hout);
      default -> throw new IllegalArgumentException(arg.name());
    };
  }

  /**
   * Adds the gradient of weight {@code w}, given in the plain layout {@link #userMd}, into {@code
   * grads} by canonical name; names not in {@code grads} are not wanted.
   */
  void addGradients(Arg w, MemorySegment plain, Map<String, Tensor> grads) {
    int gates = stack.gates;
    int h = stack.hidden;
    int k = 0;
    for (int l = l0; l < l1; l++) {
      for (int d = 0; d < stack.dirs; d++, k++) {
        String pre = stack.op.weightPrefix(stack.node, l, d);
        switch (w) {
          case WEIGHTS_LAYER -> add(grads, pre + "W", plain, k, gates * h * slc);
          case WEIGHTS_ITER -> add(grads, pre + "R", plain, k, gates * h * stack.hout);
          case WEIGHTS_PEEPHOLE -> add(grads, pre + "P", plain, k, 3 * h);
          case WEIGHTS_PROJECTION -> add(grads, pre + "Wp", plain, k, stack.hout * h);
          case BIAS -> {
            // One bias in oneDNN is bW + bR in jrnn: both get its gradient. With linear before
            // reset, slot 2 is the input candidate bias and slot 3 the recurrent one.
            long base = (long) k * stack.biasGates() * h * 4;
            int[] slots = new int[gates]; // bias slot of each canonical gate
            for (int q = 0; q < gates; q++) {
              slots[q] = q;
            }
            addBias(grads, pre + "bW", plain, base, slots);
            if (stack.lbr) {
              slots[2] = 3;
            }
            addBias(grads, pre + "bR", plain, base, slots);
          }
          default -> throw new IllegalStateException(w.name());
        }
      }
    }
  }

  private static void add(Map<String, Tensor> grads, String name, MemorySegment src, int k, int n) {
    Tensor t = grad(grads, name, n);
    if (t == null) {
      return;
    }
    MemorySegment to = t.segment();
    long base = (long) k * n * 4;
    for (int i = 0; i < n; i++) {
      to.setAtIndex(
          JAVA_FLOAT, i, to.getAtIndex(JAVA_FLOAT, i) + src.get(JAVA_FLOAT, base + i * 4L));
    }
  }

  private void addBias(
      Map<String, Tensor> grads, String name, MemorySegment src, long base, int[] slots) {
    int h = stack.hidden;
    Tensor t = grad(grads, name, stack.gates * h);
    if (t == null) {
      return;
    }
    MemorySegment to = t.segment();
    for (int gi = 0; gi < stack.gates; gi++) {
      for (int j = 0; j < h; j++) {
        int i = gi * h + j;
        float v = src.get(JAVA_FLOAT, base + ((long) slots[gi] * h + j) * 4);
        to.setAtIndex(JAVA_FLOAT, i, to.getAtIndex(JAVA_FLOAT, i) + v);
      }
    }
  }

  /** The gradient tensor for {@code name}, or null when it is not wanted. */
  private static Tensor grad(Map<String, Tensor> grads, String name, int size) {
    Tensor t = grads.get(name);
    if (t != null && t.size() != size) {
      throw new IllegalArgumentException(
          "gradient tensor for '" + name + "' holds " + t.size() + " floats, the weight " + size);
    }
    return t;
  }

  /** Whether {@code grads} wants the gradient of weight {@code w} under any of its names. */
  boolean wants(Arg w, Map<String, Tensor> grads) {
    for (int l = l0; l < l1; l++) {
      for (int d = 0; d < stack.dirs; d++) {
        String pre = stack.op.weightPrefix(stack.node, l, d);
        boolean any =
            switch (w) {
              case WEIGHTS_LAYER -> grads.containsKey(pre + "W");
              case WEIGHTS_ITER -> grads.containsKey(pre + "R");
              case WEIGHTS_PEEPHOLE -> grads.containsKey(pre + "P");
              case WEIGHTS_PROJECTION -> grads.containsKey(pre + "Wp");
              case BIAS -> grads.containsKey(pre + "bW") || grads.containsKey(pre + "bR");
              default -> false;
            };
        if (any) {
          return true;
        }
      }
    }
    return false;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("onednn weights are used after their session closed");
    }
  }

  /** Frees the plain weights and every reordered copy, held or not. */
  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      for (Reordered r : reordered) {
        r.arena.close();
        LIVE_REORDERED.decrementAndGet();
      }
      reordered.clear();
      arena.close();
    }
  }
}
