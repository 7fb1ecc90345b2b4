package dev.jrnn.exec;

import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.Backend;
import java.lang.System.Logger.Level;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The {@link Session} implementation: a {@link Program} behind a read-write lock, so calls run
 * concurrently and {@link #close} waits for them.
 */
final class LocalSession implements Session {

  private static final System.Logger LOG = System.getLogger("dev.jrnn");

  private final IrGraph graph;
  private final Program program;
  private final Backend backend;
  private final Options options;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final Node notForward; // a recurrent node that step cannot run, or null
  private boolean closed; // guarded by lock

  private LocalSession(IrGraph graph, Program program, Backend backend, Options options) {
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
    this.notForward = back;
  }

  /** See {@link Session#open(Graph, Weights, Options)}. */
  static Session open(Graph g, Weights weights, Options options) {
    IrGraph graph = IrGraph.of(g);
    Objects.requireNonNull(weights, "weights");
    Objects.requireNonNull(options, "options");
    weights.checkAgainst(graph);
    options = withForcedBackend(options);
    Backend primary = Placement.choose(options.backendName());
    Map<Node, Backend> where = Placement.place(graph, primary, true);
    Options o = options;
    return Placement.withContexts(
        where,
        o,
        contexts ->
            new LocalSession(
                graph,
                new Program(
                    graph,
                    where,
                    contexts,
                    weights,
                    o.threadCount(),
                    o.requestedPrecision().orElse(null)),
                primary,
                o));
  }

  /** {@code options} with the backend {@code -Djrnn.backend} names, if it names one. */
  static Options withForcedBackend(Options options) {
    String forced = System.getProperty("jrnn.backend");
    if (forced != null && !forced.isBlank() && !forced.equals(options.backendName())) {
      LOG.log(Level.INFO, "jrnn: -Djrnn.backend=" + forced + " overrides " + options.backendName());
      return options.withBackend(forced);
    }
    return options;
  }

  /**
   * See {@link Session#placement(Graph, Options)}: as {@link #placement()} of a session opened with
   * these options would say (the nodes the outputs need, {@code -Djrnn.backend} applied).
   */
  static Map<String, String> placement(Graph g, Options options) {
    IrGraph graph = IrGraph.of(g);
    Set<Node> needed = Program.neededNodes(graph);
    Map<String, String> out = new LinkedHashMap<>();
    Placement.place(graph, Placement.choose(withForcedBackend(options).backendName()), false)
        .forEach(
            (n, b) -> {
              if (needed.contains(n)) {
                out.put(n.name(), b.name());
              }
            });
    return out;
  }

  @Override
  public Result run(Map<String, Tensor> inputs) {
    Objects.requireNonNull(inputs, "inputs");
    lock.readLock().lock();
    try {
      checkOpen();
      return new LocalResult(program.run(inputs, null, null));
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
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

  @Override
  public State newState() {
    if (notForward != null) {
      throw new IllegalStateException(
          "step needs forward-only recurrent layers; node '"
              + notForward.name()
              + "' is "
              + ((Op.RecurrentLayer) notForward.op()).spec().direction()
              + ", which needs the whole sequence: use run");
    }
    lock.readLock().lock();
    try {
      checkOpen();
      return new LocalState(this, program.recurrentNodes());
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public Result step(State state, Map<String, Tensor> inputs) {
    return new LocalResult(doStep(state, inputs, null));
  }

  @Override
  public void step(State state, Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
    Objects.requireNonNull(outputs, "outputs");
    doStep(state, inputs, outputs);
  }

  private Map<String, Tensor> doStep(
      State state, Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(inputs, "inputs");
    if (!(state instanceof LocalState st) || st.session() != this) {
      throw new IllegalArgumentException("the state belongs to another session");
    }
    lock.readLock().lock();
    try {
      checkOpen();
      st.acquire(); // throws while another thread steps it; the lock is released below
      try {
        return program.run(inputs, outputs, st);
      } finally {
        st.release();
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public Graph graph() {
    return graph;
  }

  @Override
  public String backend() {
    return backend.name();
  }

  @Override
  public Options options() {
    return options;
  }

  @Override
  public Map<String, String> placement() {
    return program.placement();
  }

  @Override
  public Map<String, Precision> weightPrecisions() {
    return program.weightPrecisions();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("session is used after close");
    }
  }

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
