package dev.jrnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dense, row-major tensor of {@link DType#F32} or {@link DType#I32} elements in a 64-byte-aligned
 * native {@link MemorySegment}, which native backends use in place.
 *
 * <p>A tensor made by {@link #allocate}, {@link #of} or {@link #copy} owns its memory and frees it
 * on {@link #close()}. Views ({@link #slice}, {@link #select}, {@link #reshape}) share the memory
 * of the tensor they came from and never copy; closing a view does not free anything, and a view
 * becomes unusable when its owner closes. Any use after close throws {@link IllegalStateException}
 * naming the tensor.
 *
 * <p>Memory handed elsewhere (to another thread, a native library) is kept alive with {@link
 * #retain()} until the matching {@link #release()}: a {@link Session} retains every tensor a run
 * reads or writes, so closing one while a run uses it frees nothing under the run.
 */
public final class Tensor implements AutoCloseable {

  /** Byte alignment of every tensor's memory, so native libraries can use it directly. */
  public static final long ALIGNMENT = 64;

  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;

  /**
   * Shared by a tensor and all views of it: whether it is closed, and how many {@link #retain()}s
   * keep its memory alive. The memory is freed when it is closed and no retain is outstanding.
   */
  private static final class Owner {
    private final Arena arena; // null for memory the tensor does not own
    private volatile boolean closed;
    private int retained; // guarded by this

    Owner(Arena arena) {
      this.arena = arena;
    }

    synchronized void retain(Tensor t) {
      if (closed) {
        throw t.closedError();
      }
      retained++;
    }

    synchronized void release() {
      if (retained <= 0) {
        throw new IllegalStateException("release() without a matching retain()");
      }
      if (--retained == 0 && closed) {
        free();
      }
    }

    synchronized void close() {
      if (!closed) {
        closed = true;
        if (retained == 0) {
          free();
        }
      }
    }

    private void free() {
      if (arena != null) {
        arena.close();
      }
    }
  }

  private final DType dtype;
  private final int[] shape;
  private final long size;
  private final MemorySegment data;
  private final Owner owner;
  private final boolean root;

  private Tensor(DType dtype, int[] shape, MemorySegment data, Owner owner, boolean root) {
    this.dtype = dtype;
    this.shape = shape;
    this.size = elementCount(shape);
    this.data = data;
    this.owner = owner;
    this.root = root;
  }

  /** A zero-filled tensor of the given type and shape. */
  public static Tensor allocate(DType dtype, int... shape) {
    Objects.requireNonNull(dtype, "dtype");
    int[] s = checkShape(shape);
    long bytes = Math.multiplyExact(elementCount(s), (long) dtype.byteSize());
    Arena arena = Arena.ofShared();
    MemorySegment seg;
    try {
      seg = arena.allocate(Math.max(bytes, 1), ALIGNMENT).asSlice(0, bytes);
    } catch (RuntimeException | OutOfMemoryError e) {
      arena.close();
      throw e;
    }
    return new Tensor(dtype, s, seg, new Owner(arena), true);
  }

  /** An F32 tensor holding a copy of {@code values}, whose length must match the shape. */
  public static Tensor of(float[] values, int... shape) {
    Tensor t = allocate(DType.F32, checkCount(shape, values.length));
    MemorySegment.copy(values, 0, t.data, F, 0, values.length);
    return t;
  }

  /** An I32 tensor holding a copy of {@code values}, whose length must match the shape. */
  public static Tensor of(int[] values, int... shape) {
    Tensor t = allocate(DType.I32, checkCount(shape, values.length));
    MemorySegment.copy(values, 0, t.data, I, 0, values.length);
    return t;
  }

  /**
   * A tensor over native memory the caller owns (no copy), {@link #ALIGNMENT}-byte aligned like
   * every tensor (native backends read it in place). Closing it frees nothing; the caller keeps the
   * segment alive while the tensor is used.
   */
  public static Tensor wrap(MemorySegment segment, DType dtype, int... shape) {
    Objects.requireNonNull(segment, "segment");
    Objects.requireNonNull(dtype, "dtype");
    if (!segment.isNative() || segment.address() % ALIGNMENT != 0) {
      throw new IllegalArgumentException(
          "a tensor needs native memory aligned to "
              + ALIGNMENT
              + " bytes, got "
              + (segment.isNative() ? "address 0x" + Long.toHexString(segment.address()) : "heap")
              + " memory");
    }
    int[] s = checkShape(shape);
    long bytes = Math.multiplyExact(elementCount(s), (long) dtype.byteSize());
    if (segment.byteSize() < bytes) {
      throw new IllegalArgumentException(
          "segment of "
              + segment.byteSize()
              + " bytes is too small for "
              + dtype
              + " "
              + shapeString(s)
              + " ("
              + bytes
              + " bytes)");
    }
    return new Tensor(dtype, s, segment.asSlice(0, bytes), new Owner(null), true);
  }

  /** Element type. */
  public DType dtype() {
    return dtype;
  }

  /** A copy of the shape. */
  public int[] shape() {
    return shape.clone();
  }

  /** Number of dimensions. */
  public int rank() {
    return shape.length;
  }

  /** Size of dimension {@code i}; negative {@code i} counts from the end. */
  public int dim(int i) {
    int k = i < 0 ? shape.length + i : i;
    if (k < 0 || k >= shape.length) {
      throw new IndexOutOfBoundsException(
          "dimension " + i + " of a rank-" + shape.length + " tensor");
    }
    return shape[k];
  }

  /** Number of elements. */
  public long size() {
    return size;
  }

  /** Size in bytes. */
  public long byteSize() {
    return size * dtype.byteSize();
  }

  /** The memory, for zero-copy use by kernels and native libraries. */
  public MemorySegment segment() {
    checkOpen();
    return data;
  }

  /** Whether this tensor (or, for a view, its owner) has been closed. */
  public boolean isClosed() {
    return owner.closed;
  }

  /** The F32 element at flat (row-major) index {@code i}. */
  public float getFloat(long i) {
    checkType(DType.F32);
    long k = Objects.checkIndex(i, size);
    checkOpen();
    try {
      return data.getAtIndex(F, k);
    } catch (IllegalStateException e) { // closed by another thread since the check
      throw closedError();
    }
  }

  /** Sets the F32 element at flat index {@code i}. */
  public void setFloat(long i, float v) {
    checkType(DType.F32);
    long k = Objects.checkIndex(i, size);
    checkOpen();
    try {
      data.setAtIndex(F, k, v);
    } catch (IllegalStateException e) {
      throw closedError();
    }
  }

  /** The I32 element at flat index {@code i}. */
  public int getInt(long i) {
    checkType(DType.I32);
    long k = Objects.checkIndex(i, size);
    checkOpen();
    try {
      return data.getAtIndex(I, k);
    } catch (IllegalStateException e) {
      throw closedError();
    }
  }

  /** Sets the I32 element at flat index {@code i}. */
  public void setInt(long i, int v) {
    checkType(DType.I32);
    long k = Objects.checkIndex(i, size);
    checkOpen();
    try {
      data.setAtIndex(I, k, v);
    } catch (IllegalStateException e) {
      throw closedError();
    }
  }

  /** The F32 element at a multi-dimensional index, one entry per dimension. */
  public float floatAt(int... index) {
    return getFloat(flatIndex(index));
  }

  /** The I32 element at a multi-dimensional index, one entry per dimension. */
  public int intAt(int... index) {
    return getInt(flatIndex(index));
  }

  /** All elements as a new float array (F32 only). */
  public float[] toFloatArray() {
    checkType(DType.F32);
    checkOpen();
    try {
      return data.toArray(F);
    } catch (IllegalStateException e) {
      throw closedError();
    }
  }

  /** All elements as a new int array (I32 only). */
  public int[] toIntArray() {
    checkType(DType.I32);
    checkOpen();
    try {
      return data.toArray(I);
    } catch (IllegalStateException e) {
      throw closedError();
    }
  }

  /** Overwrites all elements from {@code values} (F32 only); the length must match. */
  public void copyFrom(float[] values) {
    checkType(DType.F32);
    if (values.length != size) {
      throw new IllegalArgumentException(
          "tensor " + describe() + " holds " + size + " elements, got " + values.length);
    }
    checkOpen();
    try {
      MemorySegment.copy(values, 0, data, F, 0, values.length);
    } catch (IllegalStateException e) {
      throw closedError();
    }
  }

  /** Overwrites all elements from another tensor of the same type and element count. */
  public void copyFrom(Tensor other) {
    if (other.dtype != dtype || other.size != size) {
      throw new IllegalArgumentException(
          "cannot copy " + other.describe() + " into " + describe() + ": type or size differs");
    }
    checkOpen();
    other.checkOpen();
    try {
      MemorySegment.copy(other.data, 0, data, 0, byteSize());
    } catch (IllegalStateException e) {
      throw isClosed() ? closedError() : other.closedError();
    }
  }

  /** Sets every element to zero. */
  public void zero() {
    checkOpen();
    try {
      data.fill((byte) 0);
    } catch (IllegalStateException e) {
      throw closedError();
    }
  }

  /** A new tensor that owns a copy of this one's elements. */
  public Tensor copy() {
    checkOpen();
    Tensor t = allocate(dtype, shape);
    try {
      MemorySegment.copy(data, 0, t.data, 0, byteSize());
    } catch (IllegalStateException e) {
      t.close();
      throw closedError();
    }
    return t;
  }

  /**
   * Keeps this tensor's memory alive until the matching {@link #release()}, even if the tensor (or
   * the tensor a view came from) is closed meanwhile; for code that hands the memory to another
   * thread or a native library. Throws if the tensor is already closed.
   */
  public void retain() {
    owner.retain(this);
  }

  /** Ends one {@link #retain()}; frees the memory if the tensor was closed meanwhile. */
  public void release() {
    owner.release();
  }

  /** A view of rows {@code [start, end)} along dimension 0. */
  public Tensor slice(int start, int end) {
    checkOpen();
    if (shape.length == 0) {
      throw new IllegalArgumentException("cannot slice a scalar");
    }
    if (start < 0 || end > shape[0] || start > end) {
      throw new IndexOutOfBoundsException(
          "slice [" + start + ", " + end + ") of dimension 0 with size " + shape[0]);
    }
    long rowBytes = shape[0] == 0 ? 0 : byteSize() / shape[0];
    int[] s = shape.clone();
    s[0] = end - start;
    return new Tensor(
        dtype, s, data.asSlice(start * rowBytes, (end - start) * rowBytes), owner, false);
  }

  /** A view of row {@code i} along dimension 0, with that dimension removed. */
  public Tensor select(int i) {
    Tensor row = slice(i, i + 1);
    return new Tensor(dtype, Arrays.copyOfRange(shape, 1, shape.length), row.data, owner, false);
  }

  /** A view with a new shape holding the same elements; one dimension may be {@code -1}. */
  public Tensor reshape(int... newShape) {
    checkOpen();
    int[] s = newShape.clone();
    int infer = -1;
    long known = 1;
    for (int i = 0; i < s.length; i++) {
      if (s[i] == -1) {
        if (infer >= 0) {
          throw new IllegalArgumentException("reshape " + Arrays.toString(newShape) + ": two -1s");
        }
        infer = i;
      } else if (s[i] < 0) {
        throw new IllegalArgumentException("reshape " + Arrays.toString(newShape) + ": negative");
      } else {
        known *= s[i];
      }
    }
    if (infer >= 0) {
      if (known == 0 || size % known != 0) {
        throw new IllegalArgumentException(
            "cannot reshape " + shapeString(shape) + " to " + Arrays.toString(newShape));
      }
      s[infer] = Math.toIntExact(size / known);
    }
    if (elementCount(s) != size) {
      throw new IllegalArgumentException(
          "cannot reshape " + shapeString(shape) + " (" + size + " elements) to " + shapeString(s));
    }
    return new Tensor(dtype, s, data, owner, false);
  }

  /**
   * Frees the memory if this tensor owns it, at once or, while it is {@link #retain() retained}, at
   * the last release. Idempotent; closing a view does nothing.
   */
  @Override
  public void close() {
    if (root) {
      owner.close();
    }
  }

  /** "F32 [2, 3]". */
  public String describe() {
    return dtype + " " + shapeString(shape);
  }

  @Override
  public String toString() {
    return "Tensor(" + describe() + (isClosed() ? ", closed)" : ")");
  }

  /** Formats a shape as {@code [2, 3]}. */
  public static String shapeString(int[] shape) {
    return Arrays.toString(shape);
  }

  private long flatIndex(int[] index) {
    if (index.length != shape.length) {
      throw new IllegalArgumentException(
          "index of rank " + index.length + " for tensor " + shapeString(shape));
    }
    long flat = 0;
    for (int i = 0; i < shape.length; i++) {
      flat = flat * shape[i] + Objects.checkIndex(index[i], shape[i]);
    }
    return flat;
  }

  private void checkOpen() {
    if (owner.closed) {
      throw closedError();
    }
  }

  private IllegalStateException closedError() {
    return new IllegalStateException("tensor " + describe() + " is used after close");
  }

  private void checkType(DType expected) {
    if (dtype != expected) {
      throw new IllegalArgumentException(
          "tensor " + describe() + " is " + dtype + ", this operation needs " + expected);
    }
  }

  /** A valid {@code shape} that holds exactly {@code count} elements. */
  private static int[] checkCount(int[] shape, int count) {
    int[] s = checkShape(shape);
    if (count != elementCount(s)) {
      throw new IllegalArgumentException(
          "shape "
              + shapeString(s)
              + " holds "
              + elementCount(s)
              + " elements but "
              + count
              + " values were given");
    }
    return s;
  }

  private static int[] checkShape(int[] shape) {
    Objects.requireNonNull(shape, "shape");
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + shapeString(shape));
      }
    }
    elementCount(shape);
    return shape.clone();
  }

  /** Number of elements of {@code shape}: the product of its dimensions (overflow throws). */
  public static long elementCount(int... shape) {
    long n = 1;
    for (int d : shape) {
      n = Math.multiplyExact(n, (long) d);
    }
    return n;
  }
}
