package dev.jrnn.backend.java;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The java backend's results do not depend on how the JIT compiled it, nor on the thread count: the
 * same input gives the same bits from the first call on (a fresh JVM, interpreted, then C1, then
 * C2), in an interpreter-only JVM, and with 1, 2 or 3 threads.
 */
class DeterminismTest {

  /** Every cell, both GRU variants, a projection, the element-wise and softmax kernels. */
  static Graph model() {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(40));
          Value a = b.recurrent(x, Recurrent.lstm(70).projection(33).name("lstm"));
          Value c = b.recurrent(b.tanh(a), Recurrent.gru(37).name("gru"));
          Value d = b.recurrent(c, Recurrent.gru(20).linearBeforeReset(false).name("gru2"));
          Value e = b.recurrent(b.sigmoid(d), Recurrent.rnn(45).relu().name("rnn"));
          b.output("y", b.logSoftmax(b.linear("head", e, 11, true)));
          b.output("h", a.finalH());
        });
  }

  static Tensor input() {
    Tensor t = Tensor.allocate(DType.F32, 9, 3, 40);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) Math.sin(i * 0.731) * 2.5f);
    }
    return t;
  }

  /** A hash of the exact bits of every output. */
  static String bits(Result r) {
    long h = 1125899906842597L;
    for (String name : r.names()) {
      for (float v : r.get(name).toFloatArray()) {
        h = 31 * h + Float.floatToRawIntBits(v);
      }
    }
    return Long.toHexString(h);
  }

  /** The bits of {@code calls} consecutive runs on one fresh session. */
  static List<String> run(int calls, int threads) {
    Graph g = model();
    List<String> out = new ArrayList<>();
    try (Weights w = Weights.random(g, 11);
        Session s = Session.open(g, w, Options.backend("java").threads(threads));
        Tensor x = input()) {
      for (int i = 0; i < calls; i++) {
        try (Result r = s.run(Map.of("x", x))) {
          out.add(bits(r));
        }
      }
    }
    return out;
  }

  /** Child JVM entry: prints the bits of {@code args[0]} runs with {@code args[1]} threads. */
  public static void main(String[] args) {
    for (String b : run(Integer.parseInt(args[0]), Integer.parseInt(args[1]))) {
      System.out.println("bits " + b);
    }
  }

  private static List<String> child(int calls, String... jvmFlags) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElseThrow());
    cmd.add("--add-modules=jdk.incubator.vector");
    cmd.add("--enable-native-access=ALL-UNNAMED");
    String bits = System.getProperty("jrnn.vectorBits");
    if (bits != null) {
      cmd.add("-Djrnn.vectorBits=" + bits);
    }
    cmd.addAll(List.of(jvmFlags));
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            DeterminismTest.class.getName(),
            Integer.toString(calls),
            "2"));
    java.io.File log = java.io.File.createTempFile("determinism", ".log");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
      boolean ended = p.waitFor(120, TimeUnit.SECONDS);
      if (!ended) {
        p.destroyForcibly();
      }
      String text = java.nio.file.Files.readString(log.toPath(), StandardCharsets.UTF_8);
      if (!ended || p.exitValue() != 0) {
        throw new IOException("child JVM " + (ended ? "failed" : "timed out") + ": " + text);
      }
      return bitsLines(text);
    } finally {
      log.delete();
    }
  }

  private static List<String> bitsLines(String text) {
    List<String> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.startsWith("bits ")) {
        out.add(line.substring(5).strip());
      }
    }
    return out;
  }

  @Test
  void sameBitsFromTheFirstCallOfAFreshJvm() throws Exception {
    List<String> calls = child(60);
    assertEquals(60, calls.size());
    for (int i = 1; i < calls.size(); i++) {
      assertEquals(calls.get(0), calls.get(i), "call " + (i + 1) + " of a fresh JVM");
    }
  }

  @Test
  void interpreterGivesTheBitsCompiledCodeGives() throws Exception {
    List<String> warm = run(300, 2); // compiled by now
    List<String> interpreted = child(1, "-Xint");
    assertEquals(warm.get(warm.size() - 1), interpreted.get(0), "-Xint vs C2");
  }

  @Test
  void threadCountDoesNotChangeTheBits() {
    String one = run(3, 1).get(2);
    assertEquals(one, run(3, 2).get(2), "2 threads vs 1");
    assertEquals(one, run(3, 3).get(2), "3 threads vs 1");
  }
}
