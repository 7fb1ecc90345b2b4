package dev.jrnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Tensor;
import dev.jrnn.io.Npy;
import dev.jrnn.io.SafeTensors;
import dev.jrnn.spi.Backends;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jrnn run}, {@code info}, {@code convert} and {@code bench MODEL} end to end. */
class CommandsTest {

  static final Path ONNX =
      Path.of("..", "engine", "onnx", "src", "test", "resources", "fixtures", "onnx");
  static final Path TORCH =
      Path.of("..", "engine", "core", "src", "test", "resources", "fixtures", "torch");

  @TempDir Path tmp;

  record Run(int status, String out, String err) {}

  static Run jrnn(Object... argv) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] a = new String[argv.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = argv[i].toString();
    }
    int status =
        Main.run(
            a,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** Writes the "in.*" tensors of a fixture as .npy files and returns the --input arguments. */
  List<String> npyInputs(SafeTensors.Contents io) throws Exception {
    List<String> args = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : io.tensors().entrySet()) {
      if (e.getKey().startsWith("in.")) {
        String name = e.getKey().substring(3);
        Path f = tmp.resolve(name + ".npy");
        Npy.write(f, e.getValue());
        args.add("--input");
        args.add(name + "=" + f);
      }
    }
    return args;
  }

  /** Every "out.*" tensor against DIR/<name>.npy. */
  static double worstDiff(SafeTensors.Contents io, Path dir) throws Exception {
    double worst = 0;
    for (Map.Entry<String, Tensor> e : io.tensors().entrySet()) {
      if (e.getKey().startsWith("out.")) {
        try (Tensor got = Npy.read(dir.resolve(e.getKey().substring(4) + ".npy"))) {
          float[] a = e.getValue().toFloatArray();
          float[] b = got.toFloatArray();
          assertEquals(a.length, b.length, e.getKey());
          for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs((double) a[i] - b[i]));
          }
        }
      }
    }
    return worst;
  }

  @Test
  void runsOnnxModelsOnNpyInputs() throws Exception {
    for (String name : List.of("torch17_char_lm", "test_lstm_with_peepholes", "node_gru_lbr0")) {
      try (SafeTensors.Contents io = SafeTensors.read(ONNX.resolve("" + name + ".safetensors"))) {
        for (String backend : List.of("java", "reference")) {
          Path dir = tmp.resolve(name + "-" + backend);
          List<Object> argv = new ArrayList<>(List.of("run", ONNX.resolve("" + name + ".onnx")));
          argv.addAll(npyInputs(io));
          argv.addAll(List.of("--output-dir", dir, "--backend", backend, "--threads", 2));
          Run r = jrnn(argv.toArray());
          assertEquals(0, r.status(), r.err());
          double d = worstDiff(io, dir);
          assertTrue(d <= 1e-5, name + " on " + backend + ": " + d);
          assertTrue(r.out().contains("sum="), r.out());
        }
      }
    }
  }

  @Test
  void readsInt64Ids() throws Exception {
    // torch17_classifier takes int64 ids; write them as NumPy would
    try (SafeTensors.Contents io =
        SafeTensors.read(ONNX.resolve("torch17_classifier.safetensors"))) {
      Tensor ids = io.tensors().get("in.ids");
      Path f = tmp.resolve("ids.npy");
      StringBuilder shape = new StringBuilder();
      for (int d : ids.shape()) {
        shape.append(d).append(", ");
      }
      String header = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + shape + "), }";
      header += " ".repeat((64 - (10 + header.length() + 1) % 64) % 64) + "\n";
      java.nio.ByteBuffer b =
          java.nio.ByteBuffer.allocate(10 + header.length() + 8 * (int) ids.size())
              .order(java.nio.ByteOrder.LITTLE_ENDIAN);
      b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0})
          .putShort((short) header.length());
      b.put(header.getBytes(StandardCharsets.ISO_8859_1));
      for (int v : ids.toIntArray()) {
        b.putLong(v);
      }
      Files.write(f, b.array());
      Path dir = tmp.resolve("cls");
      Run r =
          jrnn(
              "run",
              ONNX.resolve("torch17_classifier.onnx"),
              "--input",
              "ids=" + f,
              "--output-dir",
              dir);
      assertEquals(0, r.status(), r.err());
      assertTrue(worstDiff(io, dir) <= 1e-5);
    }
  }

  @Test
  void convertsPyTorchAndOnnxToJrnnModels() throws Exception {
    Path model = tmp.resolve("classifier.jrnn");
    Run c =
        jrnn(
            "convert",
            TORCH.resolve("classifier.safetensors"),
            model,
            "--description",
            TORCH.resolve("classifier.json"));
    assertEquals(0, c.status(), c.err());
    assertTrue(c.out().contains("jrnn model from PyTorch state_dict"), c.out());
    try (SafeTensors.Contents io = SafeTensors.read(TORCH.resolve("classifier.io.safetensors"))) {
      List<Object> argv = new ArrayList<>(List.of("run", model, "--output-dir", tmp.resolve("o")));
      argv.addAll(npyInputs(io));
      Run r = jrnn(argv.toArray());
      assertEquals(0, r.status(), r.err());
      assertTrue(worstDiff(io, tmp.resolve("o")) <= 1e-5);
    }
    // the state_dict can also run directly with its description
    Run info =
        jrnn(
            "info",
            TORCH.resolve("classifier.safetensors"),
            "--description",
            TORCH.resolve("classifier.json"),
            "--backend",
            "java");
    assertEquals(0, info.status(), info.err());
    assertTrue(
        info.out().contains("LSTM(hidden=16, layers=2, bidirectional, batchFirst)"), info.out());

    Path onnx = tmp.resolve("lstm.jrnn");
    Run o = jrnn("convert", ONNX.resolve("torch14_lstm_2layer_bidir.onnx"), onnx);
    assertEquals(0, o.status(), o.err());
    try (SafeTensors.Contents io =
        SafeTensors.read(ONNX.resolve("torch14_lstm_2layer_bidir.safetensors"))) {
      List<Object> argv = new ArrayList<>(List.of("run", onnx, "--output-dir", tmp.resolve("p")));
      argv.addAll(npyInputs(io));
      Run r = jrnn(argv.toArray());
      assertEquals(0, r.status(), r.err());
      assertTrue(worstDiff(io, tmp.resolve("p")) <= 1e-5);
    }
    // ONNX weights given as inputs must be supplied to convert
    Run missing = jrnn("convert", ONNX.resolve("test_gru_defaults.onnx"), tmp.resolve("g"));
    assertEquals(1, missing.status());
    assertTrue(missing.err().contains("weight input 'W'"), missing.err());
  }

  @Test
  void infoShowsLayersAndPlacement() {
    Run r = jrnn("info", ONNX.resolve("node_lstm_everything.onnx"), "--backend", "java");
    assertEquals(0, r.status(), r.err());
    assertTrue(r.out().contains("X                    F32 [T, N, 3]"), r.out());
    assertTrue(
        r.out().contains("LSTM(hidden=5, reverse, peepholes, coupled, clip=1.2), input 3"),
        r.out());
    assertTrue(r.out().contains("parameters: 215"), r.out());
    if (Backends.byName("onednn").availability().available()) {
      Run d = jrnn("info", ONNX.resolve("node_lstm_everything.onnx"), "--backend", "onednn");
      assertTrue(d.out().contains("(oneDNN has no per-row sequence lengths)"), d.out());
    }
    Run w = jrnn("info", ONNX.resolve("test_lstm_with_peepholes.onnx"));
    assertEquals(0, w.status(), w.err());
    assertTrue(
        w.out().contains("weight inputs (given at run time with --input): [W, R, B, P]"), w.out());
  }

  @Test
  void benchesAModelOnEveryEngine() {
    Run r =
        jrnn(
            "bench",
            ONNX.resolve("torch17_char_lm.onnx"),
            "--dim",
            "T=16",
            "--dim",
            "N=2",
            "--runs",
            "3",
            "--warmup",
            "0");
    assertEquals(0, r.status(), r.err());
    Matcher m =
        Pattern.compile(
                "(?m)^(\\S+)\\s+f32\\s+1\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+x\\s+(\\S+)$")
            .matcher(r.out());
    List<String> engines = new ArrayList<>();
    while (m.find()) {
      engines.add(m.group(1));
      assertTrue(Double.parseDouble(m.group(2)) <= 1e-5, r.out());
    }
    assertTrue(engines.contains("java") && engines.contains("ort"), r.out());
    Run json =
        jrnn(
            "bench",
            "--json",
            ONNX.resolve("torch14_gru_2layer.onnx"),
            "--dim",
            "T=4",
            "--dim",
            "N=1",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--backend",
            "java,ort");
    assertEquals(0, json.status(), json.err());
    assertEquals(2, json.out().lines().filter(l -> l.startsWith("{\"model\"")).count(), json.out());
    Run noDims = jrnn("bench", ONNX.resolve("torch17_char_lm.onnx"), "--runs", "1");
    assertEquals(2, noDims.status());
    assertTrue(noDims.err().contains("--dim NAME=SIZE"), noDims.err());
  }

  @Test
  void errorsAreMessagesNotStackTraces() throws Exception {
    Run none = jrnn("run", tmp.resolve("nope.onnx"), "--output-dir", tmp);
    assertEquals(1, none.status());
    assertTrue(none.err().contains("no such model file"), none.err());
    Path junk = tmp.resolve("junk.onnx");
    Files.write(junk, new byte[] {0x0a, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 1, 2});
    Run bad = jrnn("info", junk);
    assertEquals(1, bad.status());
    assertTrue(bad.err().startsWith("jrnn info: " + junk), bad.err());
    assertTrue(!bad.err().contains("\tat "), bad.err());
    Run syntax = jrnn("run", junk, "--input", "x.npy", "--output-dir", tmp);
    assertEquals(2, syntax.status());
    assertTrue(syntax.err().contains("--input takes NAME=FILE.npy"), syntax.err());
    Run noOut = jrnn("run", junk);
    assertEquals(2, noOut.status());
    assertTrue(noOut.err().contains("--output-dir is required"), noOut.err());
    Run stateDict = jrnn("info", TORCH.resolve("classifier.safetensors"));
    assertEquals(1, stateDict.status());
    assertTrue(stateDict.err().contains("needs a model description"), stateDict.err());
    for (String cmd : List.of("run", "info", "convert", "bench")) {
      Run h = jrnn(cmd, "--help");
      assertEquals(0, h.status());
      assertTrue(h.out().startsWith("usage: jrnn " + cmd), h.out());
    }
  }
}
