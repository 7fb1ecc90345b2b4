package dev.jrnn;

import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import dev.jrnn.spi.Op;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A graph compiled with its weights for one backend, ready to run.
 *
 * <pre>{@code
 * try (Session s = Session.open(graph, weights, Options.backend("java").threads(2));
 *      Result r = s.run(Map.of("tokens", tokens))) {
 *   Tensor prob = r.get("prob");
 * }
 * }</pre>
 *
 * <p>{@link #run} is safe to call from many threads at once. Nodes the chosen backend cannot run
 * are placed on a fallback backend ({@code java}, else {@code reference}); one log line says so.
 */
public final class Session implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger("dev.jrnn");
  private static final List<String> FALLBACKS = List.of("java", "reference");

  private final Graph graph;
  private final Program program;
  private final Backend backend;
  private final Options options;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final Node backwardNode; // a recurrent node that step cannot run, or null
  private boolean closed;

  private Session(Graph graph, Program program, Backend backend, Options options) {
    this.graph = graph;
    this.program = program;
    this.backend = backend;
    this.options = options;
    Node back = null;
    for (Node n : program.recurrentNodes()) {
      if (((Op.RecurrentLayer) n.op()).spec().direction() != Recurrent.Direction.FORWARD) {
        back = n;
        break;
      }
    }
    this.backwardNode = back;
  }

  /**
   * Checks the weights against the graph, chooses the backend ({@code -Djrnn.backend} overrides
   * {@code options}), places and compiles every node. The weights are copied where needed and may
   * be closed afterwards.
   */
  public static Session open(Graph graph, Weights weights, Options options) {
    Objects.requireNonNull(graph, "graph");
    Objects.requireNonNull(weights, "weights");
    Objects.requireNonNull(options, "options");
    weights.checkAgainst(graph);
    String forced = System.getProperty("jrnn.backend");
    if (forced != null && !forced.isBlank() && !forced.equals(options.backendName())) {
      LOG.log(Level.INFO, "jrnn: -Djrnn.backend=" + forced + " overrides " + options.backendName());
      options = options.withBackend(forced);
    }
    Backend primary = choose(options.backendName());
    Map<Node, Backend> where = place(graph, primary, true);
    Map<Backend, Backend.Context> contexts = new LinkedHashMap<>();
    try {
      for (Backend b : where.values()) {
        if (!contexts.containsKey(b)) {
          contexts.put(b, b.open(options));
        }
      }
      Program p = new Program(graph, where, contexts, weights, options.threadCount());
      return new Session(graph, p, primary, options);
    } catch (RuntimeException | Error e) {
      contexts.values().forEach(Backend.Context::close);
      throw e;
    }
  }

  /**
   * Which backend would run each node of {@code graph} under {@code options}, without weights or
   * compiling anything: node name to backend name (inputs left out).
   */
  public static Map<String, String> placement(Graph graph, Options options) {
    Map<String, String> out = new LinkedHashMap<>();
    place(graph, choose(options.backendName()), false)
        .forEach((n, b) -> out.put(n.name(), b.name()));
    return out;
  }

  private static Map<Node, Backend> place(Graph graph, Backend primary, boolean log) {
    Map<Node, Backend> where = new LinkedHashMap<>();
    Map<String, List<String>> moved = new LinkedHashMap<>(); // "fallback: reason" -> nodes
    int count = 0;
    for (Node n : graph.nodes()) {
      if (n.op() instanceof Op.Input) {
        continue;
      }
      String why = primary.unsupported(n);
      if (why == null) {
        where.put(n, primary);
        continue;
      }
      Backend fb = fallbackFor(n, primary);
      if (fb == null) {
        throw new IllegalArgumentException(
            "node '"
                + n.name()
                + "' ("
                + n.op().kind()
                + "): "
                + primary.name()
                + " cannot run it ("
                + why
                + ") and no fallback backend can either");
      }
      where.put(n, fb);
      if (!(n.op() instanceof Op.Constant)) { // constants are values, not work: not worth a word
        moved.computeIfAbsent(fb.name() + ": " + why, k -> new ArrayList<>()).add(n.name());
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
          "jrnn: backend " + primary.name() + " cannot run " + count + " node(s), moved to " + s);
    }
    return where;
  }

  private static Backend choose(String name) {
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

  private static Backend fallbackFor(Node n, Backend primary) {
    for (String name : FALLBACKS) {
      for (Backend b : Backends.all()) {
        if (b.name().equals(name)
            && b != primary
            && b.availability().available()
            && b.unsupported(n) == null) {
          return b;
        }
      }
    }
    return null;
  }

  /** Runs the graph on named inputs; the caller closes the result. */
  public Result run(Map<String, Tensor> inputs) {
    Objects.requireNonNull(inputs, "inputs");
    lock.readLock().lock();
    try {
      checkOpen();
      return new Result(program.run(inputs, null, null), true);
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Runs the graph writing into caller-owned output tensors, one per graph output with the shape
   * the inputs imply. Allocates no tensor memory once warm.
   */
  public void run(Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
    Objects.requireNonNull(inputs, "inputs");
    Objects.requireNonNull(outputs, "outputs");
    lock.readLock().lock();
    try {
      checkOpen();
      program.run(inputs, outputs, null);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A fresh, zero state for {@link #step}; its batch size is set by the first step. */
  public State newState() {
    checkOpen();
    return new State(this, program.recurrentNodes());
  }

  /**
   * Advances {@code state} by the timesteps in {@code inputs} (any T ≥ 1) and returns the graph's
   * outputs for them. Running a sequence in chunks equals one {@link #run} over all of it. Needs
   * forward-only recurrent layers; the state supplies initial h and c.
   */
  public Result step(State state, Map<String, Tensor> inputs) {
    return new Result(doStep(state, inputs, null), true);
  }

  /**
   * {@link #step(State, Map)} writing into caller-owned output tensors, one per graph output.
   * Allocates nothing once warm.
   */
  public void step(State state, Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
    Objects.requireNonNull(outputs, "outputs");
    doStep(state, inputs, outputs);
  }

  private Map<String, Tensor> doStep(
      State state, Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(inputs, "inputs");
    if (state.session() != this) {
      throw new IllegalArgumentException("the state belongs to another session");
    }
    if (backwardNode != null) {
      throw new IllegalArgumentException(
          "step needs forward-only recurrent layers; node '"
              + backwardNode.name()
              + "' is "
              + ((Op.RecurrentLayer) backwardNode.op()).spec().direction());
    }
    lock.readLock().lock();
    state.acquire();
    try {
      checkOpen();
      return program.run(inputs, outputs, state);
    } finally {
      state.release();
      lock.readLock().unlock();
    }
  }

  /** The graph this session runs. */
  public Graph graph() {
    return graph;
  }

  /**
   * The backend chosen for the session (some nodes may run on a fallback, see {@link #placement}).
   */
  public String backend() {
    return backend.name();
  }

  /** The options in effect (after any {@code -Djrnn.backend} override). */
  public Options options() {
    return options;
  }

  /** Node name to the backend that runs it, for the nodes the outputs need. */
  public Map<String, String> placement() {
    return program.placement();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("session is used after close");
    }
  }

  /** Frees everything the session holds; waits for runs in progress. */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (!closed) {
        closed = true;
        program.close();
      }
    } finally {
      lock.writeLock().unlock();
    }
  }
}
