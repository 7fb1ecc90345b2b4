package dev.jrnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * An element-wise activation of the ONNX recurrent operators, vectorized with a scalar twin.
 *
 * <p>Sigmoid and tanh use the Vector API's {@code EXP} and {@code TANH}, intrinsified as SVML stubs
 * on x86. An inline polynomial (≤ 1.4e-7 relative error) was tried: C2 would not inline it into the
 * fused passes ("callee is too large"), the vectors crossing the call were boxed and a 2-block LSTM
 * step went from 57 to 138 ns, so the stubs stay. {@link #apply} itself is kept small enough to
 * inline; it covers sigmoid, tanh and relu, and cells with other kinds run scalar.
 */
public final class Act {

  private static final VectorSpecies<Float> S = Simd.F;

  public static final int SIGMOID = 0;
  public static final int TANH = 1;
  public static final int RELU = 2;
  public static final int AFFINE = 3;
  public static final int LEAKY_RELU = 4;
  public static final int THRESHOLDED_RELU = 5;
  public static final int SCALED_TANH = 6;
  public static final int HARD_SIGMOID = 7;
  public static final int ELU = 8;
  public static final int SOFTSIGN = 9;
  public static final int SOFTPLUS = 10;

  public static final Act SIGMOID_ACT = new Act(SIGMOID, 0, 0);
  public static final Act TANH_ACT = new Act(TANH, 0, 0);
  public static final Act RELU_ACT = new Act(RELU, 0, 0);

  final int kind;
  final float alpha;
  final float beta;

  /** {@code kind} is one of the constants above; alpha and beta as ONNX defines them. */
  public Act(int kind, float alpha, float beta) {
    if (kind < SIGMOID || kind > SOFTPLUS) {
      throw new IllegalArgumentException("unknown activation kind " + kind);
    }
    this.kind = kind;
    this.alpha = alpha;
    this.beta = beta;
  }

  /** Whether {@link #apply(FloatVector)} supports this kind: sigmoid, tanh and relu. */
  public boolean vectorized() {
    return kind == SIGMOID || kind == TANH || kind == RELU;
  }

  /**
   * The activation of every lane, for the {@link #vectorized()} kinds only. Kept tiny so C2 inlines
   * it into the fused passes: a vector crossing a call that is not inlined is boxed (allocated),
   * and a larger dispatch here measured 500 KB allocated per W1-sized call. Cells whose activations
   * include another kind run their scalar twins.
   */
  public FloatVector apply(FloatVector x) {
    if (kind == SIGMOID) {
      return sigmoid(x);
    }
    return kind == TANH ? x.lanewise(VectorOperators.TANH) : x.max(0f);
  }

  /** Scalar twin of {@link #apply(FloatVector)}. */
  public float apply(float x) {
    return switch (kind) {
      case SIGMOID -> sigmoid(x);
      case TANH -> (float) Math.tanh(x);
      case RELU -> Math.max(0f, x);
      case AFFINE -> alpha * x + beta;
      case LEAKY_RELU -> x < 0 ? alpha * x : x;
      case THRESHOLDED_RELU -> x > alpha ? x : 0f;
      case SCALED_TANH -> alpha * (float) Math.tanh(beta * x);
      case HARD_SIGMOID -> Math.max(0f, Math.min(1f, alpha * x + beta));
      case ELU -> x < 0 ? alpha * (float) Math.expm1(x) : x;
      case SOFTSIGN -> x / (1f + Math.abs(x));
      default -> x > 20f ? x : (float) Math.log1p(Math.exp(x));
    };
  }

  /** {@code 1 / (1 + e^-x)}. */
  public static FloatVector sigmoid(FloatVector x) {
    FloatVector one = FloatVector.broadcast(S, 1f);
    return one.div(x.neg().lanewise(VectorOperators.EXP).add(one));
  }

  /** Scalar {@code 1 / (1 + e^-x)}. */
  public static float sigmoid(float x) {
    return (float) (1.0 / (1.0 + Math.exp(-x)));
  }

  @Override
  public String toString() {
    return "Act(" + kind + ", " + alpha + ", " + beta + ")";
  }
}
