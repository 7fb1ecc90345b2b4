package dev.jrnn.fit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jrnn.Loss;
import dev.jrnn.Tensor;
import org.junit.jupiter.api.Test;

/** Batch means pool into the mean over positions: each batch weighs what its mean divides by. */
class LossWeightTest {

  @Test
  void positionsTheLossCounts() {
    // [T=3, N=2] class ids; id 0 is padding
    try (Tensor ids = Tensor.of(new int[] {4, 5, 6, 0, 0, 0}, 3, 2);
        Tensor lengths = Tensor.of(new int[] {3, 1}, 2);
        Tensor values = Tensor.of(new float[] {1, 2, 3}, 3, 1)) {
      assertEquals(6, Positions.lossWeight(Loss.crossEntropy("y"), ids, null, 2));
      assertEquals(3, Positions.lossWeight(Loss.crossEntropy("y").ignoreIndex(0), ids, null, 2));
      // lengths: row 0 counts t = 0, 1, 2; row 1 only t = 0
      assertEquals(4, Positions.lossWeight(Loss.crossEntropy("y").lengths("l"), ids, lengths, 2));
      // class weights: ids 4, 5, 6 weigh 0.5, 2, 1 (and padding 0 is ignored)
      Loss weighted = Loss.crossEntropy("y").classWeights(1, 1, 1, 1, 0.5f, 2, 1).ignoreIndex(0);
      assertEquals(3.5, Positions.lossWeight(weighted, ids, null, 2), 1e-12);
      assertEquals(3, Positions.lossWeight(Loss.mse("y"), values, null, 3));
      assertEquals(2, Positions.lossWeight(Loss.crossEntropy("y").sum(), ids, null, 2));
    }
  }
}
