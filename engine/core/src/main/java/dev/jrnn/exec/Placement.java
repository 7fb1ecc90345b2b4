package dev.jrnn.exec;

import dev.jrnn.Options;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Which backend runs each node: the chosen one where it can, else the first fallback ({@code java},
 * then {@code reference}) that can, as ONNX Runtime does with execution providers. One log line
 * lists what moved and why.
 */
final class Placement {

  private static final System.Logger LOG = System.getLogger("dev.jrnn");
  private static final List<String> FALLBACKS = List.of("java", "reference");

  private Placement() {}

  /** The backend called {@code name} ({@code auto}: the best available); throws if unavailable. */
  static Backend choose(String name) {
    if (name.equals("auto")) {
      Backend b = Backends.best();
      LOG.log(Level.DEBUG, "jrnn: auto chose backend " + b.name());
      return b;
    }
    Backend b = Backends.byName(name);
    Availability a = b.availability();
    if (!a.available()) {
      throw new IllegalStateException("backend '" + name + "' is not available: " + a.reason());
    }
    return b;
  }

  /** Every node but the inputs, in order, on the backend that runs it. */
  static Map<Node, Backend> place(IrGraph graph, Backend primary, boolean log) {
    return place(graph, primary, log, "run", List.of(Backend::unsupported));
  }

  /**
   * Every node but the inputs, in order, on a backend that trains it, else (when none can) on one
   * that runs it: such a node runs forward, and backward fails only if a gradient reaches it.
   */
  static Map<Node, Backend> placeForTraining(IrGraph graph, Backend primary, boolean log) {
    return place(
        graph, primary, log, "train", List.of(Placement::whyNotTrain, Backend::unsupported));
  }

  private static String whyNotTrain(Backend b, Node n) {
    String why = b.unsupported(n);
    return why != null ? why : b.untrainable(n);
  }

  /**
   * Places each node by the first of {@code criteria} (each says why a backend cannot take a node,
   * null when it can) that the primary backend or a fallback meets; {@code verb} names the job.
   */
  private static Map<Node, Backend> place(
      IrGraph graph,
      Backend primary,
      boolean log,
      String verb,
      List<BiFunction<Backend, Node, String>> criteria) {
    Map<Node, Backend> where = new LinkedHashMap<>();
    Map<String, List<String>> moved = new LinkedHashMap<>(); // "fallback: reason" -> nodes
    int count = 0;
    for (Node n : graph.nodes()) {
      if (n.op() instanceof Op.Input) {
        continue;
      }
      String reason = criteria.get(0).apply(primary, n);
      if (reason == null) {
        where.put(n, primary);
        continue;
      }
      Backend fb = null; // the primary failed the first criterion: fallbacks, then the rest
      for (int c = 0; c < criteria.size() && fb == null; c++) {
        BiFunction<Backend, Node, String> why = criteria.get(c);
        fb = c > 0 && why.apply(primary, n) == null ? primary : fallbackFor(n, primary, why);
      }
      if (fb == null) {
        throw new IllegalArgumentException(
            "node '"
                + n.name()
                + "' ("
                + n.op().kind()
                + "): "
                + primary.name()
                + " cannot "
                + verb
                + " it ("
                + reason
                + ") and no fallback backend can either");
      }
      where.put(n, fb);
      if (fb != primary && !(n.op() instanceof Op.Constant)) { // constants: values, not work
        moved.computeIfAbsent(fb.name() + ": " + reason, k -> new ArrayList<>()).add(n.name());
        count++;
      }
    }
    if (log && count > 0) {
      StringBuilder s = new StringBuilder();
      moved.forEach(
          (k, names) -> {
            s.append(s.isEmpty() ? "" : "; ").append(k).append(" (");
            s.append(String.join(", ", names.subList(0, Math.min(4, names.size()))));
            s.append(names.size() > 4 ? ", and " + (names.size() - 4) + " more)" : ")");
          });
      LOG.log(
          Level.INFO,
          "jrnn: backend "
              + primary.name()
              + " cannot "
              + verb
              + " "
              + count
              + " node(s), moved to "
              + s);
    }
    return where;
  }

  /**
   * One context per backend {@code where} uses, opened with {@code options}, then {@code build} run
   * on them; if anything fails, every context opened is closed again.
   */
  static <T> T withContexts(
      Map<Node, Backend> where,
      Options options,
      java.util.function.Function<Map<Backend, Backend.Context>, T> build) {
    Map<Backend, Backend.Context> contexts = new LinkedHashMap<>();
    try {
      for (Backend b : where.values()) {
        if (!contexts.containsKey(b)) {
          contexts.put(b, b.open(options));
        }
      }
      return build.apply(contexts);
    } catch (RuntimeException | Error e) {
      Closer.closeAfter(e, contexts.values());
      throw e;
    }
  }

  private static Backend fallbackFor(
      Node n, Backend primary, BiFunction<Backend, Node, String> why) {
    for (String name : FALLBACKS) {
      for (Backend b : Backends.all()) {
        if (b.name().equals(name)
            && b != primary
            && b.availability().available()
            && why.apply(b, n) == null) {
          return b;
        }
      }
    }
    return null;
  }
}
