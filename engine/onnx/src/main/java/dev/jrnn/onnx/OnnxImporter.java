package dev.jrnn.onnx;

import dev.jrnn.ModelFormatException;
import dev.jrnn.ir.IrValue;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The graph walk: orders the ONNX nodes, declares the graph inputs, hands each node to the mapping
 * for its operator (recurrent, fused into a layer, or one-to-one), and declares the outputs. An
 * error inside a node is a {@link ModelFormatException} naming the node and its op type.
 */
final class OnnxImporter {

  private final ImportContext ctx;
  private final Map<String, List<OnnxProto.Node>> readers = new HashMap<>(); // null: graph output
  private final LayerFusion fusion;
  private final RecurrentMapping recurrent;
  private final BasicOps basic;

  OnnxImporter(OnnxProto.Model model, String where) {
    this.ctx = new ImportContext(model, where);
    this.fusion = new LayerFusion(ctx, readers);
    this.recurrent = new RecurrentMapping(ctx);
    this.basic = new BasicOps(ctx);
  }

  OnnxModel run() {
    OnnxProto.Graph g = ctx.model.graph();
    List<OnnxProto.Node> nodes = topological(g);
    for (OnnxProto.Node n : nodes) {
      for (String in : n.inputs()) {
        readers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
      }
    }
    g.outputs().forEach(o -> readers.computeIfAbsent(o.name(), k -> new ArrayList<>()).add(null));
    Set<String> weightOnly = weightOnlyInputs(g, nodes);
    for (OnnxProto.ValueInfo in : g.inputs()) {
      if (ctx.initializer(in.name()) != null) {
        continue; // old-style models list initializers as inputs too
      }
      ctx.declareInput(in, weightOnly.contains(in.name()));
    }
    for (OnnxProto.Node n : nodes) {
      try {
        translate(n);
      } catch (ModelFormatException e) {
        throw e;
      } catch (IllegalArgumentException | IllegalStateException | ArithmeticException e) {
        throw new ModelFormatException(
            ctx.where + ": node '" + display(n) + "' (" + n.opType() + "): " + e.getMessage(), e);
      }
    }
    for (OnnxProto.ValueInfo out : g.outputs()) {
      ctx.b.output(out.name(), ctx.value(out.name(), "graph output"));
    }
    return ctx.finish();
  }

  private static String display(OnnxProto.Node n) {
    return n.name().isEmpty() ? String.join(",", n.outputs()) : n.name();
  }

  /** Nodes in dependency order; a cycle or a missing producer is an error naming the node. */
  private List<OnnxProto.Node> topological(OnnxProto.Graph g) {
    Set<String> available = new HashSet<>(ctx.initializerNames());
    g.inputs().forEach(i -> available.add(i.name()));
    available.add("");
    Map<String, Integer> producer = new HashMap<>();
    List<OnnxProto.Node> nodes = g.nodes();
    for (int i = 0; i < nodes.size(); i++) {
      for (String o : nodes.get(i).outputs()) {
        if (!o.isEmpty() && producer.put(o, i) != null) {
          throw new ModelFormatException(ctx.where + ": value '" + o + "' is produced twice");
        }
      }
    }
    int[] pending = new int[nodes.size()];
    Map<String, List<Integer>> consumers = new HashMap<>();
    ArrayDeque<Integer> ready = new ArrayDeque<>();
    for (int i = 0; i < nodes.size(); i++) {
      Set<String> needs = new LinkedHashSet<>();
      for (String in : nodes.get(i).inputs()) {
        if (!available.contains(in)) {
          if (!producer.containsKey(in)) {
            throw new ModelFormatException(
                ctx.where
                    + ": input '"
                    + in
                    + "' of node '"
                    + display(nodes.get(i))
                    + "' is produced by no node, initializer or graph input");
          }
          needs.add(in);
        }
      }
      pending[i] = needs.size();
      for (String in : needs) {
        consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
      }
      if (pending[i] == 0) {
        ready.add(i);
      }
    }
    List<OnnxProto.Node> order = new ArrayList<>();
    while (!ready.isEmpty()) {
      int i = ready.poll();
      order.add(nodes.get(i));
      for (String o : nodes.get(i).outputs()) {
        for (int c : consumers.getOrDefault(o, List.of())) {
          if (--pending[c] == 0) {
            ready.add(c);
          }
        }
      }
    }
    if (order.size() != nodes.size()) {
      for (int i = 0; i < nodes.size(); i++) {
        if (pending[i] > 0) {
          throw new ModelFormatException(
              ctx.where + ": the graph has a cycle through node '" + display(nodes.get(i)) + "'");
        }
      }
    }
    return order;
  }

  /** Graph inputs read only as W, R, B or P of recurrent nodes. */
  private static Set<String> weightOnlyInputs(OnnxProto.Graph g, List<OnnxProto.Node> nodes) {
    Set<String> inputs = new HashSet<>();
    g.inputs().forEach(i -> inputs.add(i.name()));
    Set<String> asWeight = new HashSet<>();
    Set<String> otherwise = new HashSet<>();
    for (OnnxProto.Node n : nodes) {
      boolean recurrent = Set.of("LSTM", "GRU", "RNN").contains(n.opType());
      for (int i = 0; i < n.inputs().size(); i++) {
        String in = n.inputs().get(i);
        if (inputs.contains(in)) {
          boolean weight =
              recurrent && (i == 1 || i == 2 || i == 3 || (i == 7 && n.opType().equals("LSTM")));
          (weight ? asWeight : otherwise).add(in);
        }
      }
    }
    g.outputs().forEach(o -> otherwise.add(o.name()));
    asWeight.removeAll(otherwise);
    return asWeight;
  }

  /** Checks what every node needs, names it, and hands it to the mapping for its operator. */
  private void translate(OnnxProto.Node n) {
    if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
      throw new IllegalArgumentException("domain '" + n.domain() + "' is not supported");
    }
    IrValue fusedInto = fusion.takeFused(n);
    if (fusedInto != null) { // an Add already folded into the Linear before it
      ctx.define(n, 0, fusedInto);
      return;
    }
    int need =
        switch (n.opType()) {
          case "LSTM", "GRU", "RNN" -> 3;
          case "Slice" -> ctx.opset() >= 10 ? 3 : 1;
          case "Add", "Sub", "Mul", "Div", "MatMul", "Gemm", "Gather", "Reshape", "Expand" -> 2;
          case "Constant" -> 0;
          default -> 1;
        };
    if (n.inputs().size() < need) {
      throw new IllegalArgumentException(
          "has " + n.inputs().size() + " inputs; " + n.opType() + " needs at least " + need);
    }
    if (n.outputs().isEmpty()) {
      throw new IllegalArgumentException("has no outputs");
    }
    String name = ctx.fresh(n.name().isEmpty() ? n.opType().toLowerCase(Locale.ROOT) : n.name());
    switch (n.opType()) {
      case "LSTM", "GRU", "RNN" -> recurrent.map(n, name);
      case "Gather" -> fusion.gather(n, name);
      case "MatMul" -> fusion.matmul(n, name);
      case "Gemm" -> fusion.gemm(n, name);
      default -> basic.map(n, name);
    }
  }
}
