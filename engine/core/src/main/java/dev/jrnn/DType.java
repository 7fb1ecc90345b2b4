package dev.jrnn;

/** Element type of a {@link Tensor}. */
public enum DType {
  /** 32-bit IEEE float. */
  F32(4),
  /** 32-bit signed integer (token ids, sequence lengths). */
  I32(4);

  private final int byteSize;

  DType(int byteSize) {
    this.byteSize = byteSize;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }
}
