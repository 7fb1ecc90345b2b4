package dev.jrnn.cli;

import dev.jrnn.io.JrnnModel;
import dev.jrnn.ir.IrGraph;
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

/** {@code jrnn convert}: ONNX or a PyTorch state_dict to a jrnn model file. */
@Command(
    name = "convert",
    description = {
      "Convert an ONNX model or a PyTorch state_dict to a jrnn model.",
      "",
      "Writes OUT, a jrnn model: one safetensors file holding the canonical weights and the graph"
          + " (as JSON in its metadata), loadable with JrnnModel.load or 'jrnn run OUT'."
    })
final class ConvertCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      paramLabel = "IN",
      description = {
        "An .onnx model (weights passed as graph inputs are given with --input), or a PyTorch"
            + " state_dict saved as safetensors (safetensors.torch.save_file(model.state_dict(),"
            + " ...)) with --description."
      })
  Path src;

  @Parameters(index = "1", paramLabel = "OUT", description = "The jrnn model to write.")
  Path dst;

  @Option(
      names = "--input",
      paramLabel = "NAME=FILE.npy",
      description = "An ONNX weight input from a NumPy .npy file; repeat for each.")
  List<String> inputs = new ArrayList<>();

  @Mixin DescriptionFlag description;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    try (Inputs in = Inputs.read(inputs)) {
      if (Files.exists(dst) && Files.isSameFile(src, dst)) {
        throw new UsageException("IN and OUT are the same file");
      }
      try (LoadedModel m = LoadedModel.open(src, in.values, description.path)) {
        JrnnModel.save(dst, m.graph(), m.weights());
        long params = LoadedModel.parameters(m.graph().weightShapes());
        out.printf(
            Locale.ROOT,
            "wrote %s: jrnn model from %s, %d nodes, %d parameters, %d bytes%n",
            dst,
            m.format(),
            IrGraph.of(m.graph()).nodes().size(),
            params,
            Files.size(dst));
      }
    }
    return 0;
  }
}
