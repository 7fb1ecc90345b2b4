package dev.jrnn.onednn;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import dev.jrnn.spi.RecurrentTrainer;
import dev.jrnn.testing.Fixture;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * forward_training and the backward primitives through the SPI, against torch autograd: outputs at
 * ≤ 1e-5, every input and weight gradient at ≤ 1e-5.
 */
class OneDnnTrainingTest {

  static final double OUTPUT_TOL = 1e-5;
  static final double GRAD_TOL = 1e-5;

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.jrnn.testing.Fixture#gradientNames")
  void gradientsMatchAutograd(String name) {
    Backend b = Backends.byName("onednn");
    assertTrue(b.availability().available(), b.availability().reason());
    List<Tensor> owned = new ArrayList<>();
    try (Fixture f = Fixture.loadGradients(name);
        Backend.Context ctx = b.open(Options.backend("onednn").threads(2))) {
      Graph g = f.graph();
      try (RecurrentTrainer t = ctx.trainer(g.node("rnn"), f.weightViews())) {
        assertNotNull(t, "onednn should train " + name);
        Tensor y = like(f.tensor("y"), owned);
        Tensor hN = like(f.tensor("hN"), owned);
        Tensor cN = f.has("cN") ? like(f.tensor("cN"), owned) : null;
        Tensor x = f.tensor("x");
        try (RecurrentTrainer.Tape tape =
            t.forward(
                x,
                f.has("h0") ? f.tensor("h0") : null,
                f.has("c0") ? f.tensor("c0") : null,
                y,
                hN,
                cN)) {
          double out =
              Math.max(
                  Fixture.maxAbsDiff(f.tensor("y"), y), Fixture.maxAbsDiff(f.tensor("hN"), hN));
          if (cN != null) {
            out = Math.max(out, Fixture.maxAbsDiff(f.tensor("cN"), cN));
          }
          Tensor dx = like(x, owned);
          Tensor dh0 = f.has("grad.h0") ? like(f.tensor("grad.h0"), owned) : null;
          Tensor dc0 = f.has("grad.c0") ? like(f.tensor("grad.c0"), owned) : null;
          Map<String, Tensor> grads = new LinkedHashMap<>();
          for (Map.Entry<String, Tensor> w : f.weightViews().entrySet()) {
            grads.put(w.getKey(), like(w.getValue(), owned)); // zeros: backward adds into them
          }
          t.backward(
              tape,
              f.tensor("dy"),
              f.tensor("dhN"),
              f.has("dcN") ? f.tensor("dcN") : null,
              dx,
              dh0,
              dc0,
              grads);
          double worst = Fixture.maxAbsDiff(f.tensor("grad.x"), dx);
          String at = "x";
          if (dh0 != null) {
            double d = Fixture.maxAbsDiff(f.tensor("grad.h0"), dh0);
            if (d > worst) {
              worst = d;
              at = "h0";
            }
          }
          if (dc0 != null) {
            double d = Fixture.maxAbsDiff(f.tensor("grad.c0"), dc0);
            if (d > worst) {
              worst = d;
              at = "c0";
            }
          }
          for (Map.Entry<String, Tensor> e : grads.entrySet()) {
            double d = Fixture.maxAbsDiff(f.tensor("grad." + e.getKey()), e.getValue());
            if (d > worst) {
              worst = d;
              at = e.getKey();
            }
          }
          System.out.printf(
              "onednn training %-26s outputs %.2e, gradients %.2e (%s)%n", name, out, worst, at);
          assertTrue(out <= OUTPUT_TOL, name + ": outputs differ by " + out);
          assertTrue(worst <= GRAD_TOL, name + ": gradient of " + at + " differs by " + worst);
        }
      }
    } finally {
      owned.forEach(Tensor::close);
    }
  }

  private static Tensor like(Tensor t, List<Tensor> owned) {
    Tensor z = Tensor.allocate(DType.F32, t.shape());
    owned.add(z);
    return z;
  }
}
