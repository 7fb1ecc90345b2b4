package dev.jrnn;

import java.util.Optional;

/**
 * How a {@link Session} runs: which backend, how many threads and, for a backend with devices,
 * which device. Immutable.
 *
 * <pre>{@code Options.backend("opencl").device("gpu").threads(2)
 * Options.backend("java").precision(Precision.BF16)}</pre>
 *
 * <p>The system property {@code -Djrnn.backend=NAME} overrides the backend of every session.
 */
public final class Options {

  private final String backend;
  private final int threads;
  private final String device; // null: the backend's default
  private final Precision precision; // null: as the model stores its weights

  private Options(String backend, int threads, String device, Precision precision) {
    this.backend = backend;
    this.threads = threads;
    this.device = device;
    this.precision = precision;
  }

  /**
   * Backend {@code "auto"} (the available backend with the highest priority: {@code java} unless a
   * module registers a preferred one) and one thread per available core.
   */
  public static Options defaults() {
    return new Options("auto", 0, null, null);
  }

  /**
   * Runs on the named backend: {@code auto} (see {@link #defaults()}), {@code java}, {@code
   * reference}, or one a module on the class path adds ({@code onednn} with jrnn-onednn, {@code
   * opencl} with jrnn-opencl).
   */
  public static Options backend(String name) {
    return defaults().withBackend(name);
  }

  /** A copy with another backend. */
  public Options withBackend(String name) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("backend name must not be blank");
    }
    return new Options(name, threads, device, precision);
  }

  /** A copy using {@code n ≥ 1} threads ({@code 0}: one per available core). */
  public Options threads(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("threads must be >= 0, got " + n);
    }
    return new Options(backend, n, device, precision);
  }

  /**
   * A copy that asks a backend with devices for one: for {@code opencl}, {@code gpu}, {@code cpu},
   * or part of a platform or device name (case-insensitive). Backends without devices ignore it; a
   * backend that finds no such device fails the session's open, listing the devices there are.
   */
  public Options device(String selector) {
    if (selector == null || selector.isBlank()) {
      throw new IllegalArgumentException("device selector must not be blank");
    }
    return new Options(backend, threads, selector.strip(), precision);
  }

  /**
   * A copy that runs the model's weight matrices in {@code p} (see {@link Precision}): f32 weights
   * are rounded or quantized at open, reduced ones widened or re-quantized. Without it a session
   * uses the precision the weights are stored in.
   */
  public Options precision(Precision p) {
    return new Options(backend, threads, device, java.util.Objects.requireNonNull(p, "precision"));
  }

  /** The requested precision, if any (else the weights' own). */
  public Optional<Precision> requestedPrecision() {
    return Optional.ofNullable(precision);
  }

  /** The requested backend name. */
  public String backendName() {
    return backend;
  }

  /** The thread count to use: the requested one, or the number of available cores. */
  public int threadCount() {
    return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
  }

  /** The requested device selector, if any. */
  public Optional<String> deviceSelector() {
    return Optional.ofNullable(device);
  }

  @Override
  public String toString() {
    return "Options(backend="
        + backend
        + ", threads="
        + threadCount()
        + (device != null ? ", device=" + device : "")
        + (precision != null ? ", precision=" + precision : "")
        + ")";
  }
}
