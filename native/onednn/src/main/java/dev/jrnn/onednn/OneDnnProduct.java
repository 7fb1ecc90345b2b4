package dev.jrnn.onednn;

import static dev.jrnn.onednn.OneDnn.check;
import static dev.jrnn.onednn.OneDnn.handle;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.jrnn.DType;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Precisions;
import dev.jrnn.kernels.PackedWeights;
import dev.jrnn.kernels.Sgemm;
import dev.jrnn.kernels.Simd;
import dev.jrnn.onednn.ffi.Dnnl;
import dev.jrnn.onednn.ffi.dnnl_exec_arg_t;
import dev.jrnn.onednn.ffi.dnnl_inner_product_desc_t;
import dev.jrnn.onednn.ffi.dnnl_matmul_desc_t;
import dev.jrnn.onednn.ffi.dnnl_memory_desc_t;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A bf16 or int8 weight matrix multiplied by a oneDNN primitive, for java's recurrent step loop
 * ({@code JavaBackend.recurrentLayer}): the products C = A·B of a layer whose weights are reduced,
 * on the instructions the Vector API does not reach — AVX512_BF16 and AMX-BF16 dot products for
 * bf16, AVX512_VNNI and AMX-INT8 for int8. Which primitive is measured (this project's Intel
 * machine, one thread; W1's recurrent product M = 1, K = 256, N = 1024 timed alone from C; W1 whole
 * with {@code bin/jrnn bench}): bf16 on the inner product (5.4 µs, AMX; matmul 6.7 µs, and W1 1.24
 * against 1.07 ms), int8 on matmul (2.6 µs, VNNI; the inner product picks AMX, 3.1 µs, and W1 took
 * 0.75 against 0.58 ms). java's widening GEMVs take 6.9–7.8 (bf16) and 10.9–11.1 µs (int8); W1's
 * input projection (M = 128) 50 µs bf16 and 28 µs int8 on AMX against ~400 µs in f32.
 *
 * <ul>
 *   <li><b>bf16</b>: each row of A is rounded to bf16 (nearest, ties to even); the primitive
 *       accumulates in f32.
 *   <li><b>int8</b>: each row of A is quantized dynamically to u8 with its own scale, {@code u8 =
 *       rint(x · s + 128)} with {@code s = 127 / max |row|}; the primitive's s32 sums are
 *       dequantized here as {@code (acc − 128·Σ_k w) · scale_w / s}: the difference is exact in
 *       integers and rounded once to f32 (exact below 2²⁴, i.e. for K up to ~1,000 at full scale).
 * </ul>
 *
 * The packed column {@code j} is weight row {@code colToRow[j]}, as {@link Sgemm.Panels} pack it,
 * so C comes out in the layout java's cells read. A primitive ("slice") is made per panel range and
 * row count (rounded up, {@link #bucket}), kept until {@link #close}, with the weights reordered
 * into the layout it chose; it runs on one OpenMP thread per call, the step loop's threads taking
 * disjoint panel ranges, each call on a set of buffers it takes from the slice (as many sets as
 * calls ran at once). Memory: the packed weights once, plus one reordered copy per layout and panel
 * range (a layer that also has the RNN primitive keeps that one's copy too).
 */
final class OneDnnProduct implements PackedWeights, AutoCloseable {

  private static final System.Logger LOG = System.getLogger("dev.jrnn");
  private static final int NR = Sgemm.NR;
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  private static final VectorSpecies<Float> F = Simd.F;

  /**
   * Rows of A per primitive call, so that a thread's buffers stay within 256 KiB per panel range (4
   * MiB for an input projection of 1,024 rows otherwise) and long projections reuse one primitive.
   * Measured neutral for speed: W1-like LSTM at N = 8, one thread, 2.89–3.09 ms a pass in blocks of
   * 64 against 2.94–2.95 ms in one call.
   */
  static final int ROW_BLOCK = 64;

  private static final VectorSpecies<Integer> I = F == null ? null : F.withLanes(int.class);

  private final MemorySegment engine;
  private final String name;
  private final String quantizing; // the start of a non-finite input's message
  private final boolean int8;
  private final int k;
  private final int panels;
  private final Arena arena = Arena.ofShared(); // the plain weights
  private final MemorySegment plain; // [columns][k] bf16 or s8
  private final float[] scale; // int8: the weight scale of each column (0 for padding)
  private final int[] compensation; // int8: 128 · Σ_k w[j][k], the u8 zero point's share
  private volatile Slice[] slices = new Slice[0]; // copied on write, under this
  private final List<Reordered> reordered = new ArrayList<>(); // guarded by this
  private volatile boolean closed;

  private static final AtomicInteger SLICES_MADE = new AtomicInteger();

  /**
   * Packs weight {@code name} ({@code [*, k]}, BF16, or I8 with its {@code .scale}) with column
   * {@code j} = row {@code colToRow[j]} (zeros for -1), {@code colToRow.length} a multiple of NR.
   */
  OneDnnProduct(
      MemorySegment engine, Map<String, Tensor> weights, String name, int k, int[] colToRow) {
    Tensor t = weights.get(name);
    if (t.dtype() != DType.BF16 && t.dtype() != DType.I8) {
      throw new IllegalArgumentException(
          "onednn's reduced products take BF16 or I8 weights; '" + name + "' is " + t.dtype());
    }
    // checked before any native memory is taken
    float[] rowScales =
        t.dtype() == DType.I8
            ? Precisions.rowScales(name, t, weights.get(Precisions.scaleName(name)))
            : null;
    this.engine = engine;
    this.name = name;
    this.quantizing = "onednn quantizes the input of its int8 product with '" + name + "'";
    this.int8 = t.dtype() == DType.I8;
    this.k = k;
    this.panels = colToRow.length / NR;
    int columns = colToRow.length;
    try {
      this.plain = arena.allocate((long) columns * k * (int8 ? 1 : 2), 64);
      this.scale = int8 ? new float[columns] : null;
      this.compensation = int8 ? new int[columns] : null;
      pack(t, rowScales, colToRow);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
  }

  /** The weight's rows into {@link #plain} in packed column order, with int8's scales and sums. */
  private void pack(Tensor t, float[] rowScales, int[] colToRow) {
    int columns = colToRow.length;
    if (int8) {
      byte[] q = Precisions.int8(t);
      for (int j = 0; j < columns; j++) {
        int row = colToRow[j];
        if (row >= 0) {
          MemorySegment.copy(q, row * k, plain, JAVA_BYTE, (long) j * k, k);
          int sum = 0;
          for (int i = 0; i < k; i++) {
            sum += q[row * k + i];
          }
          scale[j] = rowScales[row];
          compensation[j] = 128 * sum;
        }
      }
    } else {
      short[] b = Precisions.bf16(t);
      for (int j = 0; j < columns; j++) {
        int row = colToRow[j];
        if (row >= 0) {
          MemorySegment.copy(b, row * k, plain, JAVA_SHORT, (long) j * k * 2, k);
        }
      }
    }
  }

  @Override
  public int k() {
    return k;
  }

  @Override
  public int panels() {
    return panels;
  }

  @Override
  public void multiply(
      int m,
      float[] a,
      int aOff,
      int lda,
      int p0,
      int p1,
      float[] c,
      int cOff,
      int ldc,
      Sgemm.Mode mode,
      float[] bias,
      int biasOff,
      boolean descending) {
    for (int r0 = 0; r0 < m && p0 < p1; r0 += ROW_BLOCK) {
      multiplyRows(
          Math.min(ROW_BLOCK, m - r0),
          a,
          aOff + r0 * lda,
          lda,
          p0,
          p1,
          c,
          cOff + r0 * ldc,
          ldc,
          mode,
          bias,
          biasOff);
    }
  }

  /** {@link #multiply} for at most {@link #ROW_BLOCK} rows. */
  private void multiplyRows(
      int m,
      float[] a,
      int aOff,
      int lda,
      int p0,
      int p1,
      float[] c,
      int cOff,
      int ldc,
      Sgemm.Mode mode,
      float[] bias,
      int biasOff) {
    Slice s = slice(bucket(m), p0, p1);
    Call call = s.take();
    try {
      if (int8) {
        Reduced.rowsToU8(a, aOff, lda, m, k, call.src, call.rowScale, quantizing);
      } else {
        Reduced.rowsToBf16(a, aOff, lda, m, k, call.src);
      }
      OneDnn.setThreads(1);
      check(
          Dnnl.dnnl_primitive_execute(s.primitive, call.stream, call.argCount, call.args),
          "dnnl_primitive_execute (" + kind() + ")");
      check(Dnnl.dnnl_stream_wait(call.stream), "dnnl_stream_wait");
      int c0 = p0 * NR;
      int nc = (p1 - p0) * NR;
      for (int r = 0; r < m; r++) {
        long from = (long) r * nc * 4;
        int to = cOff + r * ldc + c0;
        if (int8) {
          storeInt8(call.dst, from, 1f / call.rowScale[r], c0, nc, c, to, mode, bias, biasOff);
        } else {
          storeF32(call.dst, from, nc, c, to, mode, bias, biasOff + c0);
        }
      }
    } finally {
      s.give(call);
    }
  }

  /** The oneDNN primitive the products run on. */
  private String kind() {
    return int8 ? "matmul" : "inner product";
  }

  /**
   * The slice for {@code rows} rows (already rounded by {@link #bucket}) and panels {@code [p0,
   * p1)}: found without a lock (the step loop repeats one shape every step), made under this
   * product's monitor on first use.
   */
  private Slice slice(int rows, int p0, int p1) {
    checkOpen(); // its primitives are gone once closed
    for (Slice s : slices) {
      if (s.m == rows && s.p0 == p0 && s.p1 == p1) {
        return s;
      }
    }
    synchronized (this) {
      checkOpen();
      for (Slice s : slices) {
        if (s.m == rows && s.p0 == p0 && s.p1 == p1) {
          return s;
        }
      }
      Slice made = new Slice(rows, p0, p1);
      Slice[] grown = Arrays.copyOf(slices, slices.length + 1);
      grown[grown.length - 1] = made;
      slices = grown;
      return made;
    }
  }

  /** Slices (primitives) made in this process, for tests. */
  static int slicesMade() {
    return SLICES_MADE.get();
  }

  /**
   * The rows a primitive is made for to serve {@code m}: m itself up to 8, above that m rounded up
   * to a quarter of its power of two (at most 25 % more rows), so the primitives a product keeps
   * stay few (about four per octave of row counts) however many sequence lengths it sees.
   */
  static int bucket(int m) {
    if (m <= 8) {
      return m;
    }
    int step = Integer.highestOneBit(m) >> 2;
    return (m + step - 1) / step * step;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("onednn product is used after its session closed");
    }
  }

  /** One row of f32 results into {@code c} as {@code mode} says. */
  private static void storeF32(
      MemorySegment dst,
      long from,
      int n,
      float[] c,
      int to,
      Sgemm.Mode mode,
      float[] bias,
      int biasOff) {
    int j = 0;
    if (F != null) {
      int end = n - n % F.length();
      // One loop per mode: a switch inside the vector loop kept C2 from intrinsifying it (JFR
      // showed the Vector API's Java fallbacks, 4 µs a row).
      if (mode == Sgemm.Mode.OVERWRITE) {
        for (; j < end; j += F.length()) {
          FloatVector.fromMemorySegment(F, dst, from + j * 4L, ORDER).intoArray(c, to + j);
        }
      } else if (mode == Sgemm.Mode.ACCUMULATE) {
        for (; j < end; j += F.length()) {
          FloatVector.fromMemorySegment(F, dst, from + j * 4L, ORDER)
              .add(FloatVector.fromArray(F, c, to + j))
              .intoArray(c, to + j);
        }
      } else {
        for (; j < end; j += F.length()) {
          FloatVector.fromMemorySegment(F, dst, from + j * 4L, ORDER)
              .add(FloatVector.fromArray(F, bias, biasOff + j))
              .intoArray(c, to + j);
        }
      }
    }
    for (; j < n; j++) {
      float v = dst.get(JAVA_FLOAT, from + j * 4L);
      c[to + j] =
          switch (mode) {
            case OVERWRITE -> v;
            case ACCUMULATE -> c[to + j] + v;
            case BIAS -> v + bias[biasOff + j];
          };
    }
  }

  /** One row of s32 sums, dequantized ({@code inv}: 1 / the row's u8 scale), into {@code c}. */
  private void storeInt8(
      MemorySegment dst,
      long from,
      float inv,
      int c0,
      int n,
      float[] c,
      int to,
      Sgemm.Mode mode,
      float[] bias,
      int biasOff) {
    int j = 0;
    if (F != null) {
      int end = n - n % F.length();
      int[] comp = compensation;
      float[] sc = scale;
      if (mode == Sgemm.Mode.OVERWRITE) {
        for (; j < end; j += F.length()) {
          dequantize(dst, from + j * 4L, comp, sc, c0 + j, inv).intoArray(c, to + j);
        }
      } else if (mode == Sgemm.Mode.ACCUMULATE) {
        for (; j < end; j += F.length()) {
          dequantize(dst, from + j * 4L, comp, sc, c0 + j, inv)
              .add(FloatVector.fromArray(F, c, to + j))
              .intoArray(c, to + j);
        }
      } else {
        for (; j < end; j += F.length()) {
          dequantize(dst, from + j * 4L, comp, sc, c0 + j, inv)
              .add(FloatVector.fromArray(F, bias, biasOff + c0 + j))
              .intoArray(c, to + j);
        }
      }
    }
    for (; j < n; j++) {
      float v =
          (float) (dst.get(JAVA_INT, from + j * 4L) - compensation[c0 + j]) * scale[c0 + j] * inv;
      c[to + j] =
          switch (mode) {
            case OVERWRITE -> v;
            case ACCUMULATE -> c[to + j] + v;
            case BIAS -> v + bias[biasOff + c0 + j];
          };
    }
  }

  /** {@code (acc − comp) · scale · inv} for the lanes at {@code off} of a row's s32 sums. */
  private static FloatVector dequantize(
      MemorySegment dst, long off, int[] comp, float[] scale, int col, float inv) {
    return ((FloatVector)
            IntVector.fromMemorySegment(I, dst, off, ORDER)
                .sub(IntVector.fromArray(I, comp, col))
                .convert(VectorOperators.I2F, 0))
        .mul(FloatVector.fromArray(F, scale, col))
        .mul(inv);
  }

  /** Frees every primitive, the reordered weights and the plain ones. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Slice s : slices) {
      s.close();
    }
    slices = new Slice[0];
    for (Reordered r : reordered) {
      Dnnl.dnnl_memory_destroy(r.memory);
    }
    reordered.clear();
    arena.close();
  }

  /** Weights of panels {@code [p0, p1)} in a layout a primitive chose (shared by equal ones). */
  private record Reordered(int p0, int p1, MemorySegment md, MemorySegment memory) {}

  /**
   * The dnnl_memory_t over panels {@code [p0, p1)} reordered into layout {@code chosen}: an
   * existing copy in that layout, or a new one in this product's arena.
   */
  private synchronized MemorySegment reordered(int p0, int p1, MemorySegment chosen, int type) {
    for (Reordered r : reordered) {
      if (r.p0 == p0 && r.p1 == p1 && Dnnl.dnnl_memory_desc_equal(r.md, chosen) != 0) {
        return r.memory;
      }
    }
    int columns = (p1 - p0) * NR;
    int elementBytes = int8 ? 1 : 2;
    MemorySegment md = dnnl_memory_desc_t.allocate(arena);
    md.copyFrom(chosen);
    try (Arena tmp = Arena.ofConfined()) {
      MemorySegment data = arena.allocate(Dnnl.dnnl_memory_desc_get_size(md), 64);
      MemorySegment memory = OneDnn.memory(engine, md, data, tmp);
      // the plain rows are [columns][k]: the inner product's [columns, k] in ab, matmul's B [k,
      // columns] in ba
      try {
        MemorySegment plainMd =
            int8
                ? OneDnn.typedMd(tmp, type, Dnnl.dnnl_ba(), k, columns)
                : OneDnn.typedMd(tmp, type, Dnnl.dnnl_ab(), columns, k);
        OneDnn.reorder(
            engine,
            plainMd,
            plain.asSlice((long) p0 * NR * k * elementBytes, (long) columns * k * elementBytes),
            md,
            memory,
            tmp);
      } catch (RuntimeException | Error e) {
        Dnnl.dnnl_memory_destroy(memory); // never handed out half filled
        throw e;
      }
      reordered.add(new Reordered(p0, p1, md, memory));
      return memory;
    }
  }

  /**
   * The primitive for {@code m} rows of A and the panels {@code [p0, p1)}, with those columns'
   * weights reordered into the layout it chose and each calling thread's buffers.
   */
  private final class Slice implements AutoCloseable {
    final int m;
    final int p0;
    final int p1;
    final int columns;
    final Arena memory = Arena.ofShared(); // descriptors, reordered weights, the calls' buffers
    final MemorySegment srcMd;
    final MemorySegment dstMd;
    final MemorySegment scratchMd;
    final long scratchBytes;
    MemorySegment primitive = MemorySegment.NULL;
    MemorySegment weights = MemorySegment.NULL; // the product's reordered copy, not owned
    private final List<Call> calls = new ArrayList<>(); // guarded by this
    private final ArrayDeque<Call> idle = new ArrayDeque<>(); // guarded by this

    Slice(int m, int p0, int p1) {
      this.m = m;
      this.p0 = p0;
      this.p1 = p1;
      this.columns = (p1 - p0) * NR;
      try (Arena tmp = Arena.ofConfined()) {
        int srcType = int8 ? Dnnl.dnnl_u8() : Dnnl.dnnl_bf16();
        int weightType = int8 ? Dnnl.dnnl_s8() : Dnnl.dnnl_bf16();
        srcMd = OneDnn.typedMd(memory, srcType, Dnnl.dnnl_ab(), m, k);
        dstMd =
            OneDnn.typedMd(
                memory, int8 ? Dnnl.dnnl_s32() : Dnnl.dnnl_f32(), Dnnl.dnnl_ab(), m, columns);
        MemorySegment desc;
        if (int8) { // matmul: B is [k, columns]
          MemorySegment anyWeights =
              OneDnn.typedMd(tmp, weightType, Dnnl.dnnl_format_tag_any(), k, columns);
          desc = dnnl_matmul_desc_t.allocate(tmp);
          check(
              Dnnl.dnnl_matmul_desc_init(desc, srcMd, anyWeights, MemorySegment.NULL, dstMd),
              "dnnl_matmul_desc_init");
        } else { // inner product: weights are [columns, k]
          MemorySegment anyWeights =
              OneDnn.typedMd(tmp, weightType, Dnnl.dnnl_format_tag_any(), columns, k);
          desc = dnnl_inner_product_desc_t.allocate(tmp);
          check(
              Dnnl.dnnl_inner_product_forward_desc_init(
                  desc,
                  Dnnl.dnnl_forward_inference(),
                  srcMd,
                  anyWeights,
                  MemorySegment.NULL,
                  dstMd),
              "dnnl_inner_product_forward_desc_init");
        }
        MemorySegment attr = OneDnn.attr(tmp);
        check(
            Dnnl.dnnl_primitive_attr_set_scratchpad_mode(attr, Dnnl.dnnl_scratchpad_mode_user()),
            "dnnl_primitive_attr_set_scratchpad_mode");
        OneDnn.setThreads(1); // oneDNN sizes its parallelism when a primitive is created
        MemorySegment pdOut = tmp.allocate(ADDRESS);
        check(
            Dnnl.dnnl_primitive_desc_create(pdOut, desc, attr, engine, MemorySegment.NULL),
            "dnnl_primitive_desc_create (" + kind() + ")");
        MemorySegment pd = handle(pdOut);
        try {
          MemorySegment primOut = tmp.allocate(ADDRESS);
          check(Dnnl.dnnl_primitive_create(primOut, pd), "dnnl_primitive_create (" + kind() + ")");
          primitive = handle(primOut);
          if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
            LOG.log(
                System.Logger.Level.DEBUG,
                "jrnn: onednn product with '"
                    + name
                    + "', "
                    + m
                    + " rows × "
                    + columns
                    + " columns: "
                    + implementation(pd, tmp));
          }
          scratchMd = copy(OneDnn.queryMd(pd, Dnnl.dnnl_query_scratchpad_md(), 0));
          scratchBytes = Dnnl.dnnl_memory_desc_get_size(scratchMd);
          weights =
              reordered(p0, p1, OneDnn.queryMd(pd, Dnnl.dnnl_query_weights_md(), 0), weightType);
        } finally {
          Dnnl.dnnl_primitive_desc_destroy(pd);
        }
      } catch (RuntimeException | Error e) {
        close();
        throw e;
      }
      SLICES_MADE.incrementAndGet();
    }

    /** oneDNN's name for the implementation {@code pd} chose ("brgemm:avx512_core_amx_bf16"). */
    private static String implementation(MemorySegment pd, Arena tmp) {
      MemorySegment out = tmp.allocate(ADDRESS);
      check(
          Dnnl.dnnl_primitive_desc_query(pd, Dnnl.dnnl_query_impl_info_str(), 0, out),
          "dnnl_primitive_desc_query (impl_info_str)");
      return handle(out).reinterpret(4096).getString(0);
    }

    private MemorySegment copy(MemorySegment md) {
      MemorySegment out = dnnl_memory_desc_t.allocate(memory);
      out.copyFrom(md);
      return out;
    }

    /**
     * A set of buffers no call is using, made when every one is taken: as many as calls ran at
     * once, not one per thread that ever called.
     */
    synchronized Call take() {
      Call c = idle.pollFirst();
      if (c == null) {
        c = new Call(this);
        calls.add(c);
      }
      return c;
    }

    /** Gives back a set {@link #take} gave out. */
    synchronized void give(Call c) {
      idle.addFirst(c);
    }

    @Override
    public synchronized void close() {
      for (Call c : calls) {
        c.close();
      }
      calls.clear();
      idle.clear();
      if (!primitive.equals(MemorySegment.NULL)) {
        Dnnl.dnnl_primitive_destroy(primitive);
        primitive = MemorySegment.NULL;
      }
      if (memory.scope().isAlive()) {
        memory.close();
      }
    }
  }

  /** One call's A and C buffers for a slice, the memories over them, a stream and arguments. */
  private final class Call {
    final MemorySegment src;
    final MemorySegment dst;
    final float[] rowScale;
    final MemorySegment args;
    final int argCount;
    final MemorySegment stream;
    private final MemorySegment[] memories = new MemorySegment[3]; // src, dst, scratchpad

    Call(Slice s) {
      Arena a = s.memory;
      src = a.allocate((long) s.m * k * (int8 ? 1 : 2), 64);
      dst = a.allocate((long) s.m * s.columns * 4, 64);
      rowScale = new float[s.m];
      argCount = s.scratchBytes > 0 ? 4 : 3;
      args = dnnl_exec_arg_t.allocateArray(argCount, a);
      try {
        memories[0] = OneDnn.memory(engine, s.srcMd, src, a);
        memories[1] = OneDnn.memory(engine, s.dstMd, dst, a);
        if (s.scratchBytes > 0) {
          MemorySegment scratch = a.allocate(s.scratchBytes, 64);
          memories[2] = OneDnn.memory(engine, s.scratchMd, scratch, a);
        }
        stream = OneDnn.stream(engine);
      } catch (RuntimeException | Error e) {
        destroyMemories();
        throw e;
      }
      put(0, Dnnl.DNNL_ARG_SRC(), memories[0]);
      put(1, Dnnl.DNNL_ARG_WEIGHTS(), s.weights);
      put(2, Dnnl.DNNL_ARG_DST(), memories[1]);
      if (s.scratchBytes > 0) {
        put(3, Dnnl.DNNL_ARG_SCRATCHPAD(), memories[2]);
      }
    }

    private void put(int i, int arg, MemorySegment memory) {
      MemorySegment e = dnnl_exec_arg_t.asSlice(args, i);
      dnnl_exec_arg_t.arg(e, arg);
      dnnl_exec_arg_t.memory(e, memory);
    }

    private void destroyMemories() {
      for (MemorySegment m : memories) {
        if (m != null) {
          Dnnl.dnnl_memory_destroy(m);
        }
      }
    }

    void close() {
      destroyMemories();
      Dnnl.dnnl_stream_destroy(stream);
    }
  }
}
