package dev.jrnn.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.testing.DifferentialSuite;
import dev.jrnn.testing.GoldenSuite;
import dev.jrnn.testing.ReducedBounds;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The differential suite on onednn in a reduced precision, against {@code reference} given the same
 * reduced weights (widened). Cases onednn runs in that precision round or quantize activations too,
 * so they get a bound from the activation format's unit {@code u} and the shapes:
 *
 * <pre>tol = 2u · (1 + √(s · K/H · T · L))</pre>
 *
 * K = H + the largest layer input (I, or H·directions above the first layer), L layers, T steps.
 * Each gate pre-activation sums K products of a weight (|w| ≤ 1/√H, the suite's PyTorch-style
 * initialisation) with an activation that is off by up to u; independent errors grow like √K
 * (u·√(K/H) per step and layer), and over T·L steps and layers like √(T·L); {@code s} counts the
 * independent sources (bf16: activations; int8: activations and the weights re-rounded to the
 * per-channel scale oneDNN's RNN primitive shares between W and R). The leading 1 is the rounding
 * of the outputs themselves; 2 covers a bidirectional sum of two rounded outputs. Cases on {@code
 * java} or widened to f32 keep the suite's 1e-5.
 */
abstract class OneDnnReducedSuite extends DifferentialSuite {

  private final AtomicInteger reducedCases = new AtomicInteger();
  private final AtomicInteger allCases = new AtomicInteger();

  /** The precision under test. */
  abstract Precision precision();

  /** The activation format's unit: the largest rounding or quantization error of a value. */
  abstract double unit();

  /** Independent error sources per product ({@code s} above). */
  abstract double sources();

  /** Whether onednn runs case {@code c} in {@link #precision} itself (see {@link Reduced}). */
  abstract boolean reduced(Case c);

  @Override
  protected Options options(int threads) {
    return Options.backend("onednn").threads(threads).precision(precision());
  }

  @Override
  protected boolean runsNatively(Case c) {
    return !c.ragged()
        && switch (c.variant()) {
          case LSTM_CLIP_COUPLED, LSTM_ACTS, GRU_CLIP_ACTS -> false;
          default -> true;
        };
  }

  @Override
  protected double tolerance(Case c) {
    allCases.incrementAndGet();
    if (!runsNatively(c) || !reduced(c)) {
      return GoldenSuite.TOLERANCE;
    }
    reducedCases.incrementAndGet();
    return bound(c, unit(), sources());
  }

  /** The bound of the class comment. */
  static double bound(Case c, double u, double sources) {
    int dirs = c.direction() == Recurrent.Direction.BIDIRECTIONAL ? 2 : 1;
    int above = c.merge() == Recurrent.Merge.SUM ? c.hidden() : c.hidden() * dirs;
    int k = c.hidden() + (c.layers() > 1 ? Math.max(c.input(), above) : c.input());
    return ReducedBounds.bound(u, sources, c.hidden(), k, c.steps(), c.layers());
  }

  /**
   * Whether every batch runs on java's step loop with oneDNN's products (sessions opened with
   * {@code -Djrnn.onednn.stepwiseBatch} at its maximum), so that the batches above the stepwise
   * limit, which the RNN primitive would take, run stepwise too, within the same bounds.
   */
  boolean stepwiseAtEveryBatch() {
    return false;
  }

  private String limitBefore;
  private int primitivesBefore;
  private int slicesBefore;

  @BeforeAll
  void stepwiseLimit() {
    limitBefore = System.getProperty("jrnn.onednn.stepwiseBatch");
    if (stepwiseAtEveryBatch()) {
      System.setProperty("jrnn.onednn.stepwiseBatch", String.valueOf(Integer.MAX_VALUE));
    }
    primitivesBefore = Primitives.created();
    slicesBefore = OneDnnProduct.slicesMade();
  }

  /**
   * The paths really ran: oneDNN products for the small batches, and RNN primitives for the larger
   * ones unless every batch was to go stepwise, in which case none.
   */
  @AfterAll
  void pathsRan() {
    try {
      if (reducedCases.get() > 0) {
        assertTrue(OneDnnProduct.slicesMade() > slicesBefore, "no case ran on the step loop");
        int primitives = Primitives.created() - primitivesBefore;
        if (stepwiseAtEveryBatch()) {
          assertEquals(0, primitives, "RNN primitives made with every batch stepwise");
        } else {
          assertTrue(primitives > 0, "no case ran on the RNN primitive");
        }
      }
    } finally {
      if (limitBefore == null) {
        System.clearProperty("jrnn.onednn.stepwiseBatch");
      } else {
        System.setProperty("jrnn.onednn.stepwiseBatch", limitBefore);
      }
    }
  }

  @AfterAll
  void reducedSummary() {
    System.out.printf(
        "onednn %s: %d of %d cases in %s, the rest at 1e-5%n",
        precision(), reducedCases.get(), allCases.get(), precision());
  }
}
