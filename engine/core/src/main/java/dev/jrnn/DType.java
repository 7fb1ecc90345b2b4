package dev.jrnn;

/** Element type of a {@link Tensor}. */
public enum DType {
  /** 32-bit IEEE float. */
  F32(4),
  /** 32-bit signed integer (token ids, sequence lengths). */
  I32(4),
  /**
   * bfloat16: the upper 16 bits of an F32 (8 exponent bits, 7 mantissa bits); reduced-precision
   * weights ({@link Precision#BF16}). Read its bits through {@link Tensor#segment()}.
   */
  BF16(2),
  /**
   * 8-bit signed integer: int8 weights ({@link Precision#INT8}), each weight matrix with an F32
   * scale per row stored beside it as {@code <name>.scale}. Read through {@link Tensor#segment()}.
   */
  I8(1);

  private final int byteSize;

  DType(int byteSize) {
    this.byteSize = byteSize;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }
}
