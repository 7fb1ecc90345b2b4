package dev.jrnn;

/**
 * How a {@link Session} runs: which backend and how many threads. Immutable.
 *
 * <pre>{@code Options.backend("java").threads(2)}</pre>
 *
 * <p>The system property {@code -Djrnn.backend=NAME} overrides the backend of every session.
 */
public final class Options {

  private final String backend;
  private final int threads;

  private Options(String backend, int threads) {
    this.backend = backend;
    this.threads = threads;
  }

  /**
   * Backend {@code "auto"} (the available backend with the highest priority: {@code java} unless a
   * module registers a preferred one) and one thread per available core.
   */
  public static Options defaults() {
    return new Options("auto", 0);
  }

  /**
   * Runs on the named backend: {@code auto} (see {@link #defaults()}), {@code java}, {@code
   * reference}, or one a module on the class path adds ({@code onednn} with jrnn-onednn).
   */
  public static Options backend(String name) {
    return defaults().withBackend(name);
  }

  /** A copy with another backend. */
  public Options withBackend(String name) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("backend name must not be blank");
    }
    return new Options(name, threads);
  }

  /** A copy using {@code n ≥ 1} threads ({@code 0}: one per available core). */
  public Options threads(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("threads must be >= 0, got " + n);
    }
    return new Options(backend, n);
  }

  /** The requested backend name. */
  public String backendName() {
    return backend;
  }

  /** The thread count to use: the requested one, or the number of available cores. */
  public int threadCount() {
    return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
  }

  @Override
  public String toString() {
    return "Options(backend=" + backend + ", threads=" + threadCount() + ")";
  }
}
