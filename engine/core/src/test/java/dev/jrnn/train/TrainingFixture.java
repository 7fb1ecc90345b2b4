package dev.jrnn.train;

import dev.jrnn.DType;
import dev.jrnn.Loss;
import dev.jrnn.Optimizer;
import dev.jrnn.Schedule;
import dev.jrnn.Tensor;
import dev.jrnn.io.Json;
import dev.jrnn.io.SafeTensors;
import dev.jrnn.testing.Fixture;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One fixture written by {@code engine/core/src/test/python/make_training_fixtures.py}: tensors and
 * the JSON config in the safetensors metadata, read with the recurrent fixtures' reader; and the
 * specs the configs describe.
 */
final class TrainingFixture implements AutoCloseable {

  static final String DIR = "/fixtures/training/";

  final String name;
  final Map<String, Object> config;
  private final SafeTensors.Contents contents;

  private TrainingFixture(String name, Map<String, Object> config, SafeTensors.Contents c) {
    this.name = name;
    this.config = config;
    this.contents = c;
  }

  /** The fixture names of a group ({@code losses}, {@code optimizers}). */
  static List<String> names(String group) {
    return Fixture.index(DIR + group + "/");
  }

  static TrainingFixture load(String group, String name) {
    byte[] bytes = Fixture.resource(DIR + group + "/" + name + ".safetensors");
    SafeTensors.Contents c = SafeTensors.read(MemorySegment.ofArray(bytes), name);
    return new TrainingFixture(name, Json.parseObject(c.metadata().get("config")), c);
  }

  boolean has(String tensor) {
    return contents.tensors().containsKey(tensor);
  }

  /** A view owned by this fixture. */
  Tensor tensor(String tensor) {
    Tensor t = contents.tensors().get(tensor);
    if (t == null) {
      throw new IllegalStateException(name + " has no tensor " + tensor);
    }
    return t;
  }

  /** Copies of the tensors named {@code prefix + <name>}, by name. */
  Map<String, Tensor> copies(String prefix) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    Fixture.prefixed(contents.tensors(), prefix).forEach((k, v) -> out.put(k, v.copy()));
    return out;
  }

  double number(String key) {
    return ((Number) config.get(key)).doubleValue();
  }

  boolean flag(String key) {
    return Boolean.TRUE.equals(config.get(key));
  }

  /** The loss the config describes, of output {@code y} with lengths input {@code lengths}. */
  Loss loss() {
    Loss l = Loss.byName((String) config.get("loss"), "y");
    if (config.containsKey("delta")) {
      l = l.delta(number("delta"));
    }
    if (config.get("class_weights") instanceof List<?> w) {
      float[] f = new float[w.size()];
      for (int i = 0; i < f.length; i++) {
        f[i] = ((Number) w.get(i)).floatValue();
      }
      l = l.classWeights(f);
    }
    if (config.containsKey("ignore_index")) {
      l = l.ignoreIndex((int) number("ignore_index"));
    }
    if (has("lengths")) {
      l = l.lengths("lengths").batchFirst(flag("batch_first"));
    }
    return "sum".equals(config.get("reduction")) ? l.sum() : l;
  }

  /** The optimizer the config describes. */
  Optimizer optimizer() {
    Optimizer o = Optimizer.byName((String) config.get("optimizer"), number("lr"));
    if (config.containsKey("momentum")) {
      o = o.momentum(number("momentum"));
    }
    if (config.containsKey("dampening")) {
      o = o.dampening(number("dampening"));
    }
    if (flag("nesterov")) {
      o = o.nesterov(true);
    }
    if (config.containsKey("weight_decay")) {
      o = o.weightDecay(number("weight_decay"));
    }
    if (config.get("betas") instanceof List<?> b) {
      o = o.betas(((Number) b.get(0)).doubleValue(), ((Number) b.get(1)).doubleValue());
    }
    if (config.containsKey("eps")) {
      o = o.eps(number("eps"));
    }
    if (config.containsKey("alpha")) {
      o = o.alpha(number("alpha"));
    }
    if (flag("centered")) {
      o = o.centered(true);
    }
    if (config.containsKey("clip_norm")) {
      o = o.clipNorm(number("clip_norm"));
    }
    if (config.containsKey("clip_value")) {
      o = o.clipValue(number("clip_value"));
    }
    if (config.get("schedule") instanceof Map<?, ?> s) {
      o = o.schedule(schedule(s));
    }
    return o;
  }

  /** A schedule from its JSON description: kind, every, gamma, total, min, warmup. */
  static Schedule schedule(Map<?, ?> s) {
    Schedule sc =
        switch ((String) s.get("kind")) {
          case "step" ->
              Schedule.step(
                  ((Number) s.get("every")).intValue(), ((Number) s.get("gamma")).doubleValue());
          case "cosine" ->
              Schedule.cosine(
                  ((Number) s.get("total")).intValue(), ((Number) s.get("min")).doubleValue());
          default -> Schedule.constant();
        };
    return s.get("warmup") instanceof Number w ? sc.warmup(w.intValue()) : sc;
  }

  /**
   * The toy problem's gradients, in double from the float weights and rounded once, in the loop
   * order of the fixture script: R = X Wᵀ + b − Y, L = ΣR²/12 + 0.1 Σtanh(W) + Σ(tanh(v) − t)².
   */
  static void toyGradients(
      Map<String, Tensor> w, Tensor x, Tensor y, Tensor t, Map<String, Tensor> grads) {
    Tensor wt = w.get("enc.W");
    Tensor b = w.get("enc.b");
    Tensor v = w.get("head.v");
    int rows = x.dim(0);
    int outs = wt.dim(0);
    int ins = wt.dim(1);
    double[][] dw = new double[outs][ins];
    double[] db = new double[outs];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < outs; j++) {
        double r = (double) b.getFloat(j) - y.getFloat((long) i * outs + j);
        for (int k = 0; k < ins; k++) {
          r += (double) x.getFloat((long) i * ins + k) * wt.getFloat((long) j * ins + k);
        }
        db[j] += r / rows;
        for (int k = 0; k < ins; k++) {
          dw[j][k] += r * x.getFloat((long) i * ins + k) / rows;
        }
      }
    }
    Tensor gw = grads.computeIfAbsent("enc.W", k -> Tensor.allocate(DType.F32, outs, ins));
    Tensor gb = grads.computeIfAbsent("enc.b", k -> Tensor.allocate(DType.F32, outs));
    Tensor gv = grads.computeIfAbsent("head.v", k -> Tensor.allocate(DType.F32, v.dim(0)));
    for (int j = 0; j < outs; j++) {
      for (int k = 0; k < ins; k++) {
        double th = Math.tanh(wt.getFloat((long) j * ins + k));
        dw[j][k] += 0.1 * (1 - th * th);
        gw.setFloat((long) j * ins + k, (float) dw[j][k]);
      }
      gb.setFloat(j, (float) db[j]);
    }
    for (int k = 0; k < v.dim(0); k++) {
      double th = Math.tanh(v.getFloat(k));
      gv.setFloat(k, (float) (2 * (th - t.getFloat(k)) * (1 - th * th)));
    }
  }

  @Override
  public void close() {
    contents.close();
  }

  @Override
  public String toString() {
    return name;
  }
}
