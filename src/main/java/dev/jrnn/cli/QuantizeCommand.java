package dev.jrnn.cli;

import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.io.JrnnModel;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jrnn quantize}: a model with its weight matrices in bf16 or int8. */
@Command(
    name = "quantize",
    description = {
      "Write a jrnn model whose weight matrices are bf16 or int8.",
      "",
      "The input, recurrent and projection matrices of RNN/LSTM/GRU layers and Linear weights are"
          + " rounded to bfloat16 (--to bf16) or quantized to symmetric int8 with one f32 scale"
          + " per row, stored beside it as <name>.scale (--to int8); embeddings, biases and the"
          + " model's metadata are kept as they are. --to f32 widens a reduced model back. Every"
          + " loader reads the result; a backend without reduced-precision kernels widens it once"
          + " at open, with one log line."
    })
final class QuantizeCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "MODEL", description = "A jrnn model, .onnx or state_dict.")
  Path src;

  @Parameters(index = "1", paramLabel = "OUT", description = "The jrnn model to write.")
  Path dst;

  @Option(
      names = "--to",
      required = true,
      paramLabel = "P",
      converter = PrecisionConverter.class,
      description = "bf16, int8 or f32.")
  Precision to;

  @Mixin DescriptionFlag description;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (Files.exists(dst) && Files.isSameFile(src, dst)) {
      throw new UsageException("MODEL and OUT are the same file");
    }
    try (LoadedModel m = LoadedModel.open(src, Map.of(), description.path);
        Weights w = m.weights().toPrecision(m.graph(), to)) {
      JrnnModel.save(dst, m.graph(), w);
      out.printf(
          Locale.ROOT,
          "wrote %s: weight matrices in %s, %d bytes of weights (was %d), file %d bytes%n",
          dst,
          to.name().toLowerCase(Locale.ROOT),
          bytes(w),
          bytes(m.weights()),
          Files.size(dst));
    }
    return 0;
  }

  private static long bytes(Weights w) {
    long b = 0;
    for (String name : w.names()) {
      Tensor t = w.get(name);
      b += t.byteSize();
    }
    return b;
  }

  /** Parses {@code f32}, {@code bf16}, {@code int8} for picocli. */
  static final class PrecisionConverter implements picocli.CommandLine.ITypeConverter<Precision> {
    @Override
    public Precision convert(String value) {
      try {
        return Precision.parse(value);
      } catch (IllegalArgumentException e) {
        throw new picocli.CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }
}
