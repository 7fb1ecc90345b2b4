package dev.jrnn;

import java.util.Locale;

/**
 * An element-wise activation used inside recurrent cells, with ONNX's optional parameters.
 *
 * @param kind which function
 * @param alpha first parameter (meaning depends on {@code kind}; ignored where unused)
 * @param beta second parameter
 */
public record Activation(Kind kind, float alpha, float beta) {

  /** The functions of the ONNX RNN operators. */
  public enum Kind {
    /** {@code 1 / (1 + e⁻ˣ)}. */
    SIGMOID("Sigmoid"),
    /** {@code tanh(x)}. */
    TANH("Tanh"),
    /** {@code max(0, x)}. */
    RELU("Relu"),
    /** {@code alpha·x + beta}. */
    AFFINE("Affine"),
    /** {@code x ≥ 0 ? x : alpha·x}. */
    LEAKY_RELU("LeakyRelu"),
    /** {@code x > alpha ? x : 0}. */
    THRESHOLDED_RELU("ThresholdedRelu"),
    /** {@code alpha·tanh(beta·x)}. */
    SCALED_TANH("ScaledTanh"),
    /** {@code clamp(alpha·x + beta, 0, 1)}. */
    HARD_SIGMOID("HardSigmoid"),
    /** {@code x ≥ 0 ? x : alpha·(eˣ − 1)}. */
    ELU("Elu"),
    /** {@code x / (1 + |x|)}. */
    SOFTSIGN("Softsign"),
    /** {@code log(1 + eˣ)}. */
    SOFTPLUS("Softplus");

    private final String onnxName;

    Kind(String onnxName) {
      this.onnxName = onnxName;
    }

    /** The name ONNX uses ({@code "LeakyRelu"}). */
    public String onnxName() {
      return onnxName;
    }
  }

  /** The logistic sigmoid. */
  public static final Activation SIGMOID = new Activation(Kind.SIGMOID, 0, 0);

  /** The hyperbolic tangent. */
  public static final Activation TANH = new Activation(Kind.TANH, 0, 0);

  /** The rectifier {@code max(0, x)}. */
  public static final Activation RELU = new Activation(Kind.RELU, 0, 0);

  /** Checks that a kind is given. */
  public Activation {
    java.util.Objects.requireNonNull(kind, "kind");
  }

  /**
   * Kind with its default parameters: ONNX's where it has them (leaky relu 0.01, thresholded relu
   * and elu 1, hard sigmoid 0.2 and 0.5), the identity for affine and tanh for scaled tanh (ONNX
   * gives those two none).
   */
  public static Activation of(Kind kind) {
    return switch (kind) {
      case SIGMOID, TANH, RELU, SOFTSIGN, SOFTPLUS -> new Activation(kind, 0, 0);
      case LEAKY_RELU -> new Activation(kind, 0.01f, 0);
      case THRESHOLDED_RELU, ELU -> new Activation(kind, 1.0f, 0);
      case HARD_SIGMOID -> new Activation(kind, 0.2f, 0.5f);
      case AFFINE -> new Activation(kind, 1.0f, 0);
      case SCALED_TANH -> new Activation(kind, 1.0f, 1.0f);
    };
  }

  /** Kind with explicit parameters. */
  public static Activation of(Kind kind, float alpha, float beta) {
    return new Activation(kind, alpha, beta);
  }

  /**
   * Looks a kind up by its ONNX name ({@code "Sigmoid"}, {@code "LeakyRelu"}, …), case-insensitive.
   */
  public static Kind kindByName(String onnxName) {
    for (Kind k : Kind.values()) {
      if (k.onnxName.equalsIgnoreCase(onnxName)) {
        return k;
      }
    }
    throw new IllegalArgumentException(
        "unknown activation '"
            + onnxName
            + "'; known: "
            + java.util.Arrays.stream(Kind.values())
                .map(Kind::onnxName)
                .collect(java.util.stream.Collectors.joining(", ")));
  }

  /** The ONNX name of the function ({@code "LeakyRelu"}). */
  public String onnxName() {
    return kind.onnxName;
  }

  /** Evaluates the function in double precision (the reference backend's definition). */
  public double apply(double x) {
    return switch (kind) {
      case SIGMOID -> 1.0 / (1.0 + Math.exp(-x));
      case TANH -> Math.tanh(x);
      case RELU -> Math.max(0.0, x);
      case AFFINE -> alpha * x + beta;
      case LEAKY_RELU -> x >= 0 ? x : alpha * x;
      case THRESHOLDED_RELU -> x > alpha ? x : 0.0;
      case SCALED_TANH -> alpha * Math.tanh(beta * x);
      case HARD_SIGMOID -> Math.max(0.0, Math.min(1.0, alpha * x + beta));
      case ELU -> x >= 0 ? x : alpha * (Math.exp(x) - 1.0);
      case SOFTSIGN -> x / (1.0 + Math.abs(x));
      case SOFTPLUS -> x > 30 ? x : Math.log1p(Math.exp(x));
    };
  }

  /**
   * The derivative of {@link #apply} at {@code x}, in double precision. At a kink it takes
   * PyTorch's side: the one-sided derivative for {@code x > 0} is used only when {@code x > 0}
   * (relu'(0) = 0, leaky_relu'(0) = alpha).
   */
  public double derivative(double x) {
    return switch (kind) {
      case SIGMOID -> {
        double s = 1.0 / (1.0 + Math.exp(-x));
        yield s * (1 - s);
      }
      case TANH -> {
        double t = Math.tanh(x);
        yield 1 - t * t;
      }
      case RELU -> x > 0 ? 1.0 : 0.0;
      case AFFINE -> alpha;
      case LEAKY_RELU -> x > 0 ? 1.0 : alpha;
      case THRESHOLDED_RELU -> x > alpha ? 1.0 : 0.0;
      case SCALED_TANH -> {
        double t = Math.tanh(beta * x);
        yield alpha * beta * (1 - t * t);
      }
      case HARD_SIGMOID -> {
        double v = alpha * x + beta;
        yield v > 0 && v < 1 ? alpha : 0.0;
      }
      case ELU -> x > 0 ? 1.0 : alpha * Math.exp(x);
      case SOFTSIGN -> {
        double d = 1.0 + Math.abs(x);
        yield 1.0 / (d * d);
      }
      case SOFTPLUS -> x > 30 ? 1.0 : 1.0 / (1.0 + Math.exp(-x));
    };
  }

  @Override
  public String toString() {
    return switch (kind) {
      case SIGMOID, TANH, RELU, SOFTSIGN, SOFTPLUS -> kind.name().toLowerCase(Locale.ROOT);
      case LEAKY_RELU, THRESHOLDED_RELU, ELU ->
          kind.name().toLowerCase(Locale.ROOT) + "(" + alpha + ")";
      case AFFINE, SCALED_TANH, HARD_SIGMOID ->
          kind.name().toLowerCase(Locale.ROOT) + "(" + alpha + ", " + beta + ")";
    };
  }
}
