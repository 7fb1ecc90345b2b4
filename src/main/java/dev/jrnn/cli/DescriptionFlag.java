package dev.jrnn.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * picocli mixin of the commands that load a model file: {@code --description}, the layers of a
 * PyTorch state_dict (a {@code .pt} model needs it; other formats describe themselves).
 */
final class DescriptionFlag {

  @Option(
      names = "--description",
      paramLabel = "MODEL.json",
      description = "The layers of a PyTorch state_dict (see the README).")
  Path path;
}
