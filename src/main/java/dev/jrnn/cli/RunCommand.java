package dev.jrnn.cli;

import dev.jrnn.DType;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.io.Npy;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** {@code jrnn run}: runs a model on {@code .npy} inputs and writes its outputs as {@code .npy}. */
final class RunCommand implements Main.Command {

  @Override
  public String summary() {
    return "run an ONNX, jrnn or PyTorch model on .npy inputs, write .npy outputs";
  }

  @Override
  public String usage() {
    return """
        usage: jrnn run MODEL --input NAME=FILE.npy [--input ...] --output-dir DIR
                        [--backend B] [--threads N] [--description MODEL.json]

        Runs MODEL (an .onnx file, a jrnn model, or a PyTorch state_dict in safetensors with
        --description) once. Inputs are NumPy .npy files (float32, float64, int32, int64); an
        ONNX model's weight inputs are given the same way. Each graph output is written to
        DIR/<output name>.npy as float32 and printed as: name, shape, sum and sum of |x|.
          --backend      reference, java, onednn or auto (default auto)
          --threads      threads (default: one per core)""";
  }

  @Override
  public int run(Args args, PrintStream out) throws Exception {
    String backend = args.string("backend", "auto");
    int threads = args.integer("threads", 0, 1);
    String dir = args.string("output-dir", null);
    String desc = args.string("description", null);
    Path model = Main.onePositional(args, "MODEL");
    if (dir == null) {
      throw new Args.UsageException("--output-dir is required");
    }
    try (Inputs in = Inputs.read(args)) {
      args.rejectUnknown();
      try (LoadedModel m = LoadedModel.open(model, in.values, desc == null ? null : Path.of(desc));
          Session s = Session.open(m.graph(), m.weights(), options(backend, threads));
          Result r = s.run(in.forGraph(m.graph()))) {
        Path outDir = Path.of(dir);
        Files.createDirectories(outDir);
        for (String name : m.graph().outputs().keySet()) {
          Tensor t = r.get(name);
          Path file = outDir.resolve(fileName(name) + ".npy");
          if (t.dtype() == DType.F32) {
            Npy.write(file, t);
          } else {
            try (Tensor f = Tensor.allocate(DType.F32, t.shape())) {
              for (long i = 0; i < t.size(); i++) {
                f.setFloat(i, t.getInt(i));
              }
              Npy.write(file, f);
            }
          }
          out.println(describe(name, t));
        }
      }
    }
    return 0;
  }

  static Options options(String backend, int threads) {
    Options o = Options.backend(backend);
    return threads > 0 ? o.threads(threads) : o;
  }

  /**
   * An output name as a file name: characters other than letters, digits, '.', '-', '_' become '_'.
   */
  static String fileName(String name) {
    String f = name.replaceAll("[^A-Za-z0-9._-]", "_");
    return f.isEmpty() || f.startsWith(".") ? "_" + f : f;
  }

  /** {@code name [d0, d1] sum=… abs_sum=…}. */
  static String describe(String name, Tensor t) {
    double sum = 0;
    double abs = 0;
    for (long i = 0; i < t.size(); i++) {
      double v = t.dtype() == DType.F32 ? t.getFloat(i) : t.getInt(i);
      sum += v;
      abs += Math.abs(v);
    }
    return String.format(
        Locale.ROOT,
        "%-16s %-16s sum=%.6e abs_sum=%.6e",
        name,
        Tensor.shapeString(t.shape()),
        sum,
        abs);
  }
}
