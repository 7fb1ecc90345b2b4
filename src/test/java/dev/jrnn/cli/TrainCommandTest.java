package dev.jrnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.io.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jrnn train} end to end on a toy sequence classifier. */
class TrainCommandTest {

  @TempDir Path tmp;

  /** x [T=6, N=64, 2] → LSTM → last step → linear: class 1 where the first feature sums > 0. */
  private Path[] write() throws Exception {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(2));
              b.output("logits", b.linear(b.lastStep(b.recurrent(x, Recurrent.gru(8))), 2));
            });
    Path model = tmp.resolve("m.jrnn");
    try (Weights w = Weights.random(g, 1)) {
      new Model(g, w, "jrnn model").save(model);
    }
    Random r = new Random(5);
    int steps = 6;
    int rows = 64;
    float[] x = new float[steps * rows * 2];
    int[] y = new int[rows];
    for (int n = 0; n < rows; n++) {
      double s = 0;
      for (int t = 0; t < steps; t++) {
        float v = (float) r.nextGaussian();
        x[(t * rows + n) * 2] = v;
        x[(t * rows + n) * 2 + 1] = (float) r.nextGaussian();
        s += v;
      }
      y[n] = s > 0 ? 1 : 0;
    }
    Path xf = tmp.resolve("x.npy");
    Path yf = tmp.resolve("y.npy");
    try (Tensor xt = Tensor.of(x, steps, rows, 2);
        Tensor yt = Tensor.of(y, rows)) {
      Npy.write(xf, xt);
      Npy.write(yf, yt);
    }
    return new Path[] {model, xf, yf};
  }

  private static double[] epochLosses(String out) {
    Matcher m = Pattern.compile("epoch \\d+/\\d+  loss ([0-9.]+)").matcher(out);
    return m.results().mapToDouble(x -> Double.parseDouble(x.group(1))).toArray();
  }

  @Test
  void trainsAndWritesALoadableModel() throws Exception {
    Path[] f = write();
    Path trained = tmp.resolve("trained.jrnn");
    CommandsTest.Run r = trainCe(f, trained);
    assertEquals(0, r.status(), r.err());
    double[] losses = epochLosses(r.out());
    assertEquals(6, losses.length, r.out());
    assertTrue(losses[5] < 0.6 * losses[0], r.out());
    assertTrue(Files.exists(trained));
    try (Model m = Model.load(trained)) {
      assertTrue(m.weights().contains("gru.l0.fwd.R"));
    }
    CommandsTest.Run again = trainCe(f, tmp.resolve("t2.jrnn"));
    assertEquals(
        r.out().replace("trained.jrnn", "t2.jrnn").lines().map(TrainCommandTest::noTime).toList(),
        again.out().lines().map(TrainCommandTest::noTime).toList());
  }

  /** Six epochs of Adam on the toy task, seed 3, on reference. */
  private static CommandsTest.Run trainCe(Path[] f, Path out) {
    return CommandsTest.jrnn(
        "train",
        f[0],
        "--input",
        "x=" + f[1],
        "--target",
        f[2],
        "--loss",
        "ce",
        "--optimizer",
        "adam",
        "--lr",
        "0.03",
        "--batch",
        "16",
        "--epochs",
        "6",
        "--seed",
        "3",
        "--backend",
        "reference",
        "--output",
        out);
  }

  private static String noTime(String line) {
    return line.replaceAll("[0-9.]+ s$", "");
  }

  @Test
  void badArgumentsAreClearErrors() throws Exception {
    Path[] f = write();
    CommandsTest.Run unknown =
        CommandsTest.jrnn(
            "train",
            f[0],
            "--input",
            "x=" + f[1],
            "--target",
            f[2],
            "--loss",
            "hinge",
            "--output",
            tmp.resolve("o.jrnn"));
    assertEquals(1, unknown.status());
    assertTrue(unknown.err().contains("hinge") && unknown.err().contains("ce"), unknown.err());
    CommandsTest.Run opt =
        CommandsTest.jrnn(
            "train",
            f[0],
            "--input",
            "x=" + f[1],
            "--target",
            f[2],
            "--loss",
            "ce",
            "--optimizer",
            "lion",
            "--output",
            tmp.resolve("o.jrnn"));
    assertEquals(1, opt.status());
    assertTrue(opt.err().contains("lion"), opt.err());
    Path short_ = tmp.resolve("short.npy");
    try (Tensor t = Tensor.of(new int[] {0, 1, 1}, 3)) {
      Npy.write(short_, t);
    }
    CommandsTest.Run rows =
        CommandsTest.jrnn(
            "train",
            f[0],
            "--input",
            "x=" + f[1],
            "--target",
            short_,
            "--loss",
            "ce",
            "--output",
            tmp.resolve("o.jrnn"));
    assertEquals(1, rows.status());
    assertTrue(rows.err().contains("64 rows") && rows.err().contains("3"), rows.err());
    CommandsTest.Run missing = CommandsTest.jrnn("train", f[0], "--input", "x=" + f[1]);
    assertEquals(2, missing.status());
  }

  @Test
  void startsFromFreshKerasWeightsWhenAsked() throws Exception {
    Path[] f = write();
    Path trained = tmp.resolve("k.jrnn");
    CommandsTest.Run r =
        CommandsTest.jrnn(
            "train",
            f[0],
            "--input",
            "x=" + f[1],
            "--target",
            f[2],
            "--loss",
            "ce",
            "--init",
            "keras",
            "--epochs",
            "1",
            "--no-shuffle",
            "--output",
            trained);
    assertEquals(0, r.status(), r.err());
    try (Model m = Model.load(trained)) {
      assertTrue(m.weights().contains("gru.l0.fwd.R"));
    }
    CommandsTest.Run bad =
        CommandsTest.jrnn(
            "train",
            f[0],
            "--input",
            "x=" + f[1],
            "--target",
            f[2],
            "--loss",
            "ce",
            "--init",
            "he",
            "--output",
            trained);
    assertEquals(1, bad.status());
    assertTrue(bad.err().contains("'he'"), bad.err());
  }
}
