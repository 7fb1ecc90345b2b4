package dev.jrnn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Loss;
import dev.jrnn.Tensor;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every loss and option against PyTorch autograd in float64 (fixtures/training/losses), the loss
 * value and each gradient element within 1e-5 relative; and the errors for bad input.
 */
class LossFunctionTest {

  static final double TOLERANCE = 1e-5;
  static double worstLoss;
  static double worstGradient;

  static List<String> cases() {
    return TrainingFixture.names("losses");
  }

  /** Largest element-wise relative difference; an expected 0 must be met exactly. */
  static double relativeError(Tensor expected, Tensor actual) {
    float[] e = expected.toFloatArray();
    float[] a = actual.toFloatArray();
    assertEquals(e.length, a.length, "element count");
    double worst = 0;
    for (int i = 0; i < e.length; i++) {
      double d = Math.abs((double) e[i] - a[i]);
      if (Double.isNaN(d)) {
        return Double.POSITIVE_INFINITY;
      }
      worst = Math.max(worst, d == 0 ? 0 : d / Math.abs((double) e[i]));
    }
    return worst;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void matchesPyTorch(String name) {
    try (TrainingFixture f = TrainingFixture.load("losses", name)) {
      Tensor y = f.tensor("y");
      try (Tensor dy = Tensor.allocate(DType.F32, y.shape())) {
        dy.copyFrom(new float[(int) y.size()]);
        double loss =
            LossFunction.of(f.loss())
                .compute(y, f.tensor("target"), f.has("lengths") ? f.tensor("lengths") : null, dy);
        double want = f.number("expected_loss");
        double lossErr = Math.abs(loss - want) / Math.abs(want);
        double gradErr = relativeError(f.tensor("dy"), dy);
        worstLoss = Math.max(worstLoss, lossErr);
        worstGradient = Math.max(worstGradient, gradErr);
        System.out.printf(
            "loss %-24s %s: loss %.17g vs %.17g (rel %.2e), dy rel %.2e%n",
            name, f.loss(), loss, want, lossErr, gradErr);
        assertTrue(lossErr <= TOLERANCE, name + ": loss " + loss + ", PyTorch " + want);
        assertTrue(gradErr <= TOLERANCE, name + ": dy relative error " + gradErr);
      }
    }
  }

  @AfterAll
  static void report() {
    System.out.printf(
        "losses vs PyTorch: largest relative error %.2e (loss), %.2e (gradient)%n",
        worstLoss, worstGradient);
  }

  static String error(Loss spec, Tensor y, Tensor target, Tensor lengths) {
    try (Tensor dy = Tensor.allocate(DType.F32, y.shape())) {
      return assertThrows(
              IllegalArgumentException.class,
              () -> LossFunction.of(spec).compute(y, target, lengths, dy))
          .getMessage();
    }
  }

  static void contains(String message, String... parts) {
    for (String p : parts) {
      assertTrue(message.contains(p), "'" + message + "' should contain '" + p + "'");
    }
  }

  @Test
  void targetOfTheWrongTypeOrShapeIsNamed() {
    try (Tensor y = Tensor.allocate(DType.F32, 6, 5);
        Tensor f = Tensor.allocate(DType.F32, 6, 5);
        Tensor ids = Tensor.allocate(DType.I32, 6, 1)) {
      contains(
          error(Loss.crossEntropy("logits"), y, f, null),
          "target of the cross-entropy loss on output 'logits' F32 [6, 5] must be I32 [6]",
          "got F32 [6, 5]");
      contains(
          error(Loss.crossEntropy("logits"), y, ids, null), "must be I32 [6]", "got I32 [6, 1]");
      contains(error(Loss.mse("y"), y, ids, null), "must be F32 [6, 5]", "got I32 [6, 1]");
    }
  }

  @Test
  void classIdOutOfRangeNamesPositionAndValue() {
    try (Tensor y = Tensor.allocate(DType.F32, 2, 3, 4);
        Tensor target = Tensor.of(new int[] {0, 1, 2, 3, 4, 1}, 2, 3)) {
      contains(
          error(Loss.crossEntropy("logits"), y, target, null),
          "target[1, 1] = 4 is not a class id of output 'logits'",
          "4 classes, ids 0 to 3");
      target.setInt(4, -1);
      contains(error(Loss.crossEntropy("logits"), y, target, null), "target[1, 1] = -1");
      // the ignore index is no class id, and positions past the length are not looked at
      try (Tensor lengths = Tensor.of(new int[] {1, 1, 1}, 3);
          Tensor dy = Tensor.allocate(DType.F32, 2, 3, 4)) {
        LossFunction.of(Loss.crossEntropy("logits").ignoreIndex(-1)).compute(y, target, null, dy);
        target.setInt(4, 99);
        LossFunction.of(Loss.crossEntropy("logits").lengths("len")).compute(y, target, lengths, dy);
        assertEquals(0f, dy.floatAt(1, 1, 2));
      }
    }
  }

  @Test
  void badLengthsAreNamed() {
    Loss spec = Loss.mse("y").lengths("len");
    try (Tensor y = Tensor.allocate(DType.F32, 4, 2, 3);
        Tensor t = Tensor.allocate(DType.F32, 4, 2, 3);
        Tensor tooLong = Tensor.of(new int[] {4, 5}, 2);
        Tensor tooLongBatchFirst = Tensor.of(new int[] {2, 3, 0, 1}, 4);
        Tensor negative = Tensor.of(new int[] {-1, 2}, 2);
        Tensor wrongCount = Tensor.of(new int[] {1, 2, 3}, 3)) {
      contains(
          error(spec, y, t, tooLong), "lengths 'len'[1] = 5 is longer than the sequence: T = 4");
      contains(error(spec, y, t, negative), "lengths 'len'[0] = -1 is negative");
      contains(error(spec, y, t, wrongCount), "must be I32 [2]", "got I32 [3]");
      contains(error(spec, y, t, null), "lengths 'len', which was not given");
      contains(
          error(spec.batchFirst(true), y, t, tooLongBatchFirst),
          "lengths 'len'[1] = 3 is longer than the sequence: T = 2");
      contains(error(Loss.mse("y"), y, t, tooLong), "whose spec has no lengths input");
    }
    try (Tensor y = Tensor.allocate(DType.F32, 4, 3);
        Tensor t = Tensor.allocate(DType.I32, 4);
        Tensor len = Tensor.of(new int[] {1, 2, 3}, 3)) {
      contains(
          error(Loss.crossEntropy("y").lengths("len"), y, t, len),
          "needs a sequence output 'y' [T, N, ...] with a class axis, got [4, 3]");
    }
  }

  @Test
  void classWeightsMustMatchTheClasses() {
    try (Tensor y = Tensor.allocate(DType.F32, 2, 4);
        Tensor t = Tensor.allocate(DType.I32, 2)) {
      contains(
          error(Loss.crossEntropy("y").classWeights(1, 2, 3), y, t, null),
          "classWeights has 3 entries but output 'y' F32 [2, 4] has 4 classes");
    }
  }

  @Test
  void meanOfNothingIsNaNWithZeroGradient() {
    try (Tensor y = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        Tensor t = Tensor.of(new int[] {1, 1}, 2);
        Tensor dy = Tensor.allocate(DType.F32, 2, 2)) {
      dy.copyFrom(new float[] {7, 7, 7, 7});
      double loss = LossFunction.of(Loss.crossEntropy("y").ignoreIndex(1)).compute(y, t, null, dy);
      assertTrue(Double.isNaN(loss));
      assertEquals(0f, dy.getFloat(0) + dy.getFloat(1) + dy.getFloat(2) + dy.getFloat(3));
      assertEquals(0f, Math.abs(dy.getFloat(0)) + Math.abs(dy.getFloat(3)));
      assertEquals(
          0.0,
          LossFunction.of(Loss.crossEntropy("y").ignoreIndex(1).sum()).compute(y, t, null, dy));
    }
  }

  @Test
  void confidentPredictionsKeepTheirPrecision() {
    // p_k = 1 - 3e-13: the loss and p_k - 1 are far below float's epsilon around 1
    try (Tensor y = Tensor.of(new float[] {30, 0, 0, 0}, 1, 4);
        Tensor t = Tensor.of(new int[] {0}, 1);
        Tensor dy = Tensor.allocate(DType.F32, 1, 4)) {
      double loss = LossFunction.of(Loss.crossEntropy("y")).compute(y, t, null, dy);
      double others = 3 * Math.exp(-30);
      assertEquals(Math.log1p(others), loss, 1e-6 * loss);
      assertEquals(-others / (1 + others), dy.getFloat(0), 1e-6 * others);
    }
  }

  @Test
  void logitsWithoutBatchTakeAScalarTarget() {
    float[] logits = {0.5f, -1, 2, 0.25f};
    try (Tensor y = Tensor.of(logits, 4);
        Tensor t = Tensor.allocate(DType.I32);
        Tensor dy = Tensor.allocate(DType.F32, 4);
        Tensor y2 = Tensor.of(logits, 1, 4);
        Tensor t2 = Tensor.allocate(DType.I32, 1);
        Tensor dy2 = Tensor.allocate(DType.F32, 1, 4)) {
      t.setInt(0, 2);
      t2.setInt(0, 2);
      LossFunction ce = LossFunction.of(Loss.crossEntropy("y"));
      assertEquals(ce.compute(y2, t2, null, dy2), ce.compute(y, t, null, dy));
      assertEquals(
          java.util.Arrays.toString(dy2.toFloatArray()),
          java.util.Arrays.toString(dy.toFloatArray()));
    }
  }

  @Test
  void nonFiniteLossIsReturnedAsIs() {
    try (Tensor y = Tensor.of(new float[] {Float.NaN, 1}, 2);
        Tensor t = Tensor.of(new float[] {0, 0}, 2);
        Tensor dy = Tensor.allocate(DType.F32, 2)) {
      assertTrue(Double.isNaN(LossFunction.of(Loss.mse("y")).compute(y, t, null, dy)));
    }
  }
}
