package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;

/**
 * The kernels' equations in double precision, written from the ONNX definitions without the
 * kernels' code, and the comparisons the kernel tests share.
 */
final class Ref {

  private Ref() {}

  /** An activation as the kernels get it, and its definition in double. */
  record Fn(String name, Act act, DoubleUnaryOperator exact) {
    double at(double x) {
      return exact.applyAsDouble(x);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  // Parameters are floats widened exactly, as the kernels hold them.
  private static final double A = 0.7f;
  private static final double B = -0.3f;
  private static final double A2 = 1.3f;
  private static final double B2 = 0.6f;

  static final Fn SIGMOID = new Fn("sigmoid", Act.sigmoid(), Ref::sigmoid);
  static final Fn TANH = new Fn("tanh", Act.tanh(), Math::tanh);
  static final Fn RELU = new Fn("relu", Act.relu(), x -> Math.max(0, x));

  /** Every factory of {@link Act}, with parameters where it takes them. */
  static final List<Fn> ALL =
      List.of(
          SIGMOID,
          TANH,
          RELU,
          new Fn("affine", Act.affine(0.7f, -0.3f), x -> A * x + B),
          new Fn("leakyRelu", Act.leakyRelu(0.7f), x -> x < 0 ? A * x : x),
          new Fn("thresholdedRelu", Act.thresholdedRelu(0.7f), x -> x > A ? x : 0),
          new Fn("scaledTanh", Act.scaledTanh(1.3f, 0.6f), x -> A2 * Math.tanh(B2 * x)),
          new Fn("hardSigmoid", Act.hardSigmoid(0.7f, -0.3f), x -> clamp(A * x + B, 0, 1)),
          new Fn("elu", Act.elu(0.7f), x -> x < 0 ? A * Math.expm1(x) : x),
          new Fn("softsign", Act.softsign(), x -> x / (1 + Math.abs(x))),
          new Fn("softplus", Act.softplus(), x -> Math.log1p(Math.exp(x))));

  static double sigmoid(double x) {
    return 1 / (1 + Math.exp(-x));
  }

  static double clamp(double v, double lo, double hi) {
    return Math.max(lo, Math.min(hi, v));
  }

  /** ONNX clip: none when {@code c} is infinite. */
  static double clip(double v, float c) {
    return clamp(v, -c, c);
  }

  static float[] random(SplittableRandom r, int n, double scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
    }
    return v;
  }

  /** Inputs that reach every branch of the activations: signs, zeros, saturation, large. */
  static float[] activationInputs(SplittableRandom r, int n) {
    float[] v = random(r, n, 6);
    float[] special = {0f, -0f, 0.7f, -0.7f, 25f, -25f, 90f, -90f, 1e-6f, -1e-6f, 1e30f, -1e30f};
    for (int i = 0; i < n; i++) {
      if (i % 5 == 0) {
        v[i] = special[(i / 5) % special.length];
      } else if (i % 5 == 1) {
        v[i] *= 20; // past the saturation of sigmoid and tanh
      }
    }
    return v;
  }

  /** Bit-for-bit equality, reporting the first difference. */
  static void assertSameBits(float[] want, float[] got, String what) {
    for (int i = 0; i < want.length; i++) {
      if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
        fail(what + ": at " + i + " twin " + want[i] + " vs vector " + got[i]);
      }
    }
  }

  /**
   * {@code |got − want| ≤ rel·max(|want|, scale)}: relative to the result or, where the result is a
   * difference of larger terms (or tiny), to the terms' scale.
   */
  static void assertNear(double want, float got, double rel, double scale, String what) {
    double tol = rel * Math.max(Math.abs(want), scale);
    if (!(Math.abs(got - want) <= tol)) { // NaN fails
      fail(what + ": want " + want + ", got " + got + ", error " + Math.abs(got - want));
    }
  }
}
