package dev.jrnn.testing;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.io.Json;
import dev.jrnn.io.SafeTensors;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One golden fixture written by {@code engine/core/src/test/python/make_fixtures.py}: a recurrent
 * layer's configuration, inputs, canonical weights and the expected outputs from PyTorch or the
 * NumPy ONNX equations.
 */
public final class Fixture implements AutoCloseable {

  private static final String DIR = "/fixtures/recurrent/";
  private static final String GRADIENTS = "/fixtures/gradients/";

  public final String name;
  public final Map<String, Object> config;
  private final SafeTensors.Contents contents;

  private Fixture(String name, Map<String, Object> config, SafeTensors.Contents contents) {
    this.name = name;
    this.config = config;
    this.contents = contents;
  }

  /** Names of every fixture, from the index the script writes. */
  public static List<String> names() {
    return index(DIR);
  }

  /** Names of every gradient fixture (with upstream and expected gradients). */
  public static List<String> gradientNames() {
    return index(GRADIENTS);
  }

  /** The names listed in {@code <dir>index.txt} on the test class path. */
  public static List<String> index(String dir) {
    String index = new String(resource(dir + "index.txt"), StandardCharsets.UTF_8);
    List<String> names = new ArrayList<>();
    for (String line : index.split("\n")) {
      if (!line.isBlank()) {
        names.add(line.strip());
      }
    }
    return names;
  }

  public static Fixture load(String name) {
    return load(DIR, name);
  }

  /** A gradient fixture. */
  public static Fixture loadGradients(String name) {
    return load(GRADIENTS, name);
  }

  private static Fixture load(String dir, String name) {
    byte[] bytes = resource(dir + name + ".safetensors");
    SafeTensors.Contents c = SafeTensors.read(MemorySegment.ofArray(bytes), name);
    return new Fixture(name, Json.parseObject(c.metadata().get("config")), c);
  }

  /** A test resource's bytes; throws naming it when it is missing. */
  public static byte[] resource(String path) {
    try (InputStream in = Fixture.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + path);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public boolean has(String tensor) {
    return contents.tensors().containsKey(tensor);
  }

  public Tensor tensor(String name) {
    return contents.tensors().get(name);
  }

  private String str(String key) {
    return (String) config.get(key);
  }

  private int integer(String key) {
    return ((Number) config.get(key)).intValue();
  }

  private boolean flag(String key) {
    return Boolean.TRUE.equals(config.get(key));
  }

  /** Features per input step. */
  public int inputSize() {
    return integer("input");
  }

  /** Time steps of the input {@code x}. */
  public int steps() {
    return tensor("x").dim(spec().isBatchFirst() ? 1 : 0);
  }

  /** The layer's spec, named {@code rnn} so the weight names match. */
  @SuppressWarnings("unchecked")
  public Recurrent spec() {
    int h = integer("hidden");
    Recurrent s =
        switch (str("cell")) {
          case "rnn" -> Recurrent.rnn(h);
          case "gru" ->
              Recurrent.gru(h).linearBeforeReset(!config.containsKey("lbr") || flag("lbr"));
          default -> Recurrent.lstm(h);
        };
    s = s.name("rnn").layers(integer("layers")).batchFirst(flag("batch_first"));
    switch (str("direction")) {
      case "bidirectional" ->
          s =
              s.bidirectional(
                  "sum".equals(config.get("merge")) ? Recurrent.Merge.SUM : Recurrent.Merge.CONCAT);
      case "reverse" -> s = s.reverse();
      default -> {}
    }
    if (config.get("projection") instanceof Number p && p.intValue() > 0) {
      s = s.projection(p.intValue());
    }
    if (flag("peepholes")) {
      s = s.peepholes();
    }
    if (flag("coupled")) {
      s = s.coupledInputForget();
    }
    if (config.get("clip") instanceof Number c) {
      s = s.clip(c.floatValue());
    }
    if (config.get("activations") instanceof List<?> acts) {
      List<Activation> list = new ArrayList<>();
      for (Object o : acts) {
        List<Object> a = (List<Object>) o;
        list.add(
            Activation.of(
                Activation.kindByName((String) a.get(0)),
                ((Number) a.get(1)).floatValue(),
                ((Number) a.get(2)).floatValue()));
      }
      s = s.activations(list);
    }
    return s;
  }

  /** x (and lengths, h0, c0 when the fixture has them) in; y, hN (and cN) out. */
  public Graph graph() {
    Recurrent spec = spec();
    int in = integer("input");
    int ld = spec.layers() * spec.directions();
    return Graph.build(
        b -> {
          Dim t = Dim.dyn("T");
          Dim n = Dim.dyn("N");
          Value x =
              spec.isBatchFirst()
                  ? b.input("x", DType.F32, n, t, Dim.of(in))
                  : b.input("x", DType.F32, t, n, Dim.of(in));
          Value len = has("lengths") ? b.input("lengths", DType.I32, n) : null;
          Value h0 =
              has("h0")
                  ? b.input("h0", DType.F32, Dim.of(ld), n, Dim.of(spec.outputHidden()))
                  : null;
          Value c0 =
              has("c0") ? b.input("c0", DType.F32, Dim.of(ld), n, Dim.of(spec.hidden())) : null;
          Value y = b.recurrent(x, spec, len, h0, c0);
          b.output("y", y);
          b.output("hN", y.finalH());
          if (spec.cell() == Recurrent.Cell.LSTM) {
            b.output("cN", y.finalC());
          }
        });
  }

  /** The weights as views owned by this fixture, by canonical name. */
  public Map<String, Tensor> weightViews() {
    Map<String, Tensor> m = new LinkedHashMap<>();
    contents
        .tensors()
        .forEach(
            (k, v) -> {
              if (k.startsWith("rnn.")) {
                m.put(k, v);
              }
            });
    return m;
  }

  /** Copies of the canonical weights. */
  public Weights weights() {
    Weights w = Weights.empty();
    contents
        .tensors()
        .forEach(
            (k, v) -> {
              if (k.startsWith("rnn.")) {
                w.put(k, v.copy());
              }
            });
    return w;
  }

  /** The inputs, as views owned by this fixture. */
  public Map<String, Tensor> inputs() {
    Map<String, Tensor> m = new LinkedHashMap<>();
    for (String k : List.of("x", "lengths", "h0", "c0")) {
      if (has(k)) {
        m.put(k, tensor(k));
      }
    }
    return m;
  }

  /** Expected outputs by graph output name. */
  public Map<String, Tensor> expected() {
    Map<String, Tensor> m = new LinkedHashMap<>();
    for (String k : List.of("y", "hN", "cN")) {
      if (has(k)) {
        m.put(k, tensor(k));
      }
    }
    return m;
  }

  @Override
  public void close() {
    contents.close();
  }

  @Override
  public String toString() {
    return name;
  }

  /** Largest absolute element difference; throws if the shapes differ. */
  /** The entries of {@code m} whose names start with {@code prefix}, the prefix removed. */
  public static Map<String, Tensor> prefixed(Map<String, Tensor> m, String prefix) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    m.forEach(
        (k, v) -> {
          if (k.startsWith(prefix)) {
            out.put(k.substring(prefix.length()), v);
          }
        });
    return out;
  }

  public static double maxAbsDiff(Tensor expected, Tensor actual) {
    if (!java.util.Arrays.equals(expected.shape(), actual.shape())) {
      throw new AssertionError(
          "shape "
              + java.util.Arrays.toString(actual.shape())
              + ", expected "
              + java.util.Arrays.toString(expected.shape()));
    }
    if (expected.dtype() != DType.F32 || actual.dtype() != DType.F32) {
      throw new AssertionError("expected F32 tensors");
    }
    float[] e = expected.toFloatArray();
    float[] a = actual.toFloatArray();
    double worst = 0;
    for (int i = 0; i < e.length; i++) {
      double d = Math.abs((double) e[i] - a[i]);
      if (Double.isNaN(d)) {
        return Double.POSITIVE_INFINITY;
      }
      worst = Math.max(worst, d);
    }
    return worst;
  }
}
