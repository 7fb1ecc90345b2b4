package dev.jrnn;

/**
 * How a model's weight matrices — the input and recurrent matrices of RNN, LSTM and GRU layers
 * ({@code W}, {@code R}, the LSTM projection {@code Wp}) and {@code Linear} weights — are stored
 * and read. Activations, states, biases, embeddings and accumulation stay f32 in every precision.
 *
 * <p>Chosen per session ({@link Options#precision}) or stored in the model ({@link
 * Weights#toPrecision}, {@code jrnn quantize}). A backend without kernels for a precision widens
 * the reduced weights to f32 once at open (one log line), so every backend computes with the same
 * weight values.
 */
public enum Precision {
  /** 32-bit floats: the weights as trained. */
  F32(DType.F32),
  /**
   * bfloat16 weights: each weight rounded to the nearest bfloat16 (relative error at most 2⁻⁸),
   * half the bytes of f32; kernels widen them to f32 in registers.
   */
  BF16(DType.BF16),
  /**
   * Symmetric int8 weights with one f32 scale per matrix row ({@code max |w| / 127}): a quarter of
   * the bytes of f32, error at most half a step ({@code scale / 2}) per weight.
   */
  INT8(DType.I8);

  private final DType dtype;

  Precision(DType dtype) {
    this.dtype = dtype;
  }

  /** The element type weight matrices have in this precision. */
  public DType dtype() {
    return dtype;
  }

  /** The precision by name, case-insensitive ({@code f32}, {@code bf16}, {@code int8}). */
  public static Precision parse(String name) {
    for (Precision p : values()) {
      if (p.name().equalsIgnoreCase(name.strip())) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown precision '" + name + "'; known: f32, bf16, int8");
  }
}
