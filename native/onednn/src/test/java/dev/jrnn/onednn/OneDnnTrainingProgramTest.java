package dev.jrnn.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.exec.TrainingProgram;
import dev.jrnn.testing.Fixture;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The 19 torch-autograd gradient fixtures through the executor's training driver (forward, then
 * backward over the graph) with every node on onednn: outputs, input and initial-state gradients
 * and every weight gradient at ≤ 1e-5 of PyTorch's.
 */
class OneDnnTrainingProgramTest {

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.jrnn.testing.Fixture#gradientNames")
  void executorBackwardMatchesAutograd(String name) {
    try (Fixture f = Fixture.loadGradients(name);
        Weights w = Weights.empty()) {
      f.weightViews().forEach((k, v) -> w.put(k, v.copy()));
      Map<String, Tensor> inputs = new LinkedHashMap<>();
      for (String in : new String[] {"x", "h0", "c0"}) {
        if (f.has(in)) {
          inputs.put(in, f.tensor(in));
        }
      }
      try (TrainingProgram p =
          TrainingProgram.open(f.graph(), w, Options.backend("onednn").threads(2))) {
        assertEquals(Map.of("rnn", "onednn"), p.placement());
        Map<String, Tensor> out = p.forward(inputs);
        double worstOut = 0;
        for (String o : out.keySet()) {
          worstOut = Math.max(worstOut, Fixture.maxAbsDiff(f.tensor(o), out.get(o)));
        }
        Map<String, Tensor> upstream = new LinkedHashMap<>();
        upstream.put("y", f.tensor("dy"));
        upstream.put("hN", f.tensor("dhN"));
        if (f.has("dcN")) {
          upstream.put("cN", f.tensor("dcN"));
        }
        double worst = 0;
        String at = "";
        try (TrainingProgram.Gradients g = p.backward(upstream)) {
          for (Map.Entry<String, Tensor> e : g.weights().entrySet()) {
            double d = Fixture.maxAbsDiff(f.tensor("grad." + e.getKey()), e.getValue());
            if (d > worst) {
              worst = d;
              at = e.getKey();
            }
          }
          for (String in : inputs.keySet()) {
            double d = Fixture.maxAbsDiff(f.tensor("grad." + in), g.inputs().get(in));
            if (d > worst) {
              worst = d;
              at = in;
            }
          }
        }
        System.out.printf(
            "executor+onednn training %-26s outputs %.2e, gradients %.2e (%s)%n",
            name, worstOut, worst, at);
        assertTrue(worstOut <= 1e-5, name + ": outputs differ by " + worstOut);
        assertTrue(worst <= 1e-5, name + ": gradient of " + at + " differs by " + worst);
      }
    }
  }
}
