package dev.jrnn.flink;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;

/**
 * The tests' model, events and expected outputs. The model is small (a 2-layer LSTM of H 16 over 8
 * features) so a 100,000-event job takes seconds; its outputs cover the three layouts a row is read
 * from: {@code y [T, N, 3]}, {@code h [L, N, 16]} (the batch axis in the middle, two runs per row)
 * and {@code last [N, 3]}.
 */
final class Fixtures {

  static final int FEATURES = 8;

  /** Floats per output record: y (3), h (2 layers × 16), last (3). */
  static final int OUT = 3 + 2 * 16 + 3;

  /** An event: key, its index among the key's events, its features. */
  static final TypeInformation<Tuple3<Integer, Integer, float[]>> EVENT =
      Types.TUPLE(Types.INT, Types.INT, Types.PRIMITIVE_ARRAY(Types.FLOAT));

  /** An output: key, event index, {@link #OUT} floats. */
  static final TypeInformation<Tuple3<Integer, Integer, float[]>> OUTPUT = EVENT;

  private Fixtures() {}

  static Graph graph() {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(FEATURES));
          Value seq = b.recurrent(x, Recurrent.lstm(16).layers(2).name("lstm"));
          Value y = b.linear(seq, 3);
          b.output("y", y);
          b.output("h", seq.finalH());
          b.output("last", b.lastStep(y));
        });
  }

  /** Writes the model (random weights, seed 7) as a jrnn model file. */
  static Path writeModel(Path dir) {
    Path file = dir.resolve("lstm16.jrnn");
    Graph g = graph();
    try (Model m = new Model(g, Weights.random(g, 7), "jrnn model")) {
      m.save(file);
    }
    return file;
  }

  /** Event {@code t} of key {@code key}: a deterministic function of both. */
  static float[] features(int key, int t) {
    SplittableRandom r = new SplittableRandom(key * 1_000_003L + t);
    float[] f = new float[FEATURES];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return f;
  }

  static Tuple3<Integer, Integer, float[]> event(int key, int t) {
    return Tuple3.of(key, t, features(key, t));
  }

  /** One output record's floats: y, h, last. */
  static float[] flatten(Map<String, float[]> out) {
    float[] v = new float[OUT];
    System.arraycopy(out.get("y"), 0, v, 0, 3);
    System.arraycopy(out.get("h"), 0, v, 3, 32);
    System.arraycopy(out.get("last"), 0, v, 35, 3);
    return v;
  }

  /** The spec every test runs: the java backend, one thread, the state TTL if given. */
  static RecurrentSpec<
          Integer, Tuple3<Integer, Integer, float[]>, Tuple3<Integer, Integer, float[]>>
      spec(Path model, Duration ttl) {
    var b =
        RecurrentSpec
            .<Integer, Tuple3<Integer, Integer, float[]>, Tuple3<Integer, Integer, float[]>>
                builder()
            .model(model)
            .input("x", e -> e.f2)
            .output((key, e, out) -> Tuple3.of(key, e.f1, flatten(out)))
            .backend("java")
            .threads(1);
    if (ttl != null) {
      b.stateTtl(ttl);
    }
    return b.build();
  }

  /**
   * The oracle: key {@code key}'s events {@code from} to {@code to − 1} run through one state of a
   * plain session, one step per event, from the zero state. {@code [t − from][OUT]}.
   */
  static float[][] sequential(Session s, int key, int from, int to) {
    float[][] out = new float[to - from][];
    try (State st = s.newState()) {
      for (int t = from; t < to; t++) {
        try (Tensor x = Tensor.of(features(key, t), 1, 1, FEATURES);
            Result r = s.step(st, Map.of("x", x))) {
          out[t - from] =
              flatten(
                  Map.of(
                      "y", r.get("y").toFloatArray(),
                      "h", r.get("h").toFloatArray(),
                      "last", r.get("last").toFloatArray()));
        }
      }
    }
    return out;
  }

  static Session session(Path model) {
    return Session.open(model, Options.backend("java").threads(1));
  }
}
