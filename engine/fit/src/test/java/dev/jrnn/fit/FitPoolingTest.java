package dev.jrnn.fit;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Optimizer;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Training;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Epoch losses pool positions, not batches or sequences: with batches of very different numbers of
 * counted tokens, the validation loss of a language model is the log of its perplexity.
 */
class FitPoolingTest {

  static final int VOCAB = 7;

  /** Batch 0: one sequence of 6 tokens; batch 1: four sequences of 1 token (padding 0 after). */
  static Batch batch(int i) {
    if (i == 0) {
      int[] x = {2, 4, 5, 6, 4, 5};
      int[] y = {4, 5, 6, 4, 5, 3};
      return new Batch(Map.of("ids", Tensor.of(x, 6, 1)), Tensor.of(y, 6, 1), 1);
    }
    int[] x = {2, 2, 2, 2, 0, 0, 0, 0};
    int[] y = {4, 5, 6, 3, 0, 0, 0, 0};
    return new Batch(Map.of("ids", Tensor.of(x, 2, 4)), Tensor.of(y, 2, 4), 4);
  }

  @Test
  void validationLossIsTheLogOfPerplexity() {
    Graph g =
        Graph.build(
            b -> {
              Value ids = b.input("ids", DType.I32, dyn("T"), dyn("N"));
              Value h = b.recurrent(b.embedding(ids, VOCAB, 4), Recurrent.gru(5));
              b.output("logits", b.linear(h, VOCAB));
            });
    Training t =
        Training.of(Loss.crossEntropy("logits").ignoreIndex(0), Optimizer.adam(0.01)).seed(1);
    Fit fit =
        Fit.builder(t)
            .options(Options.backend("reference"))
            .epochs(2)
            .validation(Batches.ordered(2, FitPoolingTest::batch))
            .metrics(Metrics.perplexity())
            .progress(Progress.quiet())
            .build();
    try (Weights w = Weights.random(g, 3);
        Fitted f = fit.run(g, w, Batches.ordered(2, FitPoolingTest::batch))) {
      History h = f.history();
      for (History.Epoch e : h.epochs()) {
        // 6 + 4 tokens: a per-sequence (1 vs 4) or per-batch mean would differ
        assertEquals(Math.log(e.get("val_perplexity")), e.valLoss(), 1e-6, "epoch " + e.epoch());
      }
    }
  }
}
