package dev.jrnn.backend.reference;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.Activation.Kind;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.TensorType;
import dev.jrnn.ir.WeightSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The reference recurrent backward against central finite differences in double precision: the loss
 * {@code Σ r·y + Σ s·hN + Σ u·cN} (random r, s, u) is evaluated on the tape with one leaf (an
 * input, an initial state or a weight element) moved by ±ε, for every configuration inference
 * supports. The largest relative difference is printed.
 */
class RecurrentTapeGradientTest {

  private static final double EPS = 1e-6;
  private static final long STREAM = 42; // dropout masks, where the spec has dropout

  static Stream<Arguments> cases() {
    Activation hs = Activation.of(Kind.HARD_SIGMOID);
    Activation elu = Activation.of(Kind.ELU, 0.7f, 0);
    Activation softsign = Activation.of(Kind.SOFTSIGN);
    Activation leaky = Activation.of(Kind.LEAKY_RELU);
    Activation scaled = Activation.of(Kind.SCALED_TANH, 1.2f, 0.8f);
    Activation softplus = Activation.of(Kind.SOFTPLUS);
    Activation affine = Activation.of(Kind.AFFINE, 0.5f, 0.1f);
    int[] ragged = {3, 1, 2};
    return Stream.of(
        c("rnn tanh", Recurrent.rnn(4), 3, 3, 2, null, false),
        c("rnn relu", Recurrent.rnn(4).relu(), 3, 3, 2, null, true),
        c(
            "rnn softplus, affine per direction",
            Recurrent.rnn(3).bidirectional().activations(List.of(softplus, affine)),
            2,
            3,
            2,
            null,
            true),
        c("gru", Recurrent.gru(3), 2, 3, 2, null, true),
        c("gru reset-first", Recurrent.gru(3).linearBeforeReset(false), 2, 3, 2, null, true),
        c(
            "gru leaky, scaled tanh",
            Recurrent.gru(3).activations(List.of(leaky, scaled)),
            2,
            3,
            2,
            null,
            false),
        c("gru clip", Recurrent.gru(3).clip(0.4f), 2, 3, 2, null, false),
        c("lstm", Recurrent.lstm(3), 2, 3, 2, null, true),
        c("lstm peepholes", Recurrent.lstm(3).peepholes(), 2, 3, 2, null, true),
        c("lstm projection", Recurrent.lstm(4).projection(2), 3, 3, 2, null, true),
        c(
            "lstm peepholes projection 2 layers",
            Recurrent.lstm(3).peepholes().projection(2).layers(2),
            2,
            3,
            2,
            null,
            true),
        c("lstm coupled input-forget", Recurrent.lstm(3).coupledInputForget(), 2, 3, 2, null, true),
        c("lstm clip", Recurrent.lstm(3).clip(0.3f), 2, 3, 2, null, true),
        c(
            "lstm hard sigmoid, elu, softsign",
            Recurrent.lstm(3).activations(List.of(hs, elu, softsign)),
            2,
            3,
            2,
            null,
            true),
        c("lstm reverse", Recurrent.lstm(3).reverse(), 2, 3, 2, null, true),
        c(
            "lstm bidirectional concat ragged",
            Recurrent.lstm(3).bidirectional(),
            2,
            3,
            3,
            ragged,
            true),
        c(
            "gru bidirectional sum 2 layers ragged batch-first",
            Recurrent.gru(3).bidirectional(Recurrent.Merge.SUM).layers(2).batchFirst(),
            2,
            3,
            3,
            ragged,
            true),
        c("rnn reverse ragged", Recurrent.rnn(3).reverse(), 2, 3, 3, ragged, true),
        c(
            "lstm 2 layers, dropout between, recurrent dropout",
            Recurrent.lstm(3).layers(2).dropout(0.4).recurrentDropout(0.3),
            2,
            3,
            2,
            null,
            true),
        c(
            "gru reset-first bidirectional, recurrent dropout ragged",
            Recurrent.gru(3).linearBeforeReset(false).bidirectional().recurrentDropout(0.5),
            2,
            3,
            3,
            ragged,
            true),
        c("gru recurrent dropout", Recurrent.gru(3).recurrentDropout(0.5), 2, 3, 2, null, true));
  }

  private static Arguments c(
      String name, Recurrent spec, int in, int steps, int batch, int[] lengths, boolean states) {
    return Arguments.of(name, spec, in, steps, batch, lengths, states);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void tapeGradientsMatchCentralDifferences(
      String name, Recurrent spec, int in, int steps, int batch, int[] lengths, boolean states) {
    Random rnd = new Random(name.hashCode());
    Op.RecurrentLayer op = new Op.RecurrentLayer(spec, in);
    Map<String, Tensor> weights = new LinkedHashMap<>();
    for (WeightSpec w : op.weights("rnn", new TensorType[0])) {
      weights.put(w.name(), random(rnd, 0.6, w.shape()));
    }
    int ld = spec.layers() * spec.directions();
    Tensor[] inputs = new Tensor[4];
    inputs[Op.RecurrentLayer.X] =
        spec.isBatchFirst() ? random(rnd, 1, batch, steps, in) : random(rnd, 1, steps, batch, in);
    if (lengths != null) {
      inputs[Op.RecurrentLayer.LENGTHS] = Tensor.of(lengths, batch);
    }
    if (states) {
      inputs[Op.RecurrentLayer.H0] = random(rnd, 0.5, ld, batch, spec.outputHidden());
      if (spec.cell() == Recurrent.Cell.LSTM) {
        inputs[Op.RecurrentLayer.C0] = random(rnd, 0.5, ld, batch, spec.hidden());
      }
    }
    ReferenceRecurrent stack = new ReferenceRecurrent(op, "rnn", weights);

    Tape t = new Tape(true);
    ReferenceRecurrent.Trace tr = stack.trace(t, inputs, true, STREAM);
    double[] ry = gaussian(rnd, tr.y.length);
    double[] rh = gaussian(rnd, tr.hN.length);
    double[] rc = gaussian(rnd, tr.cN.length);
    for (int i = 0; i < tr.y.length; i++) {
      t.seed(tr.y[i], ry[i]);
    }
    for (int i = 0; i < tr.hN.length; i++) {
      t.seed(tr.hN[i], rh[i]);
    }
    for (int i = 0; i < tr.cN.length; i++) {
      t.seed(tr.cN[i], rc[i]);
    }
    t.backward();

    List<int[]> groups = new ArrayList<>(List.of(tr.x));
    if (tr.h0 != null) {
      groups.add(tr.h0);
    }
    if (tr.c0 != null) {
      groups.add(tr.c0);
    }
    groups.addAll(tr.weights.values());
    double worst = 0;
    int checked = 0;
    for (int[] ids : groups) {
      for (int id : ids) {
        double plus = loss(stack, inputs, id, EPS, ry, rh, rc);
        double minus = loss(stack, inputs, id, -EPS, ry, rh, rc);
        double numeric = (plus - minus) / (2 * EPS);
        double analytic = t.adj(id);
        double err = Math.abs(analytic - numeric) / Math.max(1e-3, Math.abs(numeric));
        worst = Math.max(worst, err);
        checked++;
        assertTrue(
            err < 1e-5, name + ": leaf " + id + " analytic " + analytic + " numeric " + numeric);
      }
    }
    System.out.printf("%s: %d leaves, largest relative difference %.2e%n", name, checked, worst);
  }

  private static double loss(
      ReferenceRecurrent stack,
      Tensor[] inputs,
      int leaf,
      double delta,
      double[] ry,
      double[] rh,
      double[] rc) {
    Tape t = new Tape(false);
    t.perturb(leaf, delta);
    ReferenceRecurrent.Trace tr = stack.trace(t, inputs, true, STREAM);
    return dot(t, tr.y, ry) + dot(t, tr.hN, rh) + dot(t, tr.cN, rc);
  }

  private static double dot(Tape t, int[] ids, double[] r) {
    double s = 0;
    for (int i = 0; i < ids.length; i++) {
      s += t.val(ids[i]) * r[i];
    }
    return s;
  }

  private static Tensor random(Random rnd, double scale, int... shape) {
    float[] v = new float[Math.toIntExact(Tensor.elementCount(shape))];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
    }
    return Tensor.of(v, shape);
  }

  private static double[] gaussian(Random rnd, int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextGaussian();
    }
    return v;
  }
}
