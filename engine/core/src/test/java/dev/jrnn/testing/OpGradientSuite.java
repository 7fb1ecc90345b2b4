package dev.jrnn.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.exec.TrainingProgram;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Gradients of every graph op through the training executor on one backend, against central
 * differences of {@code L = Σ r·y} (random r) over every F32 input and weight element. The forward
 * runs in f32, so ε = 1e-2 and the bound is 5e-4 of max(1, |numeric|). Subclass per backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class OpGradientSuite {

  private static final double EPS = 1e-2;
  private static final double TOL = 5e-4;

  /** The backend under test. */
  protected abstract Options options();

  /** A graph and its inputs (ids and lengths fixed, F32 inputs perturbed). */
  record Case(String name, Graph graph, Map<String, Tensor> inputs) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> cases() {
    List<Case> c = new ArrayList<>();
    Dim n = Dim.dyn("N");
    Dim t = Dim.dyn("T");
    c.add(
        new Case(
            "embedding, linear, tanh",
            Graph.build(
                b -> {
                  Value ids = b.input("ids", DType.I32, t, n);
                  b.output("y", b.tanh(b.linear(b.embedding(ids, 5, 3), 2)));
                }),
            Map.of("ids", Tensor.of(new int[] {0, 4, 2, 2, 1, 0}, 3, 2))));
    for (Activation.Kind k : Activation.Kind.values()) {
      Activation fn = Activation.of(k);
      c.add(
          new Case(
              "activation " + fn,
              Graph.build(
                  b -> b.output("y", b.activation(b.input("x", DType.F32, n, Dim.of(4)), fn))),
              Map.of("x", awayFromKinks(random(k.ordinal(), 1.5, 3, 4)))));
    }
    for (boolean log : new boolean[] {false, true}) {
      c.add(
          new Case(
              log ? "logSoftmax of linear" : "softmax of linear",
              Graph.build(
                  b -> {
                    Value h = b.linear(b.input("x", DType.F32, n, Dim.of(3)), 5);
                    b.output("y", log ? b.logSoftmax(h) : b.softmax(h));
                  }),
              Map.of("x", random(7, 1, 2, 3))));
    }
    c.add(
        new Case(
            "add, sub, mul, div broadcasting",
            Graph.build(
                b -> {
                  Value a = b.input("a", DType.F32, Dim.of(2), Dim.of(3), Dim.of(4));
                  Value d = b.input("d", DType.F32, Dim.of(3), Dim.of(1));
                  Value e = b.input("e", DType.F32, Dim.of(4));
                  Value s = b.mul(b.add(a, d), b.sub(e, a));
                  b.output("y", b.div(s, b.add(b.mul(d, d), b.constant("one", scalar(1f)))));
                }),
            Map.of("a", random(1, 1, 2, 3, 4), "d", random(2, 1, 3, 1), "e", random(3, 1, 4))));
    c.add(
        new Case(
            "concat of two inputs, then linear; x read twice",
            Graph.build(
                b -> {
                  Value x = b.input("x", DType.F32, n, Dim.of(2));
                  Value z = b.input("z", DType.F32, n, Dim.of(3));
                  b.output("y", b.linear(b.concat(1, x, z, x), 2));
                }),
            Map.of("x", random(4, 1, 3, 2), "z", random(5, 1, 3, 3))));
    for (boolean bf : new boolean[] {false, true}) {
      c.add(
          new Case(
              "lastStep with lengths after an LSTM" + (bf ? ", batch-first" : ""),
              Graph.build(
                  b -> {
                    Value x =
                        bf
                            ? b.input("x", DType.F32, n, t, Dim.of(2))
                            : b.input("x", DType.F32, t, n, Dim.of(2));
                    Value len = b.input("len", DType.I32, n);
                    Value y = b.recurrent(x, Recurrent.lstm(3).batchFirst(bf), len, null, null);
                    b.output("y", b.lastStep(y, len, bf));
                  }),
              Map.of(
                  "x",
                  bf ? random(6, 1, 3, 4, 2) : random(6, 1, 4, 3, 2),
                  "len",
                  Tensor.of(new int[] {4, 1, 3}, 3))));
    }
    c.add(
        new Case(
            "dropout 0.5 between linears",
            Graph.build(
                b -> {
                  Value x = b.input("x", DType.F32, n, Dim.of(6));
                  b.output("y", b.linear(b.dropout(b.tanh(b.linear(x, 8)), 0.5), 2));
                }),
            Map.of("x", random(12, 1, 3, 6))));
    c.add(dataOps());
    return c.stream().map(Arguments::of);
  }

  /** Transpose, Reshape, Slice, Gather, Squeeze, Unsqueeze, Expand, Flatten, MatMul, Identity. */
  private static Case dataOps() {
    IrGraph.Builder b = IrGraph.builder();
    IrValue x = b.input("x", DType.F32, Dim.of(2), Dim.of(3), Dim.of(4));
    IrValue tr = b.node("tr", new DataOp.Transpose(new int[] {2, 0, 1}), x)[0]; // [4, 2, 3]
    IrValue rs =
        b.node("rs", new DataOp.Reshape(false), tr, b.constant("s1", ints(8, 3)))[0]; // [8, 3]
    IrValue sl =
        b.node(
                "sl",
                new DataOp.Slice(),
                rs,
                b.constant("st", ints(1, 0)),
                b.constant("en", ints(7, 3)),
                b.constant("ax", ints(0, 1)),
                b.constant("sp", ints(2, 2)))[0]; // [3, 2]
    IrValue ga =
        b.node("ga", new DataOp.Gather(0), sl, b.constant("ix", ints(2, 0, 2, 1)))[0]; // [4, 2]
    IrValue un = b.node("un", new DataOp.Unsqueeze(new int[] {0}), ga)[0]; // [1, 4, 2]
    IrValue ex = b.node("ex", new DataOp.Expand(), un, b.constant("es", ints(3, 4, 2)))[0];
    IrValue sq = b.node("sq", new DataOp.Squeeze(new int[] {}), ex)[0]; // [3, 4, 2]
    IrValue fl = b.node("fl", new DataOp.Flatten(1), sq)[0]; // [3, 8]
    IrValue id = b.node("id", new DataOp.Identity(), fl)[0];
    IrValue w = b.input("w", DType.F32, Dim.of(8), Dim.of(2));
    IrValue mm = b.node("mm", new DataOp.MatMul(), id, w)[0]; // [3, 2]
    b.output("y", mm);
    b.output("z", b.mul(fl, fl));
    return new Case(
        "data-movement ops and MatMul",
        b.build(),
        Map.of("x", random(8, 1, 2, 3, 4), "w", random(9, 1, 8, 2)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void gradientsMatchCentralDifferences(Case c) {
    Random rnd = new Random(c.name().hashCode());
    try (Weights w = Weights.random(c.graph(), 11);
        TrainingProgram p = TrainingProgram.open(c.graph(), w, options())) {
      p.placement()
          .forEach(
              (node, backend) ->
                  assertTrue(
                      backend.equals(options().backendName()),
                      c + ": node " + node + " trains on " + backend));
      Map<String, Tensor> out = p.forward(c.inputs());
      Map<String, Tensor> upstream = new LinkedHashMap<>();
      out.forEach((k, v) -> upstream.put(k, random(rnd.nextInt(), 1, v.shape())));
      Map<String, float[]> analytic = new LinkedHashMap<>();
      try (TrainingProgram.Gradients g = p.backward(upstream)) {
        g.weights().forEach((k, v) -> analytic.put("w:" + k, v.toFloatArray()));
        g.inputs().forEach((k, v) -> analytic.put("in:" + k, v.toFloatArray()));
      }
      double worst = 0;
      int checked = 0;
      for (Map.Entry<String, float[]> e : analytic.entrySet()) {
        String key = e.getKey();
        boolean weight = key.startsWith("w:");
        String name = key.substring(weight ? 2 : 3);
        Tensor target = weight ? w.get(name) : c.inputs().get(name);
        for (int i = 0; i < e.getValue().length; i++) {
          float orig = target.getFloat(i);
          double[] l = new double[2];
          for (int s = 0; s < 2; s++) {
            target.setFloat(i, (float) (orig + (s == 0 ? EPS : -EPS)));
            if (weight) {
              p.updateWeights(w);
            }
            l[s] = loss(p.forward(c.inputs()), upstream);
          }
          target.setFloat(i, orig);
          if (weight) {
            p.updateWeights(w);
          }
          double numeric = (l[0] - l[1]) / (2 * EPS);
          double got = e.getValue()[i];
          double err = Math.abs(got - numeric) / Math.max(1, Math.abs(numeric));
          worst = Math.max(worst, err);
          checked++;
          assertTrue(
              err < TOL, c + ": d/d " + key + "[" + i + "] = " + got + ", numeric " + numeric);
        }
      }
      assertTrue(checked > 0, c + ": no gradient checked");
      System.out.printf(
          "%-9s %-48s %4d elements, largest difference %.1e%n",
          options().backendName(), c, checked, worst);
    }
  }

  private static double loss(Map<String, Tensor> out, Map<String, Tensor> upstream) {
    double s = 0;
    for (Map.Entry<String, Tensor> e : upstream.entrySet()) {
      float[] y = out.get(e.getKey()).toFloatArray();
      float[] r = e.getValue().toFloatArray();
      for (int i = 0; i < y.length; i++) {
        s += (double) y[i] * r[i];
      }
    }
    return s;
  }

  static Tensor random(long seed, double scale, int... shape) {
    Random r = new Random(seed);
    float[] v = new float[Math.toIntExact(Tensor.elementCount(shape))];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
    }
    return Tensor.of(v, shape);
  }

  /** Moves values at least 0.05 away from 0 and 1, where activations have kinks. */
  private static Tensor awayFromKinks(Tensor t) {
    for (int i = 0; i < t.size(); i++) {
      float v = t.getFloat(i);
      v = v < 0 ? v - 0.05f : v + 0.05f;
      t.setFloat(i, Math.abs(v - 1) < 0.05f ? v + 0.1f : v);
    }
    return t;
  }

  private static Tensor scalar(float v) {
    return Tensor.of(new float[] {v});
  }

  private static Tensor ints(int... v) {
    return Tensor.of(v, v.length);
  }
}
