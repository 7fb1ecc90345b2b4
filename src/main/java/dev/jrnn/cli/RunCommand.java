package dev.jrnn.cli;

import dev.jrnn.DType;
import dev.jrnn.Model;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.data.Labels;
import dev.jrnn.data.SeriesCsv;
import dev.jrnn.data.TextFile;
import dev.jrnn.io.Npy;
import dev.jrnn.tasks.ClassifyTask;
import dev.jrnn.tasks.SeriesTask;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jrnn run}: runs a model on {@code .npy} inputs and writes its outputs as {@code .npy}. */
@Command(
    name = "run",
    description = {
      "Run a model on .npy inputs and write its outputs as .npy files.",
      "",
      "Runs MODEL once. Each graph output is written to DIR/<output name>.npy as float32 and"
          + " printed as: name, shape, sum and sum of |x|.",
      "",
      "A model from 'jrnn train classify' also reads texts (--text, --text-file: the saved"
          + " tokenizer and labels; prints label, probability and the text's start), one from"
          + " 'jrnn train series' a series (--series FILE --column C: the saved window and"
          + " normaliser; prints the forecast after its last value). Character models generate"
          + " with 'jrnn generate'."
    })
final class RunCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      paramLabel = "MODEL",
      description =
          "An .onnx file, a jrnn model, or a PyTorch state_dict in safetensors (with"
              + " --description).")
  Path model;

  @Option(
      names = "--input",
      paramLabel = "NAME=FILE.npy",
      description =
          "An input (or an ONNX model's weight input) from a NumPy .npy file: float32, float64,"
              + " int32 or int64; repeat for each.")
  List<String> inputs = new ArrayList<>();

  @Option(
      names = "--output-dir",
      paramLabel = "DIR",
      description = "Where the outputs go (required with .npy inputs).")
  Path dir;

  @Option(
      names = "--text",
      paramLabel = "TEXT",
      description = "A text for a classify model; repeat for each.")
  List<String> texts = new ArrayList<>();

  @Option(
      names = "--text-file",
      paramLabel = "FILE",
      description = "A file holding one text (e.g. a raw e-mail) for a classify model; repeat.")
  List<Path> textFiles = new ArrayList<>();

  @Option(
      names = "--series",
      paramLabel = "FILE",
      description = "A CSV file with a header line whose --column a series model forecasts.")
  Path series;

  @Option(names = "--column", paramLabel = "C", description = "The --series file's column.")
  String column;

  @Mixin EngineFlags engine;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (!texts.isEmpty() || !textFiles.isEmpty() || series != null) {
      return predict(out);
    }
    if (dir == null) {
      throw new UsageException("--output-dir is required: where the outputs go");
    }
    try (Inputs in = Inputs.read(inputs)) {
      try (LoadedModel m = LoadedModel.open(model, in.values, engine.description.path);
          Session s = Session.open(m.graph(), m.weights(), engine.options());
          Result r = s.run(in.forGraph(m.graph()))) {
        Files.createDirectories(dir);
        for (String name : m.graph().outputs().keySet()) {
          Tensor t = r.get(name);
          Path file = dir.resolve(fileName(name) + ".npy");
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

  /** A task model on texts or a series: prints each prediction. */
  private int predict(PrintWriter out) {
    if (!inputs.isEmpty()) {
      throw new UsageException("--input does not go with --text, --text-file or --series");
    }
    try (Model m = Model.load(model)) {
      if (series != null) {
        if (column == null) {
          throw new UsageException("--series needs --column, the column to forecast");
        }
        double f = SeriesTask.forecast(m, SeriesCsv.column(series, column), engine.options());
        out.printf(Locale.ROOT, "forecast after the last value of %s: %.6g%n", column, f);
        return 0;
      }
      List<String> all = new ArrayList<>(texts);
      for (Path f : textFiles) {
        all.add(TextFile.read(f));
      }
      double[] p = ClassifyTask.probabilities(m, all, engine.options());
      Labels labels = Labels.from(m.weights());
      for (int i = 0; i < p.length; i++) {
        String start = all.get(i).replaceAll("\\s+", " ").strip();
        out.printf(
            Locale.ROOT,
            "%-8s %.4f  %s%n",
            labels.label(p[i] > 0.5 ? 1 : 0),
            p[i],
            start.length() > 60 ? start.substring(0, 60) + "..." : start);
      }
      return 0;
    }
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
