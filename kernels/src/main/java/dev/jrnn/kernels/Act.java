package dev.jrnn.kernels;

/**
 * An element-wise activation of the ONNX recurrent operators, with its parameters, as the kernels
 * run it: made by one factory per function, evaluated in float by {@link #apply(float)} (the scalar
 * twin of the vector loops in {@link Elementwise} and {@link Cells}).
 *
 * <p>Sigmoid, tanh and relu are {@link #vectorized()}: the kernels write their vector form out in
 * each loop, the same operations as {@link FloatMath} lane by lane, so a vector kernel and its
 * scalar twin agree bit for bit, in every JIT tier. Cells with other kinds run their scalar twins.
 */
public final class Act {

  // Codes the kernels switch on; callers use the factories.
  static final int SIGMOID = 0;
  static final int TANH = 1;
  static final int RELU = 2;
  static final int AFFINE = 3;
  static final int LEAKY_RELU = 4;
  static final int THRESHOLDED_RELU = 5;
  static final int SCALED_TANH = 6;
  static final int HARD_SIGMOID = 7;
  static final int ELU = 8;
  static final int SOFTSIGN = 9;
  static final int SOFTPLUS = 10;

  private static final Act SIGMOID_ACT = new Act(SIGMOID, 0, 0);
  private static final Act TANH_ACT = new Act(TANH, 0, 0);
  private static final Act RELU_ACT = new Act(RELU, 0, 0);

  final int kind;
  final float alpha;
  final float beta;

  private Act(int kind, float alpha, float beta) {
    this.kind = kind;
    this.alpha = alpha;
    this.beta = beta;
  }

  /** {@code 1 / (1 + e^-x)}. */
  public static Act sigmoid() {
    return SIGMOID_ACT;
  }

  /** {@code tanh(x)}. */
  public static Act tanh() {
    return TANH_ACT;
  }

  /** {@code max(0, x)}. */
  public static Act relu() {
    return RELU_ACT;
  }

  /** {@code alpha·x + beta}. */
  public static Act affine(float alpha, float beta) {
    return new Act(AFFINE, alpha, beta);
  }

  /** {@code x ≥ 0 ? x : alpha·x}. */
  public static Act leakyRelu(float alpha) {
    return new Act(LEAKY_RELU, alpha, 0);
  }

  /** {@code x > alpha ? x : 0}. */
  public static Act thresholdedRelu(float alpha) {
    return new Act(THRESHOLDED_RELU, alpha, 0);
  }

  /** {@code alpha·tanh(beta·x)}. */
  public static Act scaledTanh(float alpha, float beta) {
    return new Act(SCALED_TANH, alpha, beta);
  }

  /** {@code clamp(alpha·x + beta, 0, 1)}. */
  public static Act hardSigmoid(float alpha, float beta) {
    return new Act(HARD_SIGMOID, alpha, beta);
  }

  /** {@code x ≥ 0 ? x : alpha·(eˣ − 1)}. */
  public static Act elu(float alpha) {
    return new Act(ELU, alpha, 0);
  }

  /** {@code x / (1 + |x|)}. */
  public static Act softsign() {
    return new Act(SOFTSIGN, 0, 0);
  }

  /** {@code log(1 + eˣ)}. */
  public static Act softplus() {
    return new Act(SOFTPLUS, 0, 0);
  }

  /** Whether the kernels have a vector loop for this function: sigmoid, tanh and relu. */
  public boolean vectorized() {
    return kind == SIGMOID || kind == TANH || kind == RELU;
  }

  /** The function in float arithmetic. */
  public float apply(float x) {
    return switch (kind) {
      case SIGMOID -> FloatMath.sigmoid(x);
      case TANH -> FloatMath.tanh(x);
      case RELU -> Math.max(0f, x);
      case AFFINE -> alpha * x + beta;
      case LEAKY_RELU -> x < 0 ? alpha * x : x;
      case THRESHOLDED_RELU -> x > alpha ? x : 0f;
      case SCALED_TANH -> alpha * FloatMath.tanh(beta * x);
      case HARD_SIGMOID -> Math.max(0f, Math.min(1f, alpha * x + beta));
      case ELU -> x < 0 ? alpha * FloatMath.expm1(x) : x;
      case SOFTSIGN -> x / (1f + Math.abs(x));
      case SOFTPLUS -> x > 20f ? x : (float) StrictMath.log1p(StrictMath.exp(x));
      default -> throw new IllegalStateException("activation code " + kind);
    };
  }

  private static final String[] NAMES = {
    "sigmoid",
    "tanh",
    "relu",
    "affine",
    "leakyRelu",
    "thresholdedRelu",
    "scaledTanh",
    "hardSigmoid",
    "elu",
    "softsign",
    "softplus"
  };

  @Override
  public String toString() {
    return NAMES[kind] + "(" + alpha + ", " + beta + ")";
  }
}
