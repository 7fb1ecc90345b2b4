package dev.jrnn.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM {@code C = A · B} with B packed once into column panels and a
 * register-blocked Vector API micro-kernel: {@link #MR} rows × {@link #NV} vectors of independent
 * FMA accumulators (6 × 4 with 512-bit vectors uses 24 of the 32 registers; 6 × 2 with narrower
 * ones fits 16). A is read in place and broadcast element by element. Rows come in runs of {@code
 * MR}; a last run of 4 rows has a kernel of its own, a single row a GEMV kernel, 2, 3 or 5 rows run
 * through the 6-row kernel with clamped row pointers. Every vector kernel has a scalar twin ({@code
 * -Djrnn.vectorBits=0}) giving the same bits.
 *
 * <p>bf16 and int8 panels run through copies of the same kernels that widen each B vector in
 * registers where the f32 kernel loads it, so they read 2× or 4× fewer weight bytes and keep the
 * f32 bits (batch-1 GEMV at k = 1024, n = 4096, weights beyond L2: bf16 0.5–0.7×, int8 0.35–0.5×
 * the f32 time). Blocks of int8 rows taller than {@link #I8_FUSED_ROWS} widen each panel once into
 * per-thread f32 scratch instead; the scalar twin always does.
 *
 * <p>Offsets into the panels are {@code long}s: computed from an {@code int} element index, C2
 * keeps a bounds check on every segment load, which in the bf16 GEMV (ALU-bound: a widening op and
 * an FMA per vector) costs the ports the arithmetic needs (1024×256: 9.3 µs against 6.5–7.1 µs).
 * The f32 GEMVs go one step further and step a long offset as the loop variable (W1 f32 on one
 * thread, median 2.42 → 2.15 ms); the same loop shape made the bf16 and int8 GEMVs slower (W1 bf16
 * 1.78 → 2.2 ms, int8 2.34 → 3.07), so they compute a long offset from the k index.
 */
public final class Sgemm {

  private static final VectorSpecies<Float> S = Simd.F;
  private static final int VL = Simd.BW;
  private static final ByteOrder NO = ByteOrder.nativeOrder();

  /** Alignment of {@link Panels#aligned} copies: a cache line, so no vector load splits two. */
  private static final long LINE = 64;

  /** Ints of one float vector's shape: a bf16 pair per lane. */
  private static final VectorSpecies<Integer> IS = Simd.VECTOR ? S.withLanes(int.class) : null;

  /**
   * Bytes loaded per int8 load: one vector's worth, or two vectors' with 128-bit vectors (there is
   * no 32-bit shape).
   */
  private static final VectorSpecies<Byte> BS =
      Simd.VECTOR
          ? VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, VL * 8)))
          : null;

  /** True where one int8 load holds two vectors' bytes (128-bit vectors). */
  private static final boolean I8_PAIR = Simd.VECTOR && BS.length() == 2 * VL;

  /** Vectors per column panel. */
  public static final int NV = Simd.VECTOR && Simd.BW >= 16 ? 4 : 2;

  /** Floats per column panel. */
  public static final int NR = NV * VL;

  /**
   * Most rows of a block whose int8 tiles widen in registers; a taller block widens each panel once
   * into f32 scratch for the f32 tiles, since every 6-row tile would convert the panel again. At k
   * = 256, n = 1024, relative to f32 (best of 31): in registers 0.89–1.07× at m = 2..24, 1.17× at
   * 64; through scratch 1.28–1.45× at m = 2..24, 1.08× at 64. 256-bit vectors (16 registers on
   * AVX2) cross over earlier: 1.10× against 1.08× at m = 16, 1.17× against 1.08× at m = 24.
   */
  static final int I8_FUSED_ROWS = NV == 4 ? 24 : 12;

  /** Rows per register tile. */
  public static final int MR = 6;

  /** Rows of A processed per pass over the panels, so the A block stays in L2 (~512 KiB). */
  private static final int L2_FLOATS = 128 * 1024;

  /** How results are stored. */
  public enum Mode {
    /** {@code C = A·B}. */
    OVERWRITE,
    /** {@code C += A·B}. */
    ACCUMULATE,
    /** {@code C = A·B + bias[column]}. */
    BIAS
  }

  private Sgemm() {}

  /**
   * B packed into {@code panels} column panels of {@link #NR} columns; panel {@code p} holds {@code
   * [k][NR]} contiguously at {@code p·k·NR}. Columns past the real ones are zero. The elements are
   * f32, or reduced-precision weights (see {@link Format}) that the kernels widen in registers: a
   * product over reduced panels has the same bits as one over the f32 panels of the widened values.
   *
   * <p>The elements live in a {@link MemorySegment}: a Java array as packed, which only tests and
   * one-off products should multiply with, or a cache-line-aligned native copy ({@link #aligned},
   * refreshed in place by {@link #copyTo}) that the backends run on. Both matter for speed: a
   * 1024×256 f32 GEMV (W1's recurrent step) measured 8.6–8.9 µs aligned against 11.6–13.1 µs at the
   * other offsets of a Java array, whose address the program neither knows nor keeps across a
   * garbage collection (bf16: 7.2 against 9.3–9.9 µs); and a bf16 GEMV over an array-backed segment
   * ran 11.3 µs, 28 µs once native ones had run through the same kernel (two segment kinds at one
   * call site), and made the native ones slower too.
   */
  public static final class Panels implements PackedWeights {
    final Format format;
    final MemorySegment seg; // F32: [panels][k][NR] floats; BF16: [panels][k][NR/2] ints, see
    // Format.BF16; I8: [panels][k][NR] bytes
    final float[] scale; // I8: per packed column
    final int k;
    final int panels;
    final int mc; // rows of A per pass so the A block stays in L2

    private Panels(Format format, MemorySegment seg, float[] scale, int k, int panels) {
      this.format = format;
      this.seg = seg;
      this.scale = scale;
      this.k = k;
      this.panels = panels;
      this.mc = Math.max(MR, L2_FLOATS / Math.max(1, k) / MR * MR);
    }

    Panels(float[] data, int k, int panels) {
      this(Format.F32, MemorySegment.ofArray(data), null, k, panels);
    }

    /**
     * The same panels copied into native memory from {@code arena} at a cache-line boundary: freed
     * when the arena closes, after which using them throws {@link IllegalStateException}.
     */
    public Panels aligned(Arena arena) {
      MemorySegment copy = arena.allocate(seg.byteSize(), LINE);
      copy.copyFrom(seg);
      return new Panels(format, copy, scale == null ? null : scale.clone(), k, panels);
    }

    /**
     * Overwrites {@code dst}'s elements with these (same format and shape), so weights that change
     * every training step keep their memory; returns {@code dst}.
     */
    public Panels copyTo(Panels dst) {
      if (dst.format != format || dst.k != k || dst.panels != panels) {
        throw new IllegalArgumentException(
            "panels differ: "
                + format
                + " "
                + k
                + "×"
                + columns()
                + " into "
                + dst.format
                + " "
                + dst.k
                + "×"
                + dst.columns());
      }
      dst.seg.copyFrom(seg);
      if (scale != null) {
        System.arraycopy(scale, 0, dst.scale, 0, scale.length);
      }
      return dst;
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
        Mode mode,
        float[] bias,
        int biasOff,
        boolean descending) {
      gemm(m, a, aOff, lda, this, p0, p1, c, cOff, ldc, mode, bias, biasOff, descending);
    }

    /** How the elements are stored. */
    public Format format() {
      return format;
    }

    /** Bytes the packed elements occupy (what a product streams through once). */
    public long bytes() {
      return (long) columns() * k * format.bytes + (scale != null ? 4L * scale.length : 0);
    }
  }

  /** Element formats of packed {@link Panels}. */
  public enum Format {
    /** 32-bit floats. */
    F32(4),
    /**
     * bfloat16: the upper 16 bits of an f32. Stored as pairs in 32-bit ints so that one shift and
     * one mask widen them: within a panel row, int {@code h·VL + j} holds column {@code 2h·VL + j}
     * in its low half and column {@code (2h+1)·VL + j} in its high half.
     */
    BF16(2),
    /**
     * Signed 8-bit integers with an f32 scale per column (the weight matrix's output row): the
     * value is {@code (float) q · scale}, rounded once, as {@link Quant#dequantize} computes it.
     */
    I8(1);

    final int bytes;

    Format(int bytes) {
      this.bytes = bytes;
    }
  }

  /**
   * Packs {@code B = Wᵀ} for {@code C = A · Wᵀ}: packed column {@code j} is row {@code colToRow[j]}
   * of the row-major {@code W [*, k]} at {@code w[wOff + row·ldw]}, or zeros where {@code
   * colToRow[j] < 0}. Columns are padded up to a multiple of {@link #NR}.
   */
  public static Panels packRows(float[] w, int wOff, int ldw, int k, int[] colToRow) {
    int panels = (colToRow.length + NR - 1) / NR;
    Panels d =
        new Panels(new float[Math.multiplyExact(Math.multiplyExact(panels, k), NR)], k, panels);
    return packRowsInto(d, MemorySegment.ofArray(w).asSlice(4L * wOff), ldw, colToRow);
  }

  /**
   * Zeroed f32 panels for a {@code B [k, columns]} (columns padded to {@link #NR}) in native memory
   * from {@code arena}, cache-line aligned: the destination of {@link #packRowsInto} and {@link
   * #packGatheredInto} for weights packed again in place every training step.
   */
  public static Panels f32Panels(Arena arena, int k, int columns) {
    int panels = (columns + NR - 1) / NR;
    long bytes = 4L * Math.multiplyExact(Math.multiplyExact(panels, k), NR);
    return new Panels(Format.F32, arena.allocate(Math.max(1, bytes), LINE), null, k, panels);
  }

  /**
   * {@link #packRows} into {@code dst}'s elements, overwritten in place: packed column {@code j} is
   * row {@code colToRow[j]} of the f32 row-major {@code W} in {@code w} ({@code ldw} floats a row),
   * or zeros where that is negative; {@code dst} is F32 of depth {@code k} with room for every
   * column. Reads the weights where they are and allocates nothing. Returns {@code dst}.
   */
  public static Panels packRowsInto(Panels dst, MemorySegment w, long ldw, int[] colToRow) {
    requireF32(dst, colToRow.length);
    int k = dst.k;
    for (int j = 0; j < colToRow.length; j++) {
      int row = colToRow[j];
      long at = (long) (j / NR) * k * NR + j % NR;
      for (int kk = 0; kk < k; kk++) {
        float v = row < 0 ? 0f : w.getAtIndex(ValueLayout.JAVA_FLOAT, row * ldw + kk);
        dst.seg.setAtIndex(ValueLayout.JAVA_FLOAT, at + (long) kk * NR, v);
      }
    }
    return dst;
  }

  /**
   * {@link #pack} into {@code dst}'s elements, overwritten in place, of the {@code B [k, n]} whose
   * row {@code kk} is row {@code rowMap[kk]} of the f32 row-major matrix in {@code w} ({@code ldw}
   * floats a row; zeros where {@code rowMap[kk]} is negative; row {@code kk} itself where {@code
   * rowMap} is null), {@code k = dst.k()}. Allocates nothing. Returns {@code dst}.
   */
  public static Panels packGatheredInto(
      Panels dst, MemorySegment w, long ldw, int[] rowMap, int n) {
    requireF32(dst, n);
    int k = dst.k;
    for (int kk = 0; kk < k; kk++) {
      int row = rowMap == null ? kk : rowMap[kk];
      for (int j = 0; j < n; j++) {
        float v = row < 0 ? 0f : w.getAtIndex(ValueLayout.JAVA_FLOAT, row * ldw + j);
        dst.seg.setAtIndex(ValueLayout.JAVA_FLOAT, ((long) (j / NR) * k + kk) * NR + j % NR, v);
      }
    }
    return dst;
  }

  private static void requireF32(Panels dst, int columns) {
    if (dst.format != Format.F32 || dst.columns() < columns) {
      throw new IllegalArgumentException(
          "packing "
              + columns
              + " f32 columns into "
              + dst.format
              + " panels of "
              + dst.columns()
              + " columns");
    }
  }

  /**
   * {@link #packRows} for bfloat16 weights: {@code w} holds the bf16 bit patterns of the row-major
   * {@code W [*, k]}.
   */
  public static Panels packRowsBf16(short[] w, int wOff, int ldw, int k, int[] colToRow) {
    int panels = (colToRow.length + NR - 1) / NR;
    int[] d = new int[Math.multiplyExact(Math.multiplyExact(panels, k), NR / 2)];
    for (int j = 0; j < colToRow.length; j++) {
      int row = colToRow[j];
      if (row < 0) {
        continue;
      }
      int p = j / NR;
      int col = j % NR;
      int half = col / VL % 2; // even vectors in the low halves, odd ones in the high halves
      int slot = (col / VL / 2) * VL + col % VL;
      int base = wOff + row * ldw;
      for (int kk = 0; kk < k; kk++) {
        int at = (p * k + kk) * (NR / 2) + slot;
        d[at] |= (w[base + kk] & 0xFFFF) << (16 * half);
      }
    }
    return new Panels(Format.BF16, MemorySegment.ofArray(d), null, k, panels);
  }

  /**
   * {@link #packRows} for int8 weights with one scale per row of {@code W}: row {@code r}'s values
   * are {@code (float) w[r][·] · rowScale[r]}.
   */
  public static Panels packRowsI8(
      byte[] w, int wOff, int ldw, float[] rowScale, int scaleOff, int k, int[] colToRow) {
    int panels = (colToRow.length + NR - 1) / NR;
    byte[] d = new byte[Math.multiplyExact(Math.multiplyExact(panels, k), NR)];
    float[] scale = new float[panels * NR];
    for (int j = 0; j < colToRow.length; j++) {
      int row = colToRow[j];
      if (row < 0) {
        continue;
      }
      int p = j / NR;
      int col = j % NR;
      scale[j] = rowScale[scaleOff + row];
      int base = wOff + row * ldw;
      for (int kk = 0; kk < k; kk++) {
        d[(p * k + kk) * NR + col] = w[base + kk];
      }
    }
    return new Panels(Format.I8, MemorySegment.ofArray(d), scale, k, panels);
  }

  /**
   * The f32 values of panel {@code p} ({@code [k][NR]}) written to {@code out} from 0: the scalar
   * twin's widening.
   */
  static void widen(Panels b, int p, float[] out) {
    int k = b.k;
    switch (b.format) {
      case F32 ->
          MemorySegment.copy(b.seg, ValueLayout.JAVA_FLOAT, 4L * p * k * NR, out, 0, k * NR);
      case BF16 -> {
        int half = NR / 2;
        for (int kk = 0; kk < k; kk++) {
          int src = (p * k + kk) * half;
          int dst = kk * NR;
          for (int h = 0; h < NR / VL / 2; h++) {
            for (int j = 0; j < VL; j++) {
              int v = b.seg.getAtIndex(ValueLayout.JAVA_INT, src + h * VL + j);
              out[dst + 2 * h * VL + j] = Float.intBitsToFloat(v << 16);
              out[dst + (2 * h + 1) * VL + j] = Float.intBitsToFloat(v & 0xFFFF0000);
            }
          }
        }
      }
      case I8 -> {
        for (int kk = 0; kk < k; kk++) {
          int src = (p * k + kk) * NR;
          int dst = kk * NR;
          for (int j = 0; j < NR; j++) {
            out[dst + j] =
                Quant.dequantize(b.seg.get(ValueLayout.JAVA_BYTE, src + j), b.scale[p * NR + j]);
          }
        }
      }
    }
  }

  /** {@link #widen} with vectors into a segment: the same values, a vector at a time. */
  private static void widenVector(Panels b, int p, MemorySegment out) {
    int k = b.k;
    if (b.format == Format.BF16) {
      for (int kk = 0; kk < k; kk++) {
        int src = (p * k + kk) * (NR / 2);
        int dst = kk * NR;
        for (int h = 0; h < NV / 2; h++) {
          IntVector v = IntVector.fromMemorySegment(IS, b.seg, 4L * (src + h * VL), NO);
          v.lanewise(VectorOperators.LSHL, 16)
              .reinterpretAsFloats()
              .intoMemorySegment(out, 4L * (dst + 2 * h * VL), NO);
          v.and(0xFFFF0000)
              .reinterpretAsFloats()
              .intoMemorySegment(out, 4L * (dst + (2 * h + 1) * VL), NO);
        }
      }
    } else {
      int parts = I8_PAIR ? 2 : 1;
      for (int kk = 0; kk < k; kk++) {
        int src = (p * k + kk) * NR;
        int dst = kk * NR;
        for (int j = 0; j < NV; j++) {
          ByteVector q = ByteVector.fromMemorySegment(BS, b.seg, src + j / parts * parts * VL, NO);
          ((FloatVector) q.convertShape(VectorOperators.B2F, S, j % parts))
              .mul(FloatVector.fromArray(S, b.scale, p * NR + j * VL))
              .intoMemorySegment(out, 4L * (dst + j * VL), NO);
        }
      }
    }
  }

  /**
   * Per-thread f32 copy of one reduced panel: an array for the scalar twin and, for the vector
   * kernels (which must see native segments only, see {@link Panels}), native memory that lives as
   * long as the thread (one panel, k·NR floats; released by the collector after the thread ends).
   * Each grows once to the largest panel seen.
   */
  private static final class Wide {
    float[] floats = new float[0];
    MemorySegment seg = MemorySegment.NULL;
  }

  private static final ThreadLocal<Wide> WIDE = ThreadLocal.withInitial(Wide::new);

  private static float[] wideArray(int floats) {
    Wide w = WIDE.get();
    if (w.floats.length < floats) {
      w.floats = new float[floats];
    }
    return w.floats;
  }

  private static MemorySegment wideSegment(long floats) {
    Wide w = WIDE.get();
    if (w.seg.byteSize() < 4 * floats) {
      w.seg = Arena.ofAuto().allocate(4 * floats, LINE);
    }
    return w.seg;
  }

  /** Packs a row-major {@code B [k, n]} (columns padded to a multiple of {@link #NR}). */
  public static Panels pack(float[] b, int bOff, int ldb, int k, int n) {
    int panels = (n + NR - 1) / NR;
    Panels d =
        new Panels(new float[Math.multiplyExact(Math.multiplyExact(panels, k), NR)], k, panels);
    return packGatheredInto(d, MemorySegment.ofArray(b).asSlice(4L * bOff), ldb, null, n);
  }

  /**
   * {@code C[0:m, p0·NR : p1·NR]} from {@code A[0:m, 0:k] · B}'s panels {@code [p0, p1)}, stored as
   * {@code mode} says. {@code C} column {@code j} of panel {@code p} is {@code c[cOff + row·ldc +
   * p·NR + j]}; {@code bias} is indexed the same way from {@code biasOff} (BIAS mode only).
   */
  public static void gemm(
      int m,
      float[] a,
      int aOff,
      int lda,
      Panels b,
      int p0,
      int p1,
      float[] c,
      int cOff,
      int ldc,
      Mode mode,
      float[] bias,
      int biasOff) {
    gemm(m, a, aOff, lda, b, p0, p1, c, cOff, ldc, mode, bias, biasOff, false);
  }

  /**
   * {@link #gemm} visiting the panels from last to first when {@code descending}. A recurrence
   * alternating the order each step finds the panels it used last still in cache: with weights
   * about the size of L2 this measured 8.1 → 6.7 µs per 1024×256 GEMV step.
   */
  public static void gemm(
      int m,
      float[] a,
      int aOff,
      int lda,
      Panels b,
      int p0,
      int p1,
      float[] c,
      int cOff,
      int ldc,
      Mode mode,
      float[] bias,
      int biasOff,
      boolean descending) {
    if (!Simd.VECTOR) {
      gemmScalar(m, a, aOff, lda, b, p0, p1, c, cOff, ldc, mode, bias, biasOff);
      return;
    }
    int k = b.k;
    int mc = b.mc;
    for (int i0 = 0; i0 < m; i0 += mc) {
      int i1 = Math.min(m, i0 + mc);
      for (int q = p0; q < p1; q++) {
        int p = descending ? p1 - 1 - (q - p0) : q;
        int col = p * NR;
        if (b.format == Format.BF16) {
          panelBf16(
              i0,
              i1,
              a,
              aOff,
              lda,
              b.seg,
              p * k * NR / 2,
              k,
              c,
              cOff + col,
              ldc,
              mode,
              bias,
              biasOff + col);
        } else if (b.format == Format.I8 && i1 - i0 <= I8_FUSED_ROWS) {
          panelI8(
              i0,
              i1,
              a,
              aOff,
              lda,
              b.seg,
              p * k * NR,
              b.scale,
              col,
              k,
              c,
              cOff + col,
              ldc,
              mode,
              bias,
              biasOff + col);
        } else {
          MemorySegment bd = b.seg;
          int bo = p * k * NR;
          if (b.format != Format.F32) {
            bd = wideSegment((long) k * NR);
            widenVector(b, p, bd);
            bo = 0;
          }
          panelF32(i0, i1, a, aOff, lda, bd, bo, k, c, cOff + col, ldc, mode, bias, biasOff + col);
        }
      }
    }
  }

  // Rows [i0, i1) of A times one panel, in runs of MR rows: a last run of 4 rows has its own
  // kernel, a single row the GEMV, 2, 3 and 5 rows the 6-row kernel. C and the bias start at the
  // panel's first column.

  private static void panelF32(
      int i0,
      int i1,
      float[] a,
      int aOff,
      int lda,
      MemorySegment b,
      int bo,
      int k,
      float[] c,
      int cOff,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    for (int i = i0; i < i1; ) {
      int rows = Math.min(MR, i1 - i);
      int ai = aOff + i * lda;
      int ci = cOff + i * ldc;
      if (rows == 1) {
        if (NV == 4) {
          row1x4(a, ai, b, bo, k, c, ci, mode, bias, bias0);
        } else {
          row1x2(a, ai, b, bo, k, c, ci, mode, bias, bias0);
        }
      } else if (rows == 4) {
        if (NV == 4) {
          tile4x4(a, ai, lda, b, bo, k, c, ci, ldc, mode, bias, bias0);
        } else {
          tile4x2(a, ai, lda, b, bo, k, c, ci, ldc, mode, bias, bias0);
        }
      } else if (NV == 4) {
        tile6x4(a, ai, lda, rows, b, bo, k, c, ci, ldc, mode, bias, bias0);
      } else {
        tile6x2(a, ai, lda, rows, b, bo, k, c, ci, ldc, mode, bias, bias0);
      }
      i += rows;
    }
  }

  private static void panelBf16(
      int i0,
      int i1,
      float[] a,
      int aOff,
      int lda,
      MemorySegment b,
      int bo,
      int k,
      float[] c,
      int cOff,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    for (int i = i0; i < i1; ) {
      int rows = Math.min(MR, i1 - i);
      int ai = aOff + i * lda;
      int ci = cOff + i * ldc;
      if (rows == 1) {
        if (NV == 4) {
          row1x4Bf16(a, ai, b, bo, k, c, ci, mode, bias, bias0);
        } else {
          row1x2Bf16(a, ai, b, bo, k, c, ci, mode, bias, bias0);
        }
      } else if (rows == 4) {
        if (NV == 4) {
          tile4x4Bf16(a, ai, lda, b, bo, k, c, ci, ldc, mode, bias, bias0);
        } else {
          tile4x2Bf16(a, ai, lda, b, bo, k, c, ci, ldc, mode, bias, bias0);
        }
      } else if (NV == 4) {
        tile6x4Bf16(a, ai, lda, rows, b, bo, k, c, ci, ldc, mode, bias, bias0);
      } else {
        tile6x2Bf16(a, ai, lda, rows, b, bo, k, c, ci, ldc, mode, bias, bias0);
      }
      i += rows;
    }
  }

  private static void panelI8(
      int i0,
      int i1,
      float[] a,
      int aOff,
      int lda,
      MemorySegment b,
      int bo,
      float[] scale,
      int so,
      int k,
      float[] c,
      int cOff,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    for (int i = i0; i < i1; ) {
      int rows = Math.min(MR, i1 - i);
      int ai = aOff + i * lda;
      int ci = cOff + i * ldc;
      if (rows == 1) {
        if (NV == 4) {
          row1x4I8(a, ai, b, bo, scale, so, k, c, ci, mode, bias, bias0);
        } else {
          row1x2I8(a, ai, b, bo, scale, so, k, c, ci, mode, bias, bias0);
        }
      } else if (rows == 4) {
        if (NV == 4) {
          tile4x4I8(a, ai, lda, b, bo, scale, so, k, c, ci, ldc, mode, bias, bias0);
        } else {
          tile4x2I8(a, ai, lda, b, bo, scale, so, k, c, ci, ldc, mode, bias, bias0);
        }
      } else if (NV == 4) {
        tile6x4I8(a, ai, lda, rows, b, bo, scale, so, k, c, ci, ldc, mode, bias, bias0);
      } else {
        tile6x2I8(a, ai, lda, rows, b, bo, scale, so, k, c, ci, ldc, mode, bias, bias0);
      }
      i += rows;
    }
  }

  /**
   * Scalar twin of {@link #gemm}, same packed format and the same bits: each sum starts from 0, C
   * or the bias and adds the products in k order with fused multiply-adds, except a row the vector
   * path runs alone through its GEMV kernel (the last of a block of rows when the block leaves one
   * over), which sums even and odd k separately and adds the two at the end.
   */
  public static void gemmScalar(
      int m,
      float[] a,
      int aOff,
      int lda,
      Panels b,
      int p0,
      int p1,
      float[] c,
      int cOff,
      int ldc,
      Mode mode,
      float[] bias,
      int biasOff) {
    int k = b.k;
    for (int i0 = 0; i0 < m; i0 += b.mc) {
      int i1 = Math.min(m, i0 + b.mc);
      int lone = (i1 - i0) % MR == 1 ? i1 - 1 : -1;
      for (int p = p0; p < p1; p++) {
        // The scalar twin reads every panel through an f32 copy (a plain array).
        float[] bd = wideArray(k * NR);
        widen(b, p, bd);
        int bo = 0;
        for (int i = i0; i < i1; i++) {
          int ao = aOff + i * lda;
          int co = cOff + i * ldc + p * NR;
          for (int j = 0; j < NR; j++) {
            float acc =
                switch (mode) {
                  case OVERWRITE -> 0f;
                  case ACCUMULATE -> c[co + j];
                  case BIAS -> bias[biasOff + p * NR + j];
                };
            if (i != lone) {
              for (int kk = 0; kk < k; kk++) {
                acc = Math.fma(a[ao + kk], bd[bo + kk * NR + j], acc);
              }
            } else {
              float odd = 0f;
              int kk = 0;
              for (; kk + 1 < k; kk += 2) {
                acc = Math.fma(a[ao + kk], bd[bo + kk * NR + j], acc);
                odd = Math.fma(a[ao + kk + 1], bd[bo + (kk + 1) * NR + j], odd);
              }
              if (kk < k) {
                acc = Math.fma(a[ao + kk], bd[bo + kk * NR + j], acc);
              }
              acc += odd;
            }
            c[co + j] = acc;
          }
        }
      }
    }
  }

  // The kernels below keep every vector inside one method: a FloatVector passed to a helper
  // that C2 does not inline is boxed, which measured 7x slower. Accumulators start from zero,
  // C or the bias (by mode) and are stored with plain intoArray. In the 6-row kernels rows past
  // `rows` read the last valid row and are not stored, so they also serve runs of 2, 3 and 5.

  // 6 rows x 4 vectors: 24 accumulators of the 32 AVX-512 registers.
  private static void tile6x4(
      float[] a,
      int ao,
      int lda,
      int rows,
      MemorySegment b,
      int bo,
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + Math.min(1, rows - 1) * lda;
    int a2 = ao + Math.min(2, rows - 1) * lda;
    int a3 = ao + Math.min(3, rows - 1) * lda;
    int a4 = ao + Math.min(4, rows - 1) * lda;
    int a5 = ao + Math.min(5, rows - 1) * lda;
    int o0 = co;
    int o1 = co + Math.min(1, rows - 1) * ldc;
    int o2 = co + Math.min(2, rows - 1) * ldc;
    int o3 = co + Math.min(3, rows - 1) * ldc;
    int o4 = co + Math.min(4, rows - 1) * ldc;
    int o5 = co + Math.min(5, rows - 1) * ldc;
    FloatVector c00,
        c01,
        c02,
        c03,
        c10,
        c11,
        c12,
        c13,
        c20,
        c21,
        c22,
        c23,
        c30,
        c31,
        c32,
        c33,
        c40,
        c41,
        c42,
        c43,
        c50,
        c51,
        c52,
        c53;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c02 = FloatVector.fromArray(S, c, o0 + 2 * VL);
      c03 = FloatVector.fromArray(S, c, o0 + 3 * VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c12 = FloatVector.fromArray(S, c, o1 + 2 * VL);
      c13 = FloatVector.fromArray(S, c, o1 + 3 * VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c22 = FloatVector.fromArray(S, c, o2 + 2 * VL);
      c23 = FloatVector.fromArray(S, c, o2 + 3 * VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c32 = FloatVector.fromArray(S, c, o3 + 2 * VL);
      c33 = FloatVector.fromArray(S, c, o3 + 3 * VL);
      c40 = FloatVector.fromArray(S, c, o4);
      c41 = FloatVector.fromArray(S, c, o4 + VL);
      c42 = FloatVector.fromArray(S, c, o4 + 2 * VL);
      c43 = FloatVector.fromArray(S, c, o4 + 3 * VL);
      c50 = FloatVector.fromArray(S, c, o5);
      c51 = FloatVector.fromArray(S, c, o5 + VL);
      c52 = FloatVector.fromArray(S, c, o5 + 2 * VL);
      c53 = FloatVector.fromArray(S, c, o5 + 3 * VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c02 = FloatVector.fromArray(S, bias, bias0 + 2 * VL);
      c03 = FloatVector.fromArray(S, bias, bias0 + 3 * VL);
      c10 = c00;
      c11 = c01;
      c12 = c02;
      c13 = c03;
      c20 = c00;
      c21 = c01;
      c22 = c02;
      c23 = c03;
      c30 = c00;
      c31 = c01;
      c32 = c02;
      c33 = c03;
      c40 = c00;
      c41 = c01;
      c42 = c02;
      c43 = c03;
      c50 = c00;
      c51 = c01;
      c52 = c02;
      c53 = c03;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c02 = c00;
      c03 = c00;
      c10 = c00;
      c11 = c00;
      c12 = c00;
      c13 = c00;
      c20 = c00;
      c21 = c00;
      c22 = c00;
      c23 = c00;
      c30 = c00;
      c31 = c00;
      c32 = c00;
      c33 = c00;
      c40 = c00;
      c41 = c00;
      c42 = c00;
      c43 = c00;
      c50 = c00;
      c51 = c00;
      c52 = c00;
      c53 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      long bk = bo + kk * (4L * VL);
      FloatVector b0 = FloatVector.fromMemorySegment(S, b, 4L * bk, NO);
      FloatVector b1 = FloatVector.fromMemorySegment(S, b, 4L * (bk + VL), NO);
      FloatVector b2 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 2 * VL), NO);
      FloatVector b3 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 3 * VL), NO);
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      c02 = b2.fma(x, c02);
      c03 = b3.fma(x, c03);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      c12 = b2.fma(x, c12);
      c13 = b3.fma(x, c13);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      c22 = b2.fma(x, c22);
      c23 = b3.fma(x, c23);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      c32 = b2.fma(x, c32);
      c33 = b3.fma(x, c33);
      x = FloatVector.broadcast(S, a[a4 + kk]);
      c40 = b0.fma(x, c40);
      c41 = b1.fma(x, c41);
      c42 = b2.fma(x, c42);
      c43 = b3.fma(x, c43);
      x = FloatVector.broadcast(S, a[a5 + kk]);
      c50 = b0.fma(x, c50);
      c51 = b1.fma(x, c51);
      c52 = b2.fma(x, c52);
      c53 = b3.fma(x, c53);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    c02.intoArray(c, o0 + 2 * VL);
    c03.intoArray(c, o0 + 3 * VL);
    if (rows > 1) {
      c10.intoArray(c, o1);
      c11.intoArray(c, o1 + VL);
      c12.intoArray(c, o1 + 2 * VL);
      c13.intoArray(c, o1 + 3 * VL);
    }
    if (rows > 2) {
      c20.intoArray(c, o2);
      c21.intoArray(c, o2 + VL);
      c22.intoArray(c, o2 + 2 * VL);
      c23.intoArray(c, o2 + 3 * VL);
    }
    if (rows > 3) {
      c30.intoArray(c, o3);
      c31.intoArray(c, o3 + VL);
      c32.intoArray(c, o3 + 2 * VL);
      c33.intoArray(c, o3 + 3 * VL);
    }
    if (rows > 4) {
      c40.intoArray(c, o4);
      c41.intoArray(c, o4 + VL);
      c42.intoArray(c, o4 + 2 * VL);
      c43.intoArray(c, o4 + 3 * VL);
    }
    if (rows > 5) {
      c50.intoArray(c, o5);
      c51.intoArray(c, o5 + VL);
      c52.intoArray(c, o5 + 2 * VL);
      c53.intoArray(c, o5 + 3 * VL);
    }
  }

  // One row x 4 vectors: the batch-1 GEMV.
  private static void row1x4(
      float[] a,
      int ao,
      MemorySegment b,
      int bo,
      int k,
      float[] c,
      int co,
      Mode mode,
      float[] bias,
      int bias0) {
    FloatVector c0, c1, c2, c3;
    if (mode == Mode.ACCUMULATE) {
      c0 = FloatVector.fromArray(S, c, co);
      c1 = FloatVector.fromArray(S, c, co + VL);
      c2 = FloatVector.fromArray(S, c, co + 2 * VL);
      c3 = FloatVector.fromArray(S, c, co + 3 * VL);
    } else if (mode == Mode.BIAS) {
      c0 = FloatVector.fromArray(S, bias, bias0);
      c1 = FloatVector.fromArray(S, bias, bias0 + VL);
      c2 = FloatVector.fromArray(S, bias, bias0 + 2 * VL);
      c3 = FloatVector.fromArray(S, bias, bias0 + 3 * VL);
    } else {
      c0 = FloatVector.zero(S);
      c1 = c0;
      c2 = c0;
      c3 = c0;
    }
    FloatVector d0 = FloatVector.zero(S);
    FloatVector d1 = d0, d2 = d0, d3 = d0;
    // k unrolled by two with separate accumulators: more independent FMAs in flight.
    int kk = 0;
    // The offset is the loop's own long induction variable (see "Offsets" in the class doc).
    long end = bo + (k & ~1) * (4L * VL);
    for (long bk = bo; bk < end; bk += 8L * VL, kk += 2) {
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 = FloatVector.fromMemorySegment(S, b, 4L * bk, NO).fma(x, c0);
      c1 = FloatVector.fromMemorySegment(S, b, 4L * (bk + VL), NO).fma(x, c1);
      c2 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 2 * VL), NO).fma(x, c2);
      c3 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 3 * VL), NO).fma(x, c3);
      FloatVector y = FloatVector.broadcast(S, a[ao + kk + 1]);
      d0 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 4 * VL), NO).fma(y, d0);
      d1 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 5 * VL), NO).fma(y, d1);
      d2 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 6 * VL), NO).fma(y, d2);
      d3 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 7 * VL), NO).fma(y, d3);
    }
    if (kk < k) {
      long bk = bo + kk * (4L * VL);
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 = FloatVector.fromMemorySegment(S, b, 4L * bk, NO).fma(x, c0);
      c1 = FloatVector.fromMemorySegment(S, b, 4L * (bk + VL), NO).fma(x, c1);
      c2 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 2 * VL), NO).fma(x, c2);
      c3 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 3 * VL), NO).fma(x, c3);
    }
    c0.add(d0).intoArray(c, co);
    c1.add(d1).intoArray(c, co + VL);
    c2.add(d2).intoArray(c, co + 2 * VL);
    c3.add(d3).intoArray(c, co + 3 * VL);
  }

  // 6 rows x 2 vectors: 12 accumulators, for 16-register (AVX2) machines.
  private static void tile6x2(
      float[] a,
      int ao,
      int lda,
      int rows,
      MemorySegment b,
      int bo,
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + Math.min(1, rows - 1) * lda;
    int a2 = ao + Math.min(2, rows - 1) * lda;
    int a3 = ao + Math.min(3, rows - 1) * lda;
    int a4 = ao + Math.min(4, rows - 1) * lda;
    int a5 = ao + Math.min(5, rows - 1) * lda;
    int o0 = co;
    int o1 = co + Math.min(1, rows - 1) * ldc;
    int o2 = co + Math.min(2, rows - 1) * ldc;
    int o3 = co + Math.min(3, rows - 1) * ldc;
    int o4 = co + Math.min(4, rows - 1) * ldc;
    int o5 = co + Math.min(5, rows - 1) * ldc;
    FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c40 = FloatVector.fromArray(S, c, o4);
      c41 = FloatVector.fromArray(S, c, o4 + VL);
      c50 = FloatVector.fromArray(S, c, o5);
      c51 = FloatVector.fromArray(S, c, o5 + VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c10 = c00;
      c11 = c01;
      c20 = c00;
      c21 = c01;
      c30 = c00;
      c31 = c01;
      c40 = c00;
      c41 = c01;
      c50 = c00;
      c51 = c01;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c10 = c00;
      c11 = c00;
      c20 = c00;
      c21 = c00;
      c30 = c00;
      c31 = c00;
      c40 = c00;
      c41 = c00;
      c50 = c00;
      c51 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      long bk = bo + kk * (2L * VL);
      FloatVector b0 = FloatVector.fromMemorySegment(S, b, 4L * bk, NO);
      FloatVector b1 = FloatVector.fromMemorySegment(S, b, 4L * (bk + VL), NO);
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      x = FloatVector.broadcast(S, a[a4 + kk]);
      c40 = b0.fma(x, c40);
      c41 = b1.fma(x, c41);
      x = FloatVector.broadcast(S, a[a5 + kk]);
      c50 = b0.fma(x, c50);
      c51 = b1.fma(x, c51);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    if (rows > 1) {
      c10.intoArray(c, o1);
      c11.intoArray(c, o1 + VL);
    }
    if (rows > 2) {
      c20.intoArray(c, o2);
      c21.intoArray(c, o2 + VL);
    }
    if (rows > 3) {
      c30.intoArray(c, o3);
      c31.intoArray(c, o3 + VL);
    }
    if (rows > 4) {
      c40.intoArray(c, o4);
      c41.intoArray(c, o4 + VL);
    }
    if (rows > 5) {
      c50.intoArray(c, o5);
      c51.intoArray(c, o5 + VL);
    }
  }

  private static void row1x2(
      float[] a,
      int ao,
      MemorySegment b,
      int bo,
      int k,
      float[] c,
      int co,
      Mode mode,
      float[] bias,
      int bias0) {
    FloatVector c0, c1;
    if (mode == Mode.ACCUMULATE) {
      c0 = FloatVector.fromArray(S, c, co);
      c1 = FloatVector.fromArray(S, c, co + VL);
    } else if (mode == Mode.BIAS) {
      c0 = FloatVector.fromArray(S, bias, bias0);
      c1 = FloatVector.fromArray(S, bias, bias0 + VL);
    } else {
      c0 = FloatVector.zero(S);
      c1 = c0;
    }
    FloatVector d0 = FloatVector.zero(S);
    FloatVector d1 = d0;
    // k unrolled by two with separate accumulators: more independent FMAs in flight.
    int kk = 0;
    // The offset is the loop's own long induction variable (see "Offsets" in the class doc).
    long end = bo + (k & ~1) * (2L * VL);
    for (long bk = bo; bk < end; bk += 4L * VL, kk += 2) {
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 = FloatVector.fromMemorySegment(S, b, 4L * bk, NO).fma(x, c0);
      c1 = FloatVector.fromMemorySegment(S, b, 4L * (bk + VL), NO).fma(x, c1);
      FloatVector y = FloatVector.broadcast(S, a[ao + kk + 1]);
      d0 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 2 * VL), NO).fma(y, d0);
      d1 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 3 * VL), NO).fma(y, d1);
    }
    if (kk < k) {
      long bk = bo + kk * (2L * VL);
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 = FloatVector.fromMemorySegment(S, b, 4L * bk, NO).fma(x, c0);
      c1 = FloatVector.fromMemorySegment(S, b, 4L * (bk + VL), NO).fma(x, c1);
    }
    c0.add(d0).intoArray(c, co);
    c1.add(d1).intoArray(c, co + VL);
  }

  // The GEMV over reduced panels: row1x4 / row1x2 with each weight vector widened in registers
  // just before its FMA, in the same order, so the sums have the f32 kernel's bits. bf16: a lane's
  // low half shifted up, its high half masked (exact). int8: (float) q times the column's scale,
  // one rounding, as Quant.dequantize.

  private static void row1x4Bf16(
      float[] a,
      int ao,
      MemorySegment b,
      int bo, // ints: panel p at p·k·NR/2
      int k,
      float[] c,
      int co,
      Mode mode,
      float[] bias,
      int bias0) {
    FloatVector c0, c1, c2, c3;
    if (mode == Mode.ACCUMULATE) {
      c0 = FloatVector.fromArray(S, c, co);
      c1 = FloatVector.fromArray(S, c, co + VL);
      c2 = FloatVector.fromArray(S, c, co + 2 * VL);
      c3 = FloatVector.fromArray(S, c, co + 3 * VL);
    } else if (mode == Mode.BIAS) {
      c0 = FloatVector.fromArray(S, bias, bias0);
      c1 = FloatVector.fromArray(S, bias, bias0 + VL);
      c2 = FloatVector.fromArray(S, bias, bias0 + 2 * VL);
      c3 = FloatVector.fromArray(S, bias, bias0 + 3 * VL);
    } else {
      c0 = FloatVector.zero(S);
      c1 = c0;
      c2 = c0;
      c3 = c0;
    }
    FloatVector d0 = FloatVector.zero(S);
    FloatVector d1 = d0, d2 = d0, d3 = d0;
    int kk = 0;
    for (; kk + 1 < k; kk += 2) {
      long bk = bo + kk * (2L * VL);
      IntVector v01 = IntVector.fromMemorySegment(IS, b, 4L * bk, NO);
      IntVector v23 = IntVector.fromMemorySegment(IS, b, 4L * (bk + VL), NO);
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 = v01.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x, c0);
      c1 = v01.and(0xFFFF0000).reinterpretAsFloats().fma(x, c1);
      c2 = v23.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x, c2);
      c3 = v23.and(0xFFFF0000).reinterpretAsFloats().fma(x, c3);
      v01 = IntVector.fromMemorySegment(IS, b, 4L * (bk + 2 * VL), NO);
      v23 = IntVector.fromMemorySegment(IS, b, 4L * (bk + 3 * VL), NO);
      FloatVector y = FloatVector.broadcast(S, a[ao + kk + 1]);
      d0 = v01.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(y, d0);
      d1 = v01.and(0xFFFF0000).reinterpretAsFloats().fma(y, d1);
      d2 = v23.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(y, d2);
      d3 = v23.and(0xFFFF0000).reinterpretAsFloats().fma(y, d3);
    }
    if (kk < k) {
      long bk = bo + kk * (2L * VL);
      IntVector v01 = IntVector.fromMemorySegment(IS, b, 4L * bk, NO);
      IntVector v23 = IntVector.fromMemorySegment(IS, b, 4L * (bk + VL), NO);
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 = v01.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x, c0);
      c1 = v01.and(0xFFFF0000).reinterpretAsFloats().fma(x, c1);
      c2 = v23.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x, c2);
      c3 = v23.and(0xFFFF0000).reinterpretAsFloats().fma(x, c3);
    }
    c0.add(d0).intoArray(c, co);
    c1.add(d1).intoArray(c, co + VL);
    c2.add(d2).intoArray(c, co + 2 * VL);
    c3.add(d3).intoArray(c, co + 3 * VL);
  }

  private static void row1x2Bf16(
      float[] a,
      int ao,
      MemorySegment b,
      int bo, // ints: panel p at p·k·NR/2
      int k,
      float[] c,
      int co,
      Mode mode,
      float[] bias,
      int bias0) {
    FloatVector c0, c1;
    if (mode == Mode.ACCUMULATE) {
      c0 = FloatVector.fromArray(S, c, co);
      c1 = FloatVector.fromArray(S, c, co + VL);
    } else if (mode == Mode.BIAS) {
      c0 = FloatVector.fromArray(S, bias, bias0);
      c1 = FloatVector.fromArray(S, bias, bias0 + VL);
    } else {
      c0 = FloatVector.zero(S);
      c1 = c0;
    }
    FloatVector d0 = FloatVector.zero(S);
    FloatVector d1 = d0;
    int kk = 0;
    for (; kk + 1 < k; kk += 2) {
      long bk = bo + kk * (long) VL;
      IntVector v = IntVector.fromMemorySegment(IS, b, 4L * bk, NO);
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x, c0);
      c1 = v.and(0xFFFF0000).reinterpretAsFloats().fma(x, c1);
      v = IntVector.fromMemorySegment(IS, b, 4L * (bk + VL), NO);
      FloatVector y = FloatVector.broadcast(S, a[ao + kk + 1]);
      d0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(y, d0);
      d1 = v.and(0xFFFF0000).reinterpretAsFloats().fma(y, d1);
    }
    if (kk < k) {
      IntVector v = IntVector.fromMemorySegment(IS, b, 4L * (bo + kk * (long) VL), NO);
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x, c0);
      c1 = v.and(0xFFFF0000).reinterpretAsFloats().fma(x, c1);
    }
    c0.add(d0).intoArray(c, co);
    c1.add(d1).intoArray(c, co + VL);
  }

  // One load of a vector's bytes and a sign-extending convert per vector (vpmovsxbd, vcvtdq2ps):
  // loading a row's 64 bytes once and converting parts 0..3 measured slower, 15 against 11 µs per
  // 256×1024 GEMV, since parts 1..3 cost a byte permute and a blend each.
  private static void row1x4I8(
      float[] a,
      int ao,
      MemorySegment b,
      int bo, // bytes: panel p at p·k·NR
      float[] scale,
      int so, // the panel's first column
      int k,
      float[] c,
      int co,
      Mode mode,
      float[] bias,
      int bias0) {
    FloatVector s0 = FloatVector.fromArray(S, scale, so);
    FloatVector s1 = FloatVector.fromArray(S, scale, so + VL);
    FloatVector s2 = FloatVector.fromArray(S, scale, so + 2 * VL);
    FloatVector s3 = FloatVector.fromArray(S, scale, so + 3 * VL);
    FloatVector c0, c1, c2, c3;
    if (mode == Mode.ACCUMULATE) {
      c0 = FloatVector.fromArray(S, c, co);
      c1 = FloatVector.fromArray(S, c, co + VL);
      c2 = FloatVector.fromArray(S, c, co + 2 * VL);
      c3 = FloatVector.fromArray(S, c, co + 3 * VL);
    } else if (mode == Mode.BIAS) {
      c0 = FloatVector.fromArray(S, bias, bias0);
      c1 = FloatVector.fromArray(S, bias, bias0 + VL);
      c2 = FloatVector.fromArray(S, bias, bias0 + 2 * VL);
      c3 = FloatVector.fromArray(S, bias, bias0 + 3 * VL);
    } else {
      c0 = FloatVector.zero(S);
      c1 = c0;
      c2 = c0;
      c3 = c0;
    }
    FloatVector d0 = FloatVector.zero(S);
    FloatVector d1 = d0, d2 = d0, d3 = d0;
    int kk = 0;
    for (; kk + 1 < k; kk += 2) {
      long bk = bo + kk * (4L * VL);
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s0)
              .fma(x, c0);
      c1 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s1)
              .fma(x, c1);
      c2 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 2 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s2)
              .fma(x, c2);
      c3 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 3 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s3)
              .fma(x, c3);
      FloatVector y = FloatVector.broadcast(S, a[ao + kk + 1]);
      d0 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 4 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s0)
              .fma(y, d0);
      d1 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 5 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s1)
              .fma(y, d1);
      d2 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 6 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s2)
              .fma(y, d2);
      d3 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 7 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s3)
              .fma(y, d3);
    }
    if (kk < k) {
      long bk = bo + kk * (4L * VL);
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s0)
              .fma(x, c0);
      c1 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s1)
              .fma(x, c1);
      c2 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 2 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s2)
              .fma(x, c2);
      c3 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 3 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s3)
              .fma(x, c3);
    }
    c0.add(d0).intoArray(c, co);
    c1.add(d1).intoArray(c, co + VL);
    c2.add(d2).intoArray(c, co + 2 * VL);
    c3.add(d3).intoArray(c, co + 3 * VL);
  }

  // With 128-bit vectors one 64-bit load holds both vectors' bytes (parts 0 and 1).
  private static void row1x2I8(
      float[] a,
      int ao,
      MemorySegment b,
      int bo, // bytes: panel p at p·k·NR
      float[] scale,
      int so, // the panel's first column
      int k,
      float[] c,
      int co,
      Mode mode,
      float[] bias,
      int bias0) {
    FloatVector s0 = FloatVector.fromArray(S, scale, so);
    FloatVector s1 = FloatVector.fromArray(S, scale, so + VL);
    FloatVector c0, c1;
    if (mode == Mode.ACCUMULATE) {
      c0 = FloatVector.fromArray(S, c, co);
      c1 = FloatVector.fromArray(S, c, co + VL);
    } else if (mode == Mode.BIAS) {
      c0 = FloatVector.fromArray(S, bias, bias0);
      c1 = FloatVector.fromArray(S, bias, bias0 + VL);
    } else {
      c0 = FloatVector.zero(S);
      c1 = c0;
    }
    FloatVector d0 = FloatVector.zero(S);
    FloatVector d1 = d0;
    int kk = 0;
    for (; kk + 1 < k; kk += 2) {
      long bk = bo + kk * (2L * VL);
      ByteVector q0 = ByteVector.fromMemorySegment(BS, b, bk, NO);
      ByteVector q1 = I8_PAIR ? q0 : ByteVector.fromMemorySegment(BS, b, bk + VL, NO);
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, S, 0)).mul(s0).fma(x, c0);
      c1 =
          ((FloatVector) q1.convertShape(VectorOperators.B2F, S, I8_PAIR ? 1 : 0))
              .mul(s1)
              .fma(x, c1);
      q0 = ByteVector.fromMemorySegment(BS, b, bk + 2 * VL, NO);
      q1 = I8_PAIR ? q0 : ByteVector.fromMemorySegment(BS, b, bk + 3 * VL, NO);
      FloatVector y = FloatVector.broadcast(S, a[ao + kk + 1]);
      d0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, S, 0)).mul(s0).fma(y, d0);
      d1 =
          ((FloatVector) q1.convertShape(VectorOperators.B2F, S, I8_PAIR ? 1 : 0))
              .mul(s1)
              .fma(y, d1);
    }
    if (kk < k) {
      long bk = bo + kk * (2L * VL);
      ByteVector q0 = ByteVector.fromMemorySegment(BS, b, bk, NO);
      ByteVector q1 = I8_PAIR ? q0 : ByteVector.fromMemorySegment(BS, b, bk + VL, NO);
      FloatVector x = FloatVector.broadcast(S, a[ao + kk]);
      c0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, S, 0)).mul(s0).fma(x, c0);
      c1 =
          ((FloatVector) q1.convertShape(VectorOperators.B2F, S, I8_PAIR ? 1 : 0))
              .mul(s1)
              .fma(x, c1);
    }
    c0.add(d0).intoArray(c, co);
    c1.add(d1).intoArray(c, co + VL);
  }

  // The tiles over reduced panels: the f32 tiles with each B vector widened in registers where
  // the f32 tile loads it (bf16 and int8 as in row1x4Bf16 and row1x4I8), the FMAs unchanged.

  private static void tile6x4Bf16(
      float[] a,
      int ao,
      int lda,
      int rows,
      MemorySegment b,
      int bo, // ints: panel p at p·k·NR/2
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + Math.min(1, rows - 1) * lda;
    int a2 = ao + Math.min(2, rows - 1) * lda;
    int a3 = ao + Math.min(3, rows - 1) * lda;
    int a4 = ao + Math.min(4, rows - 1) * lda;
    int a5 = ao + Math.min(5, rows - 1) * lda;
    int o0 = co;
    int o1 = co + Math.min(1, rows - 1) * ldc;
    int o2 = co + Math.min(2, rows - 1) * ldc;
    int o3 = co + Math.min(3, rows - 1) * ldc;
    int o4 = co + Math.min(4, rows - 1) * ldc;
    int o5 = co + Math.min(5, rows - 1) * ldc;
    FloatVector c00,
        c01,
        c02,
        c03,
        c10,
        c11,
        c12,
        c13,
        c20,
        c21,
        c22,
        c23,
        c30,
        c31,
        c32,
        c33,
        c40,
        c41,
        c42,
        c43,
        c50,
        c51,
        c52,
        c53;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c02 = FloatVector.fromArray(S, c, o0 + 2 * VL);
      c03 = FloatVector.fromArray(S, c, o0 + 3 * VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c12 = FloatVector.fromArray(S, c, o1 + 2 * VL);
      c13 = FloatVector.fromArray(S, c, o1 + 3 * VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c22 = FloatVector.fromArray(S, c, o2 + 2 * VL);
      c23 = FloatVector.fromArray(S, c, o2 + 3 * VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c32 = FloatVector.fromArray(S, c, o3 + 2 * VL);
      c33 = FloatVector.fromArray(S, c, o3 + 3 * VL);
      c40 = FloatVector.fromArray(S, c, o4);
      c41 = FloatVector.fromArray(S, c, o4 + VL);
      c42 = FloatVector.fromArray(S, c, o4 + 2 * VL);
      c43 = FloatVector.fromArray(S, c, o4 + 3 * VL);
      c50 = FloatVector.fromArray(S, c, o5);
      c51 = FloatVector.fromArray(S, c, o5 + VL);
      c52 = FloatVector.fromArray(S, c, o5 + 2 * VL);
      c53 = FloatVector.fromArray(S, c, o5 + 3 * VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c02 = FloatVector.fromArray(S, bias, bias0 + 2 * VL);
      c03 = FloatVector.fromArray(S, bias, bias0 + 3 * VL);
      c10 = c00;
      c11 = c01;
      c12 = c02;
      c13 = c03;
      c20 = c00;
      c21 = c01;
      c22 = c02;
      c23 = c03;
      c30 = c00;
      c31 = c01;
      c32 = c02;
      c33 = c03;
      c40 = c00;
      c41 = c01;
      c42 = c02;
      c43 = c03;
      c50 = c00;
      c51 = c01;
      c52 = c02;
      c53 = c03;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c02 = c00;
      c03 = c00;
      c10 = c00;
      c11 = c00;
      c12 = c00;
      c13 = c00;
      c20 = c00;
      c21 = c00;
      c22 = c00;
      c23 = c00;
      c30 = c00;
      c31 = c00;
      c32 = c00;
      c33 = c00;
      c40 = c00;
      c41 = c00;
      c42 = c00;
      c43 = c00;
      c50 = c00;
      c51 = c00;
      c52 = c00;
      c53 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      long bk = bo + kk * (2L * VL);
      IntVector v01 = IntVector.fromMemorySegment(IS, b, 4L * bk, NO);
      IntVector v23 = IntVector.fromMemorySegment(IS, b, 4L * (bk + VL), NO);
      FloatVector b0 = v01.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector b1 = v01.and(0xFFFF0000).reinterpretAsFloats();
      FloatVector b2 = v23.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector b3 = v23.and(0xFFFF0000).reinterpretAsFloats();
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      c02 = b2.fma(x, c02);
      c03 = b3.fma(x, c03);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      c12 = b2.fma(x, c12);
      c13 = b3.fma(x, c13);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      c22 = b2.fma(x, c22);
      c23 = b3.fma(x, c23);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      c32 = b2.fma(x, c32);
      c33 = b3.fma(x, c33);
      x = FloatVector.broadcast(S, a[a4 + kk]);
      c40 = b0.fma(x, c40);
      c41 = b1.fma(x, c41);
      c42 = b2.fma(x, c42);
      c43 = b3.fma(x, c43);
      x = FloatVector.broadcast(S, a[a5 + kk]);
      c50 = b0.fma(x, c50);
      c51 = b1.fma(x, c51);
      c52 = b2.fma(x, c52);
      c53 = b3.fma(x, c53);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    c02.intoArray(c, o0 + 2 * VL);
    c03.intoArray(c, o0 + 3 * VL);
    if (rows > 1) {
      c10.intoArray(c, o1);
      c11.intoArray(c, o1 + VL);
      c12.intoArray(c, o1 + 2 * VL);
      c13.intoArray(c, o1 + 3 * VL);
    }
    if (rows > 2) {
      c20.intoArray(c, o2);
      c21.intoArray(c, o2 + VL);
      c22.intoArray(c, o2 + 2 * VL);
      c23.intoArray(c, o2 + 3 * VL);
    }
    if (rows > 3) {
      c30.intoArray(c, o3);
      c31.intoArray(c, o3 + VL);
      c32.intoArray(c, o3 + 2 * VL);
      c33.intoArray(c, o3 + 3 * VL);
    }
    if (rows > 4) {
      c40.intoArray(c, o4);
      c41.intoArray(c, o4 + VL);
      c42.intoArray(c, o4 + 2 * VL);
      c43.intoArray(c, o4 + 3 * VL);
    }
    if (rows > 5) {
      c50.intoArray(c, o5);
      c51.intoArray(c, o5 + VL);
      c52.intoArray(c, o5 + 2 * VL);
      c53.intoArray(c, o5 + 3 * VL);
    }
  }

  private static void tile6x4I8(
      float[] a,
      int ao,
      int lda,
      int rows,
      MemorySegment b,
      int bo, // bytes: panel p at p·k·NR
      float[] scale,
      int so, // the panel's first column
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + Math.min(1, rows - 1) * lda;
    int a2 = ao + Math.min(2, rows - 1) * lda;
    int a3 = ao + Math.min(3, rows - 1) * lda;
    int a4 = ao + Math.min(4, rows - 1) * lda;
    int a5 = ao + Math.min(5, rows - 1) * lda;
    int o0 = co;
    int o1 = co + Math.min(1, rows - 1) * ldc;
    int o2 = co + Math.min(2, rows - 1) * ldc;
    int o3 = co + Math.min(3, rows - 1) * ldc;
    int o4 = co + Math.min(4, rows - 1) * ldc;
    int o5 = co + Math.min(5, rows - 1) * ldc;
    FloatVector s0 = FloatVector.fromArray(S, scale, so);
    FloatVector s1 = FloatVector.fromArray(S, scale, so + VL);
    FloatVector s2 = FloatVector.fromArray(S, scale, so + 2 * VL);
    FloatVector s3 = FloatVector.fromArray(S, scale, so + 3 * VL);
    FloatVector c00,
        c01,
        c02,
        c03,
        c10,
        c11,
        c12,
        c13,
        c20,
        c21,
        c22,
        c23,
        c30,
        c31,
        c32,
        c33,
        c40,
        c41,
        c42,
        c43,
        c50,
        c51,
        c52,
        c53;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c02 = FloatVector.fromArray(S, c, o0 + 2 * VL);
      c03 = FloatVector.fromArray(S, c, o0 + 3 * VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c12 = FloatVector.fromArray(S, c, o1 + 2 * VL);
      c13 = FloatVector.fromArray(S, c, o1 + 3 * VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c22 = FloatVector.fromArray(S, c, o2 + 2 * VL);
      c23 = FloatVector.fromArray(S, c, o2 + 3 * VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c32 = FloatVector.fromArray(S, c, o3 + 2 * VL);
      c33 = FloatVector.fromArray(S, c, o3 + 3 * VL);
      c40 = FloatVector.fromArray(S, c, o4);
      c41 = FloatVector.fromArray(S, c, o4 + VL);
      c42 = FloatVector.fromArray(S, c, o4 + 2 * VL);
      c43 = FloatVector.fromArray(S, c, o4 + 3 * VL);
      c50 = FloatVector.fromArray(S, c, o5);
      c51 = FloatVector.fromArray(S, c, o5 + VL);
      c52 = FloatVector.fromArray(S, c, o5 + 2 * VL);
      c53 = FloatVector.fromArray(S, c, o5 + 3 * VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c02 = FloatVector.fromArray(S, bias, bias0 + 2 * VL);
      c03 = FloatVector.fromArray(S, bias, bias0 + 3 * VL);
      c10 = c00;
      c11 = c01;
      c12 = c02;
      c13 = c03;
      c20 = c00;
      c21 = c01;
      c22 = c02;
      c23 = c03;
      c30 = c00;
      c31 = c01;
      c32 = c02;
      c33 = c03;
      c40 = c00;
      c41 = c01;
      c42 = c02;
      c43 = c03;
      c50 = c00;
      c51 = c01;
      c52 = c02;
      c53 = c03;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c02 = c00;
      c03 = c00;
      c10 = c00;
      c11 = c00;
      c12 = c00;
      c13 = c00;
      c20 = c00;
      c21 = c00;
      c22 = c00;
      c23 = c00;
      c30 = c00;
      c31 = c00;
      c32 = c00;
      c33 = c00;
      c40 = c00;
      c41 = c00;
      c42 = c00;
      c43 = c00;
      c50 = c00;
      c51 = c00;
      c52 = c00;
      c53 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      long bk = bo + kk * (4L * VL);
      FloatVector b0 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s0);
      FloatVector b1 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s1);
      FloatVector b2 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 2 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s2);
      FloatVector b3 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 3 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s3);
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      c02 = b2.fma(x, c02);
      c03 = b3.fma(x, c03);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      c12 = b2.fma(x, c12);
      c13 = b3.fma(x, c13);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      c22 = b2.fma(x, c22);
      c23 = b3.fma(x, c23);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      c32 = b2.fma(x, c32);
      c33 = b3.fma(x, c33);
      x = FloatVector.broadcast(S, a[a4 + kk]);
      c40 = b0.fma(x, c40);
      c41 = b1.fma(x, c41);
      c42 = b2.fma(x, c42);
      c43 = b3.fma(x, c43);
      x = FloatVector.broadcast(S, a[a5 + kk]);
      c50 = b0.fma(x, c50);
      c51 = b1.fma(x, c51);
      c52 = b2.fma(x, c52);
      c53 = b3.fma(x, c53);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    c02.intoArray(c, o0 + 2 * VL);
    c03.intoArray(c, o0 + 3 * VL);
    if (rows > 1) {
      c10.intoArray(c, o1);
      c11.intoArray(c, o1 + VL);
      c12.intoArray(c, o1 + 2 * VL);
      c13.intoArray(c, o1 + 3 * VL);
    }
    if (rows > 2) {
      c20.intoArray(c, o2);
      c21.intoArray(c, o2 + VL);
      c22.intoArray(c, o2 + 2 * VL);
      c23.intoArray(c, o2 + 3 * VL);
    }
    if (rows > 3) {
      c30.intoArray(c, o3);
      c31.intoArray(c, o3 + VL);
      c32.intoArray(c, o3 + 2 * VL);
      c33.intoArray(c, o3 + 3 * VL);
    }
    if (rows > 4) {
      c40.intoArray(c, o4);
      c41.intoArray(c, o4 + VL);
      c42.intoArray(c, o4 + 2 * VL);
      c43.intoArray(c, o4 + 3 * VL);
    }
    if (rows > 5) {
      c50.intoArray(c, o5);
      c51.intoArray(c, o5 + VL);
      c52.intoArray(c, o5 + 2 * VL);
      c53.intoArray(c, o5 + 3 * VL);
    }
  }

  private static void tile4x4Bf16(
      float[] a,
      int ao,
      int lda,
      MemorySegment b,
      int bo, // ints: panel p at p·k·NR/2
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + lda;
    int a2 = ao + 2 * lda;
    int a3 = ao + 3 * lda;
    int o0 = co;
    int o1 = co + ldc;
    int o2 = co + 2 * ldc;
    int o3 = co + 3 * ldc;
    FloatVector c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c02 = FloatVector.fromArray(S, c, o0 + 2 * VL);
      c03 = FloatVector.fromArray(S, c, o0 + 3 * VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c12 = FloatVector.fromArray(S, c, o1 + 2 * VL);
      c13 = FloatVector.fromArray(S, c, o1 + 3 * VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c22 = FloatVector.fromArray(S, c, o2 + 2 * VL);
      c23 = FloatVector.fromArray(S, c, o2 + 3 * VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c32 = FloatVector.fromArray(S, c, o3 + 2 * VL);
      c33 = FloatVector.fromArray(S, c, o3 + 3 * VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c02 = FloatVector.fromArray(S, bias, bias0 + 2 * VL);
      c03 = FloatVector.fromArray(S, bias, bias0 + 3 * VL);
      c10 = c00;
      c11 = c01;
      c12 = c02;
      c13 = c03;
      c20 = c00;
      c21 = c01;
      c22 = c02;
      c23 = c03;
      c30 = c00;
      c31 = c01;
      c32 = c02;
      c33 = c03;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c02 = c00;
      c03 = c00;
      c10 = c00;
      c11 = c00;
      c12 = c00;
      c13 = c00;
      c20 = c00;
      c21 = c00;
      c22 = c00;
      c23 = c00;
      c30 = c00;
      c31 = c00;
      c32 = c00;
      c33 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      long bk = bo + kk * (2L * VL);
      IntVector v01 = IntVector.fromMemorySegment(IS, b, 4L * bk, NO);
      IntVector v23 = IntVector.fromMemorySegment(IS, b, 4L * (bk + VL), NO);
      FloatVector b0 = v01.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector b1 = v01.and(0xFFFF0000).reinterpretAsFloats();
      FloatVector b2 = v23.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector b3 = v23.and(0xFFFF0000).reinterpretAsFloats();
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      c02 = b2.fma(x, c02);
      c03 = b3.fma(x, c03);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      c12 = b2.fma(x, c12);
      c13 = b3.fma(x, c13);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      c22 = b2.fma(x, c22);
      c23 = b3.fma(x, c23);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      c32 = b2.fma(x, c32);
      c33 = b3.fma(x, c33);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    c02.intoArray(c, o0 + 2 * VL);
    c03.intoArray(c, o0 + 3 * VL);
    c10.intoArray(c, o1);
    c11.intoArray(c, o1 + VL);
    c12.intoArray(c, o1 + 2 * VL);
    c13.intoArray(c, o1 + 3 * VL);
    c20.intoArray(c, o2);
    c21.intoArray(c, o2 + VL);
    c22.intoArray(c, o2 + 2 * VL);
    c23.intoArray(c, o2 + 3 * VL);
    c30.intoArray(c, o3);
    c31.intoArray(c, o3 + VL);
    c32.intoArray(c, o3 + 2 * VL);
    c33.intoArray(c, o3 + 3 * VL);
  }

  private static void tile4x4I8(
      float[] a,
      int ao,
      int lda,
      MemorySegment b,
      int bo, // bytes: panel p at p·k·NR
      float[] scale,
      int so, // the panel's first column
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + lda;
    int a2 = ao + 2 * lda;
    int a3 = ao + 3 * lda;
    int o0 = co;
    int o1 = co + ldc;
    int o2 = co + 2 * ldc;
    int o3 = co + 3 * ldc;
    FloatVector s0 = FloatVector.fromArray(S, scale, so);
    FloatVector s1 = FloatVector.fromArray(S, scale, so + VL);
    FloatVector s2 = FloatVector.fromArray(S, scale, so + 2 * VL);
    FloatVector s3 = FloatVector.fromArray(S, scale, so + 3 * VL);
    FloatVector c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c02 = FloatVector.fromArray(S, c, o0 + 2 * VL);
      c03 = FloatVector.fromArray(S, c, o0 + 3 * VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c12 = FloatVector.fromArray(S, c, o1 + 2 * VL);
      c13 = FloatVector.fromArray(S, c, o1 + 3 * VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c22 = FloatVector.fromArray(S, c, o2 + 2 * VL);
      c23 = FloatVector.fromArray(S, c, o2 + 3 * VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c32 = FloatVector.fromArray(S, c, o3 + 2 * VL);
      c33 = FloatVector.fromArray(S, c, o3 + 3 * VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c02 = FloatVector.fromArray(S, bias, bias0 + 2 * VL);
      c03 = FloatVector.fromArray(S, bias, bias0 + 3 * VL);
      c10 = c00;
      c11 = c01;
      c12 = c02;
      c13 = c03;
      c20 = c00;
      c21 = c01;
      c22 = c02;
      c23 = c03;
      c30 = c00;
      c31 = c01;
      c32 = c02;
      c33 = c03;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c02 = c00;
      c03 = c00;
      c10 = c00;
      c11 = c00;
      c12 = c00;
      c13 = c00;
      c20 = c00;
      c21 = c00;
      c22 = c00;
      c23 = c00;
      c30 = c00;
      c31 = c00;
      c32 = c00;
      c33 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      long bk = bo + kk * (4L * VL);
      FloatVector b0 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s0);
      FloatVector b1 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s1);
      FloatVector b2 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 2 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s2);
      FloatVector b3 =
          ((FloatVector)
                  ByteVector.fromMemorySegment(BS, b, bk + 3 * VL, NO)
                      .convertShape(VectorOperators.B2F, S, 0))
              .mul(s3);
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      c02 = b2.fma(x, c02);
      c03 = b3.fma(x, c03);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      c12 = b2.fma(x, c12);
      c13 = b3.fma(x, c13);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      c22 = b2.fma(x, c22);
      c23 = b3.fma(x, c23);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      c32 = b2.fma(x, c32);
      c33 = b3.fma(x, c33);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    c02.intoArray(c, o0 + 2 * VL);
    c03.intoArray(c, o0 + 3 * VL);
    c10.intoArray(c, o1);
    c11.intoArray(c, o1 + VL);
    c12.intoArray(c, o1 + 2 * VL);
    c13.intoArray(c, o1 + 3 * VL);
    c20.intoArray(c, o2);
    c21.intoArray(c, o2 + VL);
    c22.intoArray(c, o2 + 2 * VL);
    c23.intoArray(c, o2 + 3 * VL);
    c30.intoArray(c, o3);
    c31.intoArray(c, o3 + VL);
    c32.intoArray(c, o3 + 2 * VL);
    c33.intoArray(c, o3 + 3 * VL);
  }

  private static void tile6x2Bf16(
      float[] a,
      int ao,
      int lda,
      int rows,
      MemorySegment b,
      int bo, // ints: panel p at p·k·NR/2
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + Math.min(1, rows - 1) * lda;
    int a2 = ao + Math.min(2, rows - 1) * lda;
    int a3 = ao + Math.min(3, rows - 1) * lda;
    int a4 = ao + Math.min(4, rows - 1) * lda;
    int a5 = ao + Math.min(5, rows - 1) * lda;
    int o0 = co;
    int o1 = co + Math.min(1, rows - 1) * ldc;
    int o2 = co + Math.min(2, rows - 1) * ldc;
    int o3 = co + Math.min(3, rows - 1) * ldc;
    int o4 = co + Math.min(4, rows - 1) * ldc;
    int o5 = co + Math.min(5, rows - 1) * ldc;
    FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c40 = FloatVector.fromArray(S, c, o4);
      c41 = FloatVector.fromArray(S, c, o4 + VL);
      c50 = FloatVector.fromArray(S, c, o5);
      c51 = FloatVector.fromArray(S, c, o5 + VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c10 = c00;
      c11 = c01;
      c20 = c00;
      c21 = c01;
      c30 = c00;
      c31 = c01;
      c40 = c00;
      c41 = c01;
      c50 = c00;
      c51 = c01;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c10 = c00;
      c11 = c00;
      c20 = c00;
      c21 = c00;
      c30 = c00;
      c31 = c00;
      c40 = c00;
      c41 = c00;
      c50 = c00;
      c51 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      IntVector v = IntVector.fromMemorySegment(IS, b, 4L * (bo + kk * (long) VL), NO);
      FloatVector b0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector b1 = v.and(0xFFFF0000).reinterpretAsFloats();
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      x = FloatVector.broadcast(S, a[a4 + kk]);
      c40 = b0.fma(x, c40);
      c41 = b1.fma(x, c41);
      x = FloatVector.broadcast(S, a[a5 + kk]);
      c50 = b0.fma(x, c50);
      c51 = b1.fma(x, c51);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    if (rows > 1) {
      c10.intoArray(c, o1);
      c11.intoArray(c, o1 + VL);
    }
    if (rows > 2) {
      c20.intoArray(c, o2);
      c21.intoArray(c, o2 + VL);
    }
    if (rows > 3) {
      c30.intoArray(c, o3);
      c31.intoArray(c, o3 + VL);
    }
    if (rows > 4) {
      c40.intoArray(c, o4);
      c41.intoArray(c, o4 + VL);
    }
    if (rows > 5) {
      c50.intoArray(c, o5);
      c51.intoArray(c, o5 + VL);
    }
  }

  private static void tile6x2I8(
      float[] a,
      int ao,
      int lda,
      int rows,
      MemorySegment b,
      int bo, // bytes: panel p at p·k·NR
      float[] scale,
      int so, // the panel's first column
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + Math.min(1, rows - 1) * lda;
    int a2 = ao + Math.min(2, rows - 1) * lda;
    int a3 = ao + Math.min(3, rows - 1) * lda;
    int a4 = ao + Math.min(4, rows - 1) * lda;
    int a5 = ao + Math.min(5, rows - 1) * lda;
    int o0 = co;
    int o1 = co + Math.min(1, rows - 1) * ldc;
    int o2 = co + Math.min(2, rows - 1) * ldc;
    int o3 = co + Math.min(3, rows - 1) * ldc;
    int o4 = co + Math.min(4, rows - 1) * ldc;
    int o5 = co + Math.min(5, rows - 1) * ldc;
    FloatVector s0 = FloatVector.fromArray(S, scale, so);
    FloatVector s1 = FloatVector.fromArray(S, scale, so + VL);
    FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c40 = FloatVector.fromArray(S, c, o4);
      c41 = FloatVector.fromArray(S, c, o4 + VL);
      c50 = FloatVector.fromArray(S, c, o5);
      c51 = FloatVector.fromArray(S, c, o5 + VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c10 = c00;
      c11 = c01;
      c20 = c00;
      c21 = c01;
      c30 = c00;
      c31 = c01;
      c40 = c00;
      c41 = c01;
      c50 = c00;
      c51 = c01;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c10 = c00;
      c11 = c00;
      c20 = c00;
      c21 = c00;
      c30 = c00;
      c31 = c00;
      c40 = c00;
      c41 = c00;
      c50 = c00;
      c51 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      long bk = bo + kk * (2L * VL);
      ByteVector q0 = ByteVector.fromMemorySegment(BS, b, bk, NO);
      ByteVector q1 = I8_PAIR ? q0 : ByteVector.fromMemorySegment(BS, b, bk + VL, NO);
      FloatVector b0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, S, 0)).mul(s0);
      FloatVector b1 =
          ((FloatVector) q1.convertShape(VectorOperators.B2F, S, I8_PAIR ? 1 : 0)).mul(s1);
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      x = FloatVector.broadcast(S, a[a4 + kk]);
      c40 = b0.fma(x, c40);
      c41 = b1.fma(x, c41);
      x = FloatVector.broadcast(S, a[a5 + kk]);
      c50 = b0.fma(x, c50);
      c51 = b1.fma(x, c51);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    if (rows > 1) {
      c10.intoArray(c, o1);
      c11.intoArray(c, o1 + VL);
    }
    if (rows > 2) {
      c20.intoArray(c, o2);
      c21.intoArray(c, o2 + VL);
    }
    if (rows > 3) {
      c30.intoArray(c, o3);
      c31.intoArray(c, o3 + VL);
    }
    if (rows > 4) {
      c40.intoArray(c, o4);
      c41.intoArray(c, o4 + VL);
    }
    if (rows > 5) {
      c50.intoArray(c, o5);
      c51.intoArray(c, o5 + VL);
    }
  }

  private static void tile4x2Bf16(
      float[] a,
      int ao,
      int lda,
      MemorySegment b,
      int bo, // ints: panel p at p·k·NR/2
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + lda;
    int a2 = ao + 2 * lda;
    int a3 = ao + 3 * lda;
    int o0 = co;
    int o1 = co + ldc;
    int o2 = co + 2 * ldc;
    int o3 = co + 3 * ldc;
    FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c10 = c00;
      c11 = c01;
      c20 = c00;
      c21 = c01;
      c30 = c00;
      c31 = c01;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c10 = c00;
      c11 = c00;
      c20 = c00;
      c21 = c00;
      c30 = c00;
      c31 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      IntVector v = IntVector.fromMemorySegment(IS, b, 4L * (bo + kk * (long) VL), NO);
      FloatVector b0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector b1 = v.and(0xFFFF0000).reinterpretAsFloats();
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    c10.intoArray(c, o1);
    c11.intoArray(c, o1 + VL);
    c20.intoArray(c, o2);
    c21.intoArray(c, o2 + VL);
    c30.intoArray(c, o3);
    c31.intoArray(c, o3 + VL);
  }

  private static void tile4x2I8(
      float[] a,
      int ao,
      int lda,
      MemorySegment b,
      int bo, // bytes: panel p at p·k·NR
      float[] scale,
      int so, // the panel's first column
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + lda;
    int a2 = ao + 2 * lda;
    int a3 = ao + 3 * lda;
    int o0 = co;
    int o1 = co + ldc;
    int o2 = co + 2 * ldc;
    int o3 = co + 3 * ldc;
    FloatVector s0 = FloatVector.fromArray(S, scale, so);
    FloatVector s1 = FloatVector.fromArray(S, scale, so + VL);
    FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c10 = c00;
      c11 = c01;
      c20 = c00;
      c21 = c01;
      c30 = c00;
      c31 = c01;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c10 = c00;
      c11 = c00;
      c20 = c00;
      c21 = c00;
      c30 = c00;
      c31 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      long bk = bo + kk * (2L * VL);
      ByteVector q0 = ByteVector.fromMemorySegment(BS, b, bk, NO);
      ByteVector q1 = I8_PAIR ? q0 : ByteVector.fromMemorySegment(BS, b, bk + VL, NO);
      FloatVector b0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, S, 0)).mul(s0);
      FloatVector b1 =
          ((FloatVector) q1.convertShape(VectorOperators.B2F, S, I8_PAIR ? 1 : 0)).mul(s1);
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    c10.intoArray(c, o1);
    c11.intoArray(c, o1 + VL);
    c20.intoArray(c, o2);
    c21.intoArray(c, o2 + VL);
    c30.intoArray(c, o3);
    c31.intoArray(c, o3 + VL);
  }

  // 4 rows x 4 vectors: exactly 4 rows, the common remainder (64 = 10 x 6 + 4); no clamping.
  private static void tile4x4(
      float[] a,
      int ao,
      int lda,
      MemorySegment b,
      int bo,
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + lda;
    int a2 = ao + 2 * lda;
    int a3 = ao + 3 * lda;
    int o0 = co;
    int o1 = co + ldc;
    int o2 = co + 2 * ldc;
    int o3 = co + 3 * ldc;
    FloatVector c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c02 = FloatVector.fromArray(S, c, o0 + 2 * VL);
      c03 = FloatVector.fromArray(S, c, o0 + 3 * VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c12 = FloatVector.fromArray(S, c, o1 + 2 * VL);
      c13 = FloatVector.fromArray(S, c, o1 + 3 * VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c22 = FloatVector.fromArray(S, c, o2 + 2 * VL);
      c23 = FloatVector.fromArray(S, c, o2 + 3 * VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c32 = FloatVector.fromArray(S, c, o3 + 2 * VL);
      c33 = FloatVector.fromArray(S, c, o3 + 3 * VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c02 = FloatVector.fromArray(S, bias, bias0 + 2 * VL);
      c03 = FloatVector.fromArray(S, bias, bias0 + 3 * VL);
      c10 = c00;
      c11 = c01;
      c12 = c02;
      c13 = c03;
      c20 = c00;
      c21 = c01;
      c22 = c02;
      c23 = c03;
      c30 = c00;
      c31 = c01;
      c32 = c02;
      c33 = c03;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c02 = c00;
      c03 = c00;
      c10 = c00;
      c11 = c00;
      c12 = c00;
      c13 = c00;
      c20 = c00;
      c21 = c00;
      c22 = c00;
      c23 = c00;
      c30 = c00;
      c31 = c00;
      c32 = c00;
      c33 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      long bk = bo + kk * (4L * VL);
      FloatVector b0 = FloatVector.fromMemorySegment(S, b, 4L * bk, NO);
      FloatVector b1 = FloatVector.fromMemorySegment(S, b, 4L * (bk + VL), NO);
      FloatVector b2 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 2 * VL), NO);
      FloatVector b3 = FloatVector.fromMemorySegment(S, b, 4L * (bk + 3 * VL), NO);
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      c02 = b2.fma(x, c02);
      c03 = b3.fma(x, c03);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      c12 = b2.fma(x, c12);
      c13 = b3.fma(x, c13);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      c22 = b2.fma(x, c22);
      c23 = b3.fma(x, c23);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      c32 = b2.fma(x, c32);
      c33 = b3.fma(x, c33);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    c02.intoArray(c, o0 + 2 * VL);
    c03.intoArray(c, o0 + 3 * VL);
    c10.intoArray(c, o1);
    c11.intoArray(c, o1 + VL);
    c12.intoArray(c, o1 + 2 * VL);
    c13.intoArray(c, o1 + 3 * VL);
    c20.intoArray(c, o2);
    c21.intoArray(c, o2 + VL);
    c22.intoArray(c, o2 + 2 * VL);
    c23.intoArray(c, o2 + 3 * VL);
    c30.intoArray(c, o3);
    c31.intoArray(c, o3 + VL);
    c32.intoArray(c, o3 + 2 * VL);
    c33.intoArray(c, o3 + 3 * VL);
  }

  // 4 rows x 2 vectors, for 16-register machines.
  private static void tile4x2(
      float[] a,
      int ao,
      int lda,
      MemorySegment b,
      int bo,
      int k,
      float[] c,
      int co,
      int ldc,
      Mode mode,
      float[] bias,
      int bias0) {
    int a0 = ao;
    int a1 = ao + lda;
    int a2 = ao + 2 * lda;
    int a3 = ao + 3 * lda;
    int o0 = co;
    int o1 = co + ldc;
    int o2 = co + 2 * ldc;
    int o3 = co + 3 * ldc;
    FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
    if (mode == Mode.ACCUMULATE) {
      c00 = FloatVector.fromArray(S, c, o0);
      c01 = FloatVector.fromArray(S, c, o0 + VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
    } else if (mode == Mode.BIAS) {
      c00 = FloatVector.fromArray(S, bias, bias0);
      c01 = FloatVector.fromArray(S, bias, bias0 + VL);
      c10 = c00;
      c11 = c01;
      c20 = c00;
      c21 = c01;
      c30 = c00;
      c31 = c01;
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c10 = c00;
      c11 = c00;
      c20 = c00;
      c21 = c00;
      c30 = c00;
      c31 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      long bk = bo + kk * (2L * VL);
      FloatVector b0 = FloatVector.fromMemorySegment(S, b, 4L * bk, NO);
      FloatVector b1 = FloatVector.fromMemorySegment(S, b, 4L * (bk + VL), NO);
      FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      x = FloatVector.broadcast(S, a[a1 + kk]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      x = FloatVector.broadcast(S, a[a2 + kk]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      x = FloatVector.broadcast(S, a[a3 + kk]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
    }
    c00.intoArray(c, o0);
    c01.intoArray(c, o0 + VL);
    c10.intoArray(c, o1);
    c11.intoArray(c, o1 + VL);
    c20.intoArray(c, o2);
    c21.intoArray(c, o2 + VL);
    c30.intoArray(c, o3);
    c31.intoArray(c, o3 + VL);
  }
}
