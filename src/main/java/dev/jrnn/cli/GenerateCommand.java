package dev.jrnn.cli;

import dev.jrnn.Options;
import dev.jrnn.tasks.Generator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jrnn generate}: samples text from a model trained by {@code jrnn train chars}. */
@Command(
    name = "generate",
    description = {
      "Sample text from a character model trained by 'jrnn train chars'.",
      "",
      "Reads the prime once, then draws one character per step through a streaming state (constant"
          + " cost per character). A sample ends at the model's end mark (a name ends) or after"
          + " --length characters. The same model, prime, options and seed give the same text."
    })
final class GenerateCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      paramLabel = "MODEL",
      description = "A model.jrnn from 'jrnn train chars'.")
  Path model;

  @Option(
      names = "--prime",
      paramLabel = "TEXT",
      description = "Text the samples continue (default: none).")
  String prime = "";

  @Option(
      names = "--length",
      paramLabel = "N",
      converter = AtLeast.Zero.class,
      description = "Characters at most per sample (default: ${DEFAULT-VALUE}).")
  int length = 100;

  @Option(
      names = "--temperature",
      paramLabel = "T",
      description = "Divides the logits: lower is more conservative (default: ${DEFAULT-VALUE}).")
  double temperature = 1.0;

  @Option(
      names = "--top-k",
      paramLabel = "K",
      converter = AtLeast.Zero.class,
      description =
          "Draw from the K likeliest characters only (0: all; default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(
      names = "--seed",
      paramLabel = "S",
      description = "Seed of the first sample; sample i uses S+i (default: ${DEFAULT-VALUE}).")
  long seed = 1;

  @Option(
      names = "--count",
      paramLabel = "N",
      converter = AtLeast.One.class,
      description = "Samples, one per line (default: ${DEFAULT-VALUE}).")
  int count = 1;

  @Option(
      names = "--backend",
      paramLabel = "B",
      description = "The backend (default: ${DEFAULT-VALUE}).")
  String backend = "java";

  @Option(
      names = "--threads",
      paramLabel = "N",
      converter = AtLeast.One.class,
      description = "Threads (default: ${DEFAULT-VALUE}).")
  int threads = 1;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    if (!(temperature > 0) || !Double.isFinite(temperature)) {
      throw new UsageException("--temperature must be positive, got " + temperature);
    }
    PrintWriter out = spec.commandLine().getOut();
    try (Generator g = Generator.open(model, Options.backend(backend).threads(threads))) {
      for (int i = 0; i < count; i++) {
        out.println(prime + g.sample(prime, length, temperature, topK, seed + i));
      }
    }
    return 0;
  }
}
