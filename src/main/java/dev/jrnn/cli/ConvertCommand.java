package dev.jrnn.cli;

import dev.jrnn.io.JrnnModel;
import dev.jrnn.ir.IrGraph;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** {@code jrnn convert}: ONNX or a PyTorch state_dict to a jrnn model file. */
final class ConvertCommand implements Main.Command {

  @Override
  public String summary() {
    return "convert an ONNX model or a PyTorch state_dict to a jrnn model";
  }

  @Override
  public String usage() {
    return """
        usage: jrnn convert IN OUT [--description MODEL.json] [--input NAME=FILE.npy ...]

        Writes OUT, a jrnn model: one safetensors file holding the canonical weights and the
        graph (as JSON in its metadata), loadable with JrnnModel.load or 'jrnn run OUT'.
          IN is an .onnx model (weights passed as graph inputs are given with --input), or a
          PyTorch state_dict saved as safetensors (safetensors.torch.save_file(model.state_dict(),
          ...)) with --description, a JSON file naming the layers (see the README).""";
  }

  @Override
  public int run(Args args, PrintStream out) throws Exception {
    String desc = args.string("description", null);
    List<String> files = args.positional();
    try (Inputs in = Inputs.read(args)) {
      args.rejectUnknown();
      if (files.size() != 2) {
        throw new Args.UsageException("expected IN and OUT, got " + files.size() + " argument(s)");
      }
      Path src = Path.of(files.get(0));
      Path dst = Path.of(files.get(1));
      if (Files.exists(dst) && Files.isSameFile(src, dst)) {
        throw new Args.UsageException("IN and OUT are the same file");
      }
      try (LoadedModel m = LoadedModel.open(src, in.values, desc == null ? null : Path.of(desc))) {
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
