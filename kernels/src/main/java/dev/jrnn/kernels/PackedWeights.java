package dev.jrnn.kernels;

/**
 * A weight matrix packed once for the products {@code C = A·B} a layer runs every call, in column
 * panels of {@link Sgemm#NR}: {@link Sgemm.Panels} on the Vector API kernels, or a backend's own
 * (onednn's bf16 and int8 products on AMX and VNNI). The recurrent step loop is written against
 * this, so a backend with faster matrix products reuses the loop and its fused cells.
 */
public interface PackedWeights {

  /** Depth (rows of B). */
  int k();

  /** Number of column panels. */
  int panels();

  /** Packed columns: {@code panels · NR}; columns past the real ones are zero. */
  default int columns() {
    return panels() * Sgemm.NR;
  }

  /**
   * {@code C[0:m, p0·NR : p1·NR]} from {@code A[0:m, 0:k]} times panels {@code [p0, p1)}, stored as
   * {@code mode} says, with the indexing of {@link Sgemm#gemm}; {@code descending} is a hint on the
   * order to visit the panels in (see there). Threads may call it at once on disjoint panel ranges.
   */
  void multiply(
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
      boolean descending);
}
