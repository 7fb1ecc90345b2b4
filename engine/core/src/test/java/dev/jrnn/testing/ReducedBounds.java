package dev.jrnn.testing;

import dev.jrnn.Activation;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.WeightSpec;
import java.util.List;
import java.util.Map;

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
    return forFixture(f, weightUnit(p), 1);
  }

  /**
   * The bound for a golden fixture on a backend that rounds {@code sources} independent things per
   * product to unit {@code u} (e.g. the weights and the activations: 2), or infinity as above.
   */
  public static double forFixture(Fixture f, double u, double sources) {
    Recurrent spec = f.spec();
    if (discontinuous(spec) != null) {
      return Double.POSITIVE_INFINITY;
    }
    return 2 * u * (1 + Math.sqrt(sources * terms(spec, f.inputSize(), f.steps())));
  }

  /**
   * The bound for {@code graph} run on {@code inputs} with its weight matrices (those {@link
   * WeightSpec#matrix} marks: recurrent W, R, Wp and Linear weights) in {@code p}, activations f32:
   * the formula above (s = 1) with the terms K/H·T·L of every node that has such a matrix added
   * under the root, as errors that pass from one node into the next add up like the layers of one
   * stack. A recurrent node contributes its own K, H, L and T (T from the input that names its time
   * axis); a Linear node one term of 1 (K = H = its input width: |w| ≤ 1/√in, one sum per output,
   * no steps). 0 when no matrix is reduced (the graph runs as in f32); infinity when a
   * discontinuous activation ({@link #discontinuity}) makes any bound impossible. The assumptions
   * are the class comment's: weights within PyTorch's initialisation, activations of order 1
   * (ONNX's own backend test models step outside them, with weights up to 2.6 and inputs up to 18,
   * and are held to the same formula).
   */
  public static double forGraph(Graph graph, Map<String, Tensor> inputs, Precision p) {
    if (discontinuity(graph) != null) {
      return Double.POSITIVE_INFINITY;
    }
    IrGraph g = IrGraph.of(graph);
    double sum = 0;
    for (Node n : g.nodes()) {
      if (n.weights().stream().noneMatch(WeightSpec::matrix)) {
        continue;
      }
      sum +=
          switch (n.op()) {
            case Op.RecurrentLayer r -> terms(r.spec(), r.inputSize(), steps(g, n, r, inputs));
            case Op.Linear _ -> 1;
            default ->
                throw new IllegalArgumentException(
                    "no bound for the reduced weight matrix of " + n + " yet");
          };
    }
    return sum == 0 ? 0 : 2 * weightUnit(p) * (1 + Math.sqrt(sum));
  }

  /**
   * Why {@code graph} has no bound, or null: a discontinuous activation (ThresholdedRelu) in a
   * recurrent layer or on its own.
   */
  public static String discontinuity(Graph graph) {
    for (Node n : IrGraph.of(graph).nodes()) {
      String why =
          switch (n.op()) {
            case Op.RecurrentLayer r -> discontinuous(r.spec());
            case Op.Unary u ->
                u.fn().kind() == Activation.Kind.THRESHOLDED_RELU ? THRESHOLDED : null;
            default -> null;
          };
      if (why != null) {
        return n.name() + " (" + n.op().kind() + "): " + why;
      }
    }
    return null;
  }

  private static String discontinuous(Recurrent spec) {
    for (Activation a : spec.activations() != null ? spec.activations() : List.<Activation>of()) {
      if (a.kind() == Activation.Kind.THRESHOLDED_RELU) {
        return THRESHOLDED;
      }
    }
    return null;
  }

  private static final String THRESHOLDED =
      "ThresholdedRelu is discontinuous: a weight rounded by any amount can move a"
          + " pre-activation across the threshold and the output by the threshold itself";

  /** s-free terms K/H · T · L of a recurrent stack: K = H + its largest layer input. */
  private static double terms(Recurrent spec, int inputSize, int steps) {
    int h = spec.hidden();
    int above = spec.merge() == Recurrent.Merge.SUM ? h : h * spec.directions();
    int k = h + (spec.layers() > 1 ? Math.max(inputSize, above) : inputSize);
    return k / (double) h * steps * spec.layers();
  }

  /**
   * The steps recurrent node {@code n} runs: its input's time axis, fixed or named by a graph input
   * whose tensor in {@code inputs} gives the size.
   */
  private static int steps(IrGraph g, Node n, Op.RecurrentLayer r, Map<String, Tensor> inputs) {
    Dim t = n.input(Op.RecurrentLayer.X).type().dim(r.spec().isBatchFirst() ? 1 : 0);
    if (t.isFixed()) {
      return t.size();
    }
    if (!t.isDerived()) {
      for (Map.Entry<String, IrValue> e : g.inputValues().entrySet()) {
        List<Dim> dims = e.getValue().dims();
        Tensor given = inputs.get(e.getKey());
        for (int i = 0; i < dims.size() && given != null; i++) {
          if (t.equals(dims.get(i))) {
            return given.dim(i);
          }
        }
      }
    }
    throw new IllegalArgumentException(
        "the steps of " + n + " (time axis " + t + ") are named by no graph input");
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
