package dev.jrnn.cli;

import dev.jrnn.Options;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.opencl.OpenClBackend;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.io.PrintWriter;
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

/** {@code jrnn info}: a model's inputs, outputs, layers, parameters and backend placement. */
@Command(
    name = "info",
    description = {
      "Show a model's inputs, outputs, layers and backend placement.",
      "",
      "Prints the inputs and outputs with their shapes (names are dynamic dimensions), every"
          + " layer with its parameters, and which backend would run it when the session asks for"
          + " --backend; a node the backend cannot run shows the fallback and why. An ONNX model"
          + " whose weights are graph inputs is listed with those inputs as weights."
    })
final class InfoCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      paramLabel = "MODEL",
      description = "An .onnx file, a jrnn model, or a PyTorch state_dict in safetensors.")
  Path model;

  @Option(
      names = "--backend",
      paramLabel = "B",
      description =
          "The backend asked for: reference, java, onednn, opencl or auto (default: ${DEFAULT-VALUE}).")
  String backend = "auto";

  @Mixin DescriptionFlag description;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    try (LoadedModel m = LoadedModel.open(model, null, description.path)) {
      IrGraph g = IrGraph.of(m.graph());
      out.println(model + ": " + m.format());
      out.println("inputs:");
      for (Map.Entry<String, IrValue> e : g.inputValues().entrySet()) {
        out.printf("  %-20s %s%n", e.getKey(), e.getValue().type());
      }
      if (!m.weightInputs().isEmpty()) {
        out.println("weight inputs (given at run time with --input): " + m.weightInputs());
      }
      out.println("outputs:");
      for (Map.Entry<String, IrValue> e : g.outputValues().entrySet()) {
        out.printf("  %-20s %s%n", e.getKey(), e.getValue().type());
      }
      Backend primary = backend.equals("auto") ? Backends.best() : Backends.byName(backend);
      Map<String, String> placed = Session.placement(g, Options.backend(primary.name()));
      out.printf(
          "layers (backend %s%s):%n",
          primary.name(), backend.equals("auto") ? ", chosen by auto" : "");
      out.printf("  %-22s %-16s %10s  %-10s %s%n", "node", "op", "params", "backend", "details");
      long total = 0;
      int constants = 0;
      for (Node n : g.nodes()) {
        if (n.op() instanceof Op.Input) {
          continue;
        }
        if (n.op() instanceof Op.Constant) {
          constants++;
          continue;
        }
        long params = 0;
        for (var w : n.weights()) {
          params += Tensor.elementCount(w.shape());
        }
        total += params;
        String where = placed.get(n.name());
        String why = where.equals(primary.name()) ? "" : " (" + primary.unsupported(n) + ")";
        out.printf(
            Locale.ROOT,
            "  %-22s %-16s %10d  %-10s %s%s%n",
            n.name(),
            n.op().kind(),
            params,
            where,
            details(n),
            why);
      }
      out.printf(
          Locale.ROOT,
          "parameters: %d (%.2f MiB as f32)%s%n",
          total,
          total * 4 / 1048576.0,
          constants > 0 ? "; " + constants + " constant node(s) folded in" : "");
      if (placed.containsValue("opencl")) {
        out.println("opencl devices:");
        OpenClBackend.devices().forEach(d -> out.println("  " + d));
      }
    }
    return 0;
  }

  private static String details(Node n) {
    return switch (n.op()) {
          case Op.RecurrentLayer r -> r.spec() + ", input " + r.inputSize();
          case Op.Linear l -> l.in() + " -> " + l.out() + (l.bias() ? "" : ", no bias");
          case Op.Embedding e -> "vocab " + e.vocab() + ", dim " + e.dim();
          case Op.Input i -> attributes(i);
          case Op.Constant c -> attributes(c);
          case Op.Unary u -> attributes(u);
          case Op.Softmax s -> attributes(s);
          case Op.Binary b -> attributes(b);
          case Op.Concat c -> attributes(c);
          case Op.LastStep l -> attributes(l);
          case Op.Dropout d -> attributes(d);
          case DataOp d -> attributes(d);
        }
        + " -> "
        + n.output(0).type();
  }

  /** A record op's components, {@code name=value}, arrays spelled out, absent ones left out. */
  private static String attributes(Op op) {
    if (!op.getClass().isRecord()) {
      return "";
    }
    StringBuilder s = new StringBuilder();
    for (var c : op.getClass().getRecordComponents()) {
      Object v;
      try {
        v = c.getAccessor().invoke(op);
      } catch (ReflectiveOperationException e) {
        continue;
      }
      if (v == null) {
        continue;
      }
      String text = v instanceof int[] a ? java.util.Arrays.toString(a) : String.valueOf(v);
      s.append(s.isEmpty() ? "" : ", ").append(c.getName()).append('=').append(text);
    }
    return s.toString();
  }
}
