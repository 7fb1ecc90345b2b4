package dev.jrnn.onednn;

import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.testing.Fixture;
import dev.jrnn.testing.GoldenSuite;
import dev.jrnn.testing.ReducedBounds;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;

/**
 * The golden fixtures on onednn with the weight matrices in a reduced precision, against the f32
 * outputs. A layer onednn runs in that precision itself rounds or quantizes its activations too
 * (see {@link Reduced}), so its bound counts those sources beside the weights' ({@link
 * #reducedBound}); a layer onednn does not run in that precision (one with a feature onednn lacks,
 * on java's reduced kernels; or any, widened to f32, on a CPU without the instructions) gets the
 * weights-only bound the java suites use.
 */
abstract class OneDnnReducedGoldenSuite extends GoldenSuite {

  private final Set<String> reduced = ConcurrentHashMap.newKeySet();
  private final Set<String> all = ConcurrentHashMap.newKeySet();

  /** The precision under test. */
  abstract Precision precision();

  /** The bound for fixture {@code f} when onednn runs its layer in {@link #precision} itself. */
  abstract double reducedBound(Fixture f);

  @Override
  protected Options options() {
    return Options.backend("onednn").threads(2).precision(precision());
  }

  @Override
  protected double tolerance(Fixture f) {
    Node rnn =
        IrGraph.of(f.graph()).nodes().stream()
            .filter(n -> n.op() instanceof Op.RecurrentLayer)
            .findFirst()
            .orElseThrow();
    all.add(f.name);
    if (OneDnnBackend.reducedWhyNot(rnn, precision()) != null) {
      return ReducedBounds.forFixture(f, precision());
    }
    reduced.add(f.name);
    return reducedBound(f);
  }

  @AfterAll
  void reducedSummary() {
    System.out.printf(
        "onednn %s goldens: %d of %d fixtures run in %s on onednn, the rest at the weights-only"
            + " bound%n",
        precision(), reduced.size(), all.size(), precision());
  }
}
