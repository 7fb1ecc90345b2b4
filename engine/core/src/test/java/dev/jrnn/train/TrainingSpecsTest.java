package dev.jrnn.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Loss;
import dev.jrnn.Optimizer;
import dev.jrnn.Schedule;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The public configuration: defaults, copies, accessors and the messages for bad arguments. */
class TrainingSpecsTest {

  static String error(Executable e) {
    return assertThrows(IllegalArgumentException.class, e).getMessage();
  }

  @Test
  void unknownNamesListTheKnownOnes() {
    assertEquals(
        "unknown loss 'xent'; known: ce, bce, mse, mae, huber",
        error(() -> Loss.byName("xent", "y")));
    assertEquals(
        "unknown optimizer 'adagrad'; known: sgd, adam, adamw, rmsprop",
        error(() -> Optimizer.byName("adagrad", 0.1)));
    assertEquals(Loss.Kind.HUBER, Loss.byName("Huber", "y").kind());
    assertEquals(1.0, Loss.byName("huber", "y").delta());
    assertEquals(Optimizer.Kind.ADAMW, Optimizer.byName("AdamW", 0.1).kind());
  }

  @Test
  void badNumbersAreNamed() {
    assertEquals(
        "learning rate must be finite and >= 0, got -0.1", error(() -> Optimizer.adam(-0.1)));
    assertEquals(
        "learning rate must be finite and >= 0, got NaN", error(() -> Optimizer.sgd(Double.NaN)));
    assertEquals(
        "momentum must be in [0, 1), got 1.0", error(() -> Optimizer.sgd(0.1).momentum(1)));
    assertEquals(
        "beta2 must be in [0, 1), got -0.5", error(() -> Optimizer.adam(0.1).betas(0.9, -0.5)));
    assertEquals(
        "eps must be finite and >= 0, got -1.0E-8", error(() -> Optimizer.adam(1).eps(-1e-8)));
    assertEquals(
        "weight decay must be finite and >= 0, got -0.01",
        error(() -> Optimizer.adamW(1).weightDecay(-0.01)));
    assertEquals("clipNorm must be > 0, got 0.0", error(() -> Optimizer.sgd(1).clipNorm(0)));
    assertEquals("clipValue must be > 0, got -1.0", error(() -> Optimizer.sgd(1).clipValue(-1)));
    assertEquals("huber delta must be finite and > 0, got 0.0", error(() -> Loss.huber("y", 0)));
    assertEquals(
        "class weight 1 is -2.0; weights must be finite and >= 0",
        error(() -> Loss.crossEntropy("y").classWeights(1, -2)));
    assertEquals("loss output name must not be blank", error(() -> Loss.mse(" ")));
  }

  @Test
  void optionsOfOtherRulesAreRefused() {
    assertEquals(
        "betas applies to adam, adamw, not to sgd", error(() -> Optimizer.sgd(1).betas(0.9, 0.99)));
    assertEquals(
        "momentum applies to sgd, rmsprop, not to adam",
        error(() -> Optimizer.adam(1).momentum(0.9)));
    assertEquals(
        "nesterov applies to sgd, not to rmsprop",
        error(() -> Optimizer.rmsprop(1).nesterov(true)));
    assertEquals(
        "centered applies to rmsprop, not to adamw",
        error(() -> Optimizer.adamW(1).centered(true)));
    assertEquals(
        "classWeights applies to cross-entropy only, not to mse",
        error(() -> Loss.mse("y").classWeights(1, 2)));
    assertEquals(
        "ignoreIndex applies to cross-entropy only, not to binary_cross_entropy",
        error(() -> Loss.binaryCrossEntropy("y").ignoreIndex(0)));
    assertEquals("delta applies to huber only, not to mae", error(() -> Loss.mae("y").delta(2)));
  }

  @Test
  void defaultsArePyTorchs() {
    Optimizer sgd = Optimizer.sgd(0.1);
    assertEquals(0, sgd.momentum());
    assertEquals(0, sgd.dampening());
    assertFalse(sgd.isNesterov());
    assertEquals(0, sgd.weightDecay());
    Optimizer adam = Optimizer.adam(1e-3);
    assertEquals(0.9, adam.beta1());
    assertEquals(0.999, adam.beta2());
    assertEquals(1e-8, adam.eps());
    assertEquals(0, adam.weightDecay());
    assertEquals(0.01, Optimizer.adamW(1e-3).weightDecay());
    Optimizer rms = Optimizer.rmsprop(1e-2);
    assertEquals(0.99, rms.alpha());
    assertEquals(1e-8, rms.eps());
    assertEquals(0, rms.momentum());
    assertFalse(rms.isCentered());
    assertEquals(Schedule.constant(), rms.schedule());
    assertFalse(rms.clipsNorm());
    assertFalse(rms.clipsValue());
    Loss ce = Loss.crossEntropy("logits");
    assertEquals(Loss.Reduction.MEAN, ce.reduction());
    assertEquals(Optional.empty(), ce.lengthsInput());
    assertEquals(OptionalInt.empty(), ce.ignoreIndex());
    assertTrue(ce.classWeights().isEmpty());
    assertFalse(ce.isBatchFirst());
  }

  @Test
  void settersReturnCopies() {
    Optimizer a = Optimizer.sgd(0.1);
    Optimizer b = a.momentum(0.9).nesterov(true).clipNorm(1).clipValue(0.5).learningRate(0.2);
    assertEquals(0, a.momentum());
    assertEquals(0.9, b.momentum());
    assertTrue(b.isNesterov());
    assertEquals(1, b.clipNorm());
    assertEquals(0.5, b.clipValue());
    assertEquals(0.2, b.learningRate());
    assertEquals(b, Optimizer.sgd(0.2).momentum(0.9).nesterov(true).clipNorm(1).clipValue(0.5));
    assertEquals(
        b.hashCode(),
        Optimizer.sgd(0.2).momentum(0.9).nesterov(true).clipNorm(1).clipValue(0.5).hashCode());
    assertNotEquals(a, b);

    float[] w = {1, 2, 3};
    Loss l =
        Loss.crossEntropy("y")
            .classWeights(w)
            .ignoreIndex(-1)
            .lengths("len")
            .batchFirst(true)
            .sum();
    w[0] = 9;
    assertArrayEquals(new float[] {1, 2, 3}, l.classWeights().orElseThrow());
    l.classWeights().orElseThrow()[0] = 7;
    assertArrayEquals(new float[] {1, 2, 3}, l.classWeights().orElseThrow());
    assertEquals(OptionalInt.of(-1), l.ignoreIndex());
    assertEquals(Optional.of("len"), l.lengthsInput());
    assertTrue(l.isBatchFirst());
    assertEquals(Loss.Reduction.SUM, l.reduction());
    assertEquals(Loss.Reduction.MEAN, l.mean().reduction());
    assertEquals("y", l.output());
    assertEquals(
        l,
        Loss.crossEntropy("y")
            .classWeights(1, 2, 3)
            .ignoreIndex(-1)
            .lengths("len")
            .batchFirst(true)
            .sum());
    assertEquals(
        "Loss.cross_entropy(y, classWeights=[1.0, 2.0, 3.0], ignoreIndex=-1, lengths=len, batchFirst, sum)",
        l.toString());
    assertEquals(
        "Optimizer.sgd(lr=0.2, momentum=0.9, nesterov, clipNorm=1.0, clipValue=0.5)", b.toString());
  }
}
