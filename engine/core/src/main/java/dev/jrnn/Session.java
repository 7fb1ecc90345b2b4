package dev.jrnn;

import java.nio.file.Path;
import java.util.Map;

/**
 * A graph compiled with its weights for one backend, ready to run. Implemented by jrnn only.
 *
 * <pre>{@code
 * try (Session s = Session.open(graph, weights, Options.backend("java").threads(2));
 *      Result r = s.run(Map.of("tokens", tokens))) {
 *   Tensor prob = r.get("prob");
 * }
 * }</pre>
 *
 * <p>{@link #run} and {@link #step} are safe to call from many threads at once. Nodes the chosen
 * backend cannot run are placed on a fallback backend ({@code java}, else {@code reference}); one
 * log line says so. Every tensor a call reads or writes is {@link Tensor#retain() retained} for the
 * call, so closing one meanwhile frees nothing under it. {@link #close} waits for calls in
 * progress.
 */
public interface Session extends AutoCloseable {

  /**
   * Checks the weights against the graph, chooses the backend ({@code -Djrnn.backend} overrides
   * {@code options}), places and compiles every node. The weights are copied where needed and may
   * be closed afterwards.
   */
  static Session open(Graph graph, Weights weights, Options options) {
    return Providers.get().open(graph, weights, options);
  }

  /**
   * Opens a model file ({@link Model#load(Path)}: ONNX or a jrnn model) as a session in one call.
   */
  static Session open(Path model, Options options) {
    try (Model m = Model.load(model)) {
      return m.open(options);
    }
  }

  /**
   * Which backend would run each node of {@code graph} under {@code options}, without weights or
   * compiling anything: node name to backend name (inputs left out).
   */
  static Map<String, String> placement(Graph graph, Options options) {
    return Providers.get().placement(graph, options);
  }

  /**
   * Runs the graph on named inputs (every input the outputs depend on); the caller closes the
   * result. A missing, unknown or mis-shaped input is an exception naming it and the expected
   * shape.
   */
  Result run(Map<String, Tensor> inputs);

  /**
   * Runs the graph writing into caller-owned output tensors, one per graph output with the shape
   * the inputs imply. Allocates no tensor memory once warm.
   */
  void run(Map<String, Tensor> inputs, Map<String, Tensor> outputs);

  /**
   * A fresh, zero state for {@link #step}; its batch size is set by the first step. Throws when a
   * recurrent layer of the graph is not forward-only (a reverse direction needs the whole
   * sequence).
   */
  State newState();

  /**
   * Advances {@code state} by the timesteps in {@code inputs} (any T ≥ 1) and returns the graph's
   * outputs for them. Running a sequence in chunks equals one {@link #run} over all of it; the
   * state supplies the initial h and c. One state is stepped by one thread at a time (another
   * thread gets an exception); different states may be stepped concurrently.
   */
  Result step(State state, Map<String, Tensor> inputs);

  /**
   * {@link #step(State, Map)} writing into caller-owned output tensors, one per graph output.
   * Allocates nothing once warm.
   */
  void step(State state, Map<String, Tensor> inputs, Map<String, Tensor> outputs);

  /** The graph this session runs. */
  Graph graph();

  /**
   * The backend chosen for the session (some nodes may run on a fallback, see {@link #placement}).
   */
  String backend();

  /** The options in effect (after any {@code -Djrnn.backend} override). */
  Options options();

  /** Node name to the backend that runs it, for the nodes the outputs need. */
  Map<String, String> placement();

  /**
   * Each weight matrix the session's nodes use (recurrent {@code W}, {@code R}, {@code Wp}, linear
   * weights) to the precision their kernels read it in: the session's {@link Options#precision} or,
   * unset, the one it is stored in — or {@link Precision#F32} where the node's backend has no
   * kernels for that precision and the session widened the rounded values at open.
   */
  Map<String, Precision> weightPrecisions();

  /** Frees everything the session holds once calls in progress end. Idempotent. */
  @Override
  void close();
}
