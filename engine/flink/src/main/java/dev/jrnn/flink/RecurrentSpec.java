package dev.jrnn.flink;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a per-key recurrent operator runs: the model, how an event becomes one timestep of the
 * model's inputs, how a step's outputs become an output record, and how long an idle key's state
 * lives. Immutable and serializable: it travels with the job graph to every task, which opens the
 * model once. Used by {@link RecurrentStateFunction} (one step per event) and {@link
 * BatchedRecurrentStateOperator} (many keys' steps in one batched step).
 *
 * <pre>{@code
 * RecurrentSpec<String, Click, Score> spec = RecurrentSpec.<String, Click, Score>builder()
 *     .model(Path.of("/models/churn.jrnn"))              // read by every task; or model(bytes)
 *     .input("x", Click::features)                       // one timestep's features, float[C]
 *     .output((user, click, out) -> new Score(user, out.get("prob")[0]))
 *     .stateTtl(Duration.ofDays(7))                      // idle users start again from zero
 *     .build();
 * }</pre>
 *
 * @param <K> the key type of the keyed stream
 * @param <IN> the event type
 * @param <OUT> the output type
 */
public final class RecurrentSpec<K, IN, OUT> implements Serializable {

  private static final long serialVersionUID = 1L;

  /** One timestep's F32 values of a model input for one event (its shape without T and N). */
  @FunctionalInterface
  public interface FloatFeatures<IN> extends Serializable {
    /** The values for {@code event}; their count must be the input's per-row size. */
    float[] of(IN event);
  }

  /** One timestep's I32 values (token ids) of a model input for one event. */
  @FunctionalInterface
  public interface IntFeatures<IN> extends Serializable {
    /** The values for {@code event}; their count must be the input's per-row size. */
    int[] of(IN event);
  }

  /**
   * Makes the output record of one event from the step's outputs for its key: graph output name to
   * that key's row (the output's shape without the batch dimension, flattened). The arrays are the
   * mapper's to keep.
   */
  @FunctionalInterface
  public interface OutputMapper<K, IN, OUT> extends Serializable {
    /** The output record for {@code event} of {@code key}. */
    OUT map(K key, IN event, Map<String, float[]> outputs);
  }

  /** One model input and where its values come from: exactly one of the two is set. */
  record Input<IN>(String name, FloatFeatures<IN> floats, IntFeatures<IN> ints)
      implements Serializable {}

  private final String modelPath; // a Path is not serializable
  private final byte[] modelBytes;
  private final List<Input<IN>> inputs;
  private final OutputMapper<K, IN, OUT> output;
  private final String backend;
  private final int threads;
  private final Duration stateTtl; // null: keys never expire
  private final String stateName;

  private RecurrentSpec(Builder<K, IN, OUT> b) {
    this.modelPath = b.modelPath;
    this.modelBytes = b.modelBytes;
    this.inputs = List.copyOf(b.inputs);
    this.output = b.output;
    this.backend = b.backend;
    this.threads = b.threads;
    this.stateTtl = b.stateTtl;
    this.stateName = b.stateName;
  }

  /** A builder; {@link Builder#model}, at least one input and {@link Builder#output} are needed. */
  public static <K, IN, OUT> Builder<K, IN, OUT> builder() {
    return new Builder<>();
  }

  String modelPath() {
    return modelPath;
  }

  byte[] modelBytes() {
    return modelBytes;
  }

  List<Input<IN>> inputs() {
    return inputs;
  }

  OutputMapper<K, IN, OUT> output() {
    return output;
  }

  String backend() {
    return backend;
  }

  int threads() {
    return threads;
  }

  /** How long a key's state lives after its last step; null when keys never expire. */
  public Duration stateTtl() {
    return stateTtl;
  }

  /** The name of the keyed state holding each key's recurrent state. */
  public String stateName() {
    return stateName;
  }

  @Override
  public String toString() {
    return "RecurrentSpec(model="
        + (modelPath != null ? modelPath : modelBytes.length + " bytes")
        + ", inputs="
        + inputs.stream().map(Input::name).toList()
        + ", backend="
        + backend
        + ", threads="
        + threads
        + ", stateTtl="
        + (stateTtl == null ? "none" : stateTtl)
        + ")";
  }

  /** Builds a {@link RecurrentSpec}. */
  public static final class Builder<K, IN, OUT> {
    private String modelPath;
    private byte[] modelBytes;
    private final List<Input<IN>> inputs = new ArrayList<>();
    private OutputMapper<K, IN, OUT> output;
    private String backend = "auto";
    private int threads = 1;
    private Duration stateTtl;
    private String stateName = "jrnn-state";

    private Builder() {}

    /**
     * The model file ({@code Session.open(path, ...)}: a jrnn model or ONNX), read by every task
     * when it opens: a path every TaskManager can read.
     */
    public Builder<K, IN, OUT> model(Path file) {
      this.modelPath = Objects.requireNonNull(file, "file").toString();
      this.modelBytes = null;
      return this;
    }

    /** The model file's bytes, shipped with the job (for models of a few MB). */
    public Builder<K, IN, OUT> model(byte[] file) {
      Objects.requireNonNull(file, "file");
      if (file.length == 0) {
        throw new IllegalArgumentException("the model bytes are empty");
      }
      this.modelBytes = file.clone();
      this.modelPath = null;
      return this;
    }

    /** An F32 model input: one timestep of it per event, taken from the event by {@code fn}. */
    public Builder<K, IN, OUT> input(String name, FloatFeatures<IN> fn) {
      add(new Input<>(checkName(name), Objects.requireNonNull(fn, "fn"), null));
      return this;
    }

    /** An I32 model input (token ids): one timestep of it per event. */
    public Builder<K, IN, OUT> intInput(String name, IntFeatures<IN> fn) {
      add(new Input<>(checkName(name), null, Objects.requireNonNull(fn, "fn")));
      return this;
    }

    /** How each step's outputs for a key become the output record. */
    public Builder<K, IN, OUT> output(OutputMapper<K, IN, OUT> mapper) {
      this.output = Objects.requireNonNull(mapper, "mapper");
      return this;
    }

    /** The jrnn backend ({@code auto} by default). */
    public Builder<K, IN, OUT> backend(String name) {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("backend name must not be blank");
      }
      this.backend = name;
      return this;
    }

    /**
     * Threads of each task's session (1 by default: Flink's parallelism is the parallelism; more
     * pays only for large batched steps).
     */
    public Builder<K, IN, OUT> threads(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("threads must be >= 1, got " + n);
      }
      this.threads = n;
      return this;
    }

    /**
     * Expire a key's state {@code ttl} after its last step (Flink state TTL, processing time): its
     * next event starts again from the zero state. Keys never expire unless this is set.
     */
    public Builder<K, IN, OUT> stateTtl(Duration ttl) {
      Objects.requireNonNull(ttl, "ttl");
      if (ttl.isNegative() || ttl.isZero()) {
        throw new IllegalArgumentException("state TTL must be positive, got " + ttl);
      }
      this.stateTtl = ttl;
      return this;
    }

    /** The keyed state's name ({@code jrnn-state} by default). */
    public Builder<K, IN, OUT> stateName(String name) {
      this.stateName = checkName(name);
      return this;
    }

    /** Checks that a model, an input and an output mapper are given. */
    public RecurrentSpec<K, IN, OUT> build() {
      if (modelPath == null && modelBytes == null) {
        throw new IllegalStateException("no model: call model(Path) or model(byte[])");
      }
      if (inputs.isEmpty()) {
        throw new IllegalStateException("no input: call input(name, fn) for the model's inputs");
      }
      if (output == null) {
        throw new IllegalStateException("no output mapper: call output(mapper)");
      }
      return new RecurrentSpec<>(this);
    }

    private void add(Input<IN> in) {
      for (Input<IN> i : inputs) {
        if (i.name().equals(in.name())) {
          throw new IllegalArgumentException("input '" + in.name() + "' is given twice");
        }
      }
      inputs.add(in);
    }

    private static String checkName(String name) {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("name must not be blank");
      }
      return name;
    }
  }
}
