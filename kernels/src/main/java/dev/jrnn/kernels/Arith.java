package dev.jrnn.kernels;

/**
 * The element-wise arithmetic of binary ops, defined once: the scalar operations here serve the
 * scalar twins of {@link Elementwise#binaryRun}, the engine's constant folding (in double, rounded
 * to float, and in 64-bit integers for shape arithmetic) and its reference backend; the vector
 * loops apply the same operation lane-wise.
 */
public enum Arith {
  ADD,
  SUB,
  MUL,
  /** Division; on integers it truncates toward zero (ONNX) and rejects a zero divisor. */
  DIV;

  /** {@code a op b} in float arithmetic. */
  public float apply(float a, float b) {
    return switch (this) {
      case ADD -> a + b;
      case SUB -> a - b;
      case MUL -> a * b;
      case DIV -> a / b;
    };
  }

  /**
   * {@code a op b} in double arithmetic: the reference backend's, and the same float result as
   * {@link #apply(float, float)} once rounded (a double holds the exact result to well within the
   * 2·24 + 2 bits that make that one rounding exact).
   */
  public double apply(double a, double b) {
    return switch (this) {
      case ADD -> a + b;
      case SUB -> a - b;
      case MUL -> a * b;
      case DIV -> a / b;
    };
  }

  /** {@code a op b} in 64-bit integer arithmetic; throws on division by zero. */
  public long apply(long a, long b) {
    return switch (this) {
      case ADD -> a + b;
      case SUB -> a - b;
      case MUL -> a * b;
      case DIV -> {
        if (b == 0) {
          throw new IllegalArgumentException("integer division by zero");
        }
        yield a / b;
      }
    };
  }
}
