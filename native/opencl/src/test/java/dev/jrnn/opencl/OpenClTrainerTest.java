package dev.jrnn.opencl;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Optimizer;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A Trainer on opencl (embedding, recurrent stack, last step and linear all on the device) ends a
 * few Adam steps with java's weights, within 1e-4 of the largest weight.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenClTrainerTest {

  static final int VOCAB = 7;
  static final int STEPS = 6;
  static final int BATCH = 5;
  static final double TOLERANCE = 1e-4;

  @BeforeAll
  void device() {
    Device.require();
  }

  static Graph classifier(String cell) {
    Recurrent r =
        switch (cell) {
          case "lstm" -> Recurrent.lstm(9).layers(2).bidirectional(Recurrent.Merge.CONCAT);
          case "gru" ->
              Recurrent.gru(9).linearBeforeReset(false).bidirectional(Recurrent.Merge.SUM);
          default -> Recurrent.rnn(9).layers(2);
        };
    return Graph.build(
        b -> {
          Value ids = b.input("ids", DType.I32, dyn("T"), dyn("N"));
          Value len = b.input("len", DType.I32, dyn("N"));
          Value y = b.recurrent(b.embedding(ids, VOCAB, 4), r, len, null, null);
          b.output("logits", b.linear(b.lastStep(y, len, false), 2));
        });
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"lstm", "gru", "rnn"})
  void trainsToJavasWeights(String cell) {
    Map<String, float[]> java = train(cell, "java");
    Map<String, float[]> cl = train(cell, "opencl");
    double worst = 0;
    String at = "";
    for (Map.Entry<String, float[]> e : java.entrySet()) {
      float[] want = e.getValue();
      float[] got = cl.get(e.getKey());
      double scale = 1;
      for (float v : want) {
        scale = Math.max(scale, Math.abs(v));
      }
      for (int i = 0; i < want.length; i++) {
        double d = Math.abs(want[i] - got[i]) / scale;
        if (d > worst) {
          worst = d;
          at = e.getKey();
        }
      }
    }
    System.out.printf(
        "opencl trainer vs java, %s: 4 Adam steps, weights within %.2e (%s)%n", cell, worst, at);
    assertTrue(worst <= TOLERANCE, cell + ": " + at + " differs by " + worst);
  }

  private static Map<String, float[]> train(String cell, String backend) {
    Graph g = classifier(cell);
    Training how = Training.of(Loss.crossEntropy("logits"), Optimizer.adam(0.02)).seed(5);
    Map<String, float[]> out = new TreeMap<>();
    try (Weights w = Weights.random(g, 2);
        Trainer t = Trainer.open(g, w, how, Options.backend(backend).threads(2))) {
      if (backend.equals("opencl")) {
        t.placement().forEach((n, on) -> assertEquals("opencl", on, "placement of " + n));
      }
      Random r = new Random(11);
      for (int s = 0; s < 4; s++) {
        int[] ids = new int[STEPS * BATCH];
        int[] len = new int[BATCH];
        int[] labels = new int[BATCH];
        for (int i = 0; i < ids.length; i++) {
          ids[i] = r.nextInt(VOCAB);
        }
        for (int n = 0; n < BATCH; n++) {
          len[n] = n == 0 ? STEPS : 1 + r.nextInt(STEPS);
          labels[n] = r.nextInt(2);
        }
        try (Tensor ti = Tensor.of(ids, STEPS, BATCH);
            Tensor tl = Tensor.of(len, BATCH);
            Tensor y = Tensor.of(labels, BATCH)) {
          assertTrue(Double.isFinite(t.step(Map.of("ids", ti, "len", tl), y)));
        }
      }
      try (Weights trained = t.weights()) {
        for (String name : trained.names()) {
          out.put(name, trained.get(name).toFloatArray());
        }
      }
    }
    return out;
  }
}
