package dev.jrnn.testing;

import dev.jrnn.Activation;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import java.util.List;

/**
 * How far a recurrent layer's outputs may move when its weights (and, on some backends, its
 * activations) are rounded to a reduced format with unit {@code u}:
 *
 * <pre>tol = 2u · (1 + √(s · K/H · T · L))</pre>
 *
 * K = H + the largest layer input, L layers, T steps. Each gate pre-activation sums K products of a
 * weight (|w| ≤ 1/√H, PyTorch's initialisation) with an activation, one of the two off by up to u
 * (relative); independent errors grow like √K (u·√(K/H) per step and layer) and over T·L steps and
 * layers like √(T·L); {@code s} counts independent sources (weights only: 1). The leading 1 is the
 * rounding of the outputs themselves; 2 covers a bidirectional sum of two outputs.
 */
public final class ReducedBounds {

  private ReducedBounds() {}

  /** The bound above. */
  public static double bound(double u, double sources, int hidden, int k, int steps, int layers) {
    return 2 * u * (1 + Math.sqrt(sources * k / (double) hidden * steps * layers));
  }

  /**
   * The bound for a golden fixture run with its weights in {@code p} (activations f32: one source),
   * or infinity when the layer has a discontinuous activation (ThresholdedRelu): a weight rounded
   * by any amount can move a pre-activation across the threshold and the output by the threshold
   * itself, so no bound exists.
   */
  public static double forFixture(Fixture f, Precision p) {
    Recurrent spec = f.spec();
    for (Activation a : spec.activations() != null ? spec.activations() : List.<Activation>of()) {
      if (a.kind() == Activation.Kind.THRESHOLDED_RELU) {
        return Double.POSITIVE_INFINITY;
      }
    }
    int h = spec.hidden();
    int above = spec.merge() == Recurrent.Merge.SUM ? h : h * spec.directions();
    int k = h + (spec.layers() > 1 ? Math.max(f.inputSize(), above) : f.inputSize());
    return bound(weightUnit(p), 1, h, k, f.steps(), spec.layers());
  }

  /**
   * The weight format's unit: bf16's relative rounding error 2⁻⁸; int8's half step relative to the
   * row's largest weight, 1/254.
   */
  public static double weightUnit(Precision p) {
    return switch (p) {
      case F32 -> 0;
      case BF16 -> 0x1p-8;
      case INT8 -> 1.0 / 254;
    };
  }
}
