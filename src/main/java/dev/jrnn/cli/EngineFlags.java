package dev.jrnn.cli;

import dev.jrnn.Options;
import dev.jrnn.Precision;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options of the commands that open a model on a backend ({@code run}, {@code train}), as a
 * picocli mixin: the backend, its threads and the description of a PyTorch state_dict.
 */
final class EngineFlags {

  @Option(
      names = "--backend",
      paramLabel = "B",
      description = "reference, java, onednn, opencl or auto (default: ${DEFAULT-VALUE}).")
  String backend = "auto";

  @Option(
      names = "--threads",
      paramLabel = "N",
      converter = AtLeast.One.class,
      description = "Threads (default: one per core).")
  int threads;

  @Option(
      names = "--precision",
      paramLabel = "P",
      converter = QuantizeCommand.PrecisionConverter.class,
      description =
          "Weight matrices in f32, bf16 or int8 (default: as the model stores them; see jrnn"
              + " quantize).")
  Precision precision;

  @Mixin DescriptionFlag description;

  /** The session options these flags ask for. */
  Options options() {
    Options o = Options.backend(backend);
    o = precision != null ? o.precision(precision) : o;
    return threads > 0 ? o.threads(threads) : o;
  }
}
