package dev.jrnn.flink;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Objects;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Like {@link RecurrentStateFunction}, one step and one output per event with each key's state in
 * Flink keyed state, but many keys' steps are gathered into one batched {@code Session.step}: a
 * batch state of {@code rows} rows is loaded from the keys' stored states, stepped once, and
 * scattered back. On small models this multiplies the events a task steps per second.
 *
 * <pre>{@code
 * DataStream<Score> scores = clicks
 *     .keyBy(Click::user)
 *     .transform("churn", TypeInformation.of(Score.class),
 *         new BatchedRecurrentStateOperator<>(spec, 256, Duration.ofMillis(5)));
 * }</pre>
 *
 * <p>Events wait in the task's memory and are stepped when {@code rows} distinct keys are waiting,
 * when {@code 4 · rows} events are, when the oldest has waited {@code maxDelay} (processing time),
 * before a checkpoint barrier or a watermark is passed on, and at the end of the input: every
 * checkpoint holds only stepped states, and no output is late for a watermark. A key's several
 * waiting events are stepped in order, one batched step each. Each step has {@code rows} rows
 * whatever the number waiting (the session plans one shape once), so a too large {@code rows} costs
 * compute at low rates.
 *
 * <p>Outputs keep their event's timestamp; each key's outputs come in its events' order, though
 * different keys' outputs may be reordered. A batched step's rows can differ from one-row steps in
 * the last bits of a float (the java backend's matrix kernels sum a row differently in a full tile
 * and in a tail), so outputs agree with {@link RecurrentStateFunction}'s to about 1e-6, not
 * bit-exactly.
 *
 * @param <K> key type
 * @param <IN> event type
 * @param <OUT> output type
 */
public class BatchedRecurrentStateOperator<K, IN, OUT> extends AbstractStreamOperator<OUT>
    implements OneInputStreamOperator<IN, OUT> {

  private static final long serialVersionUID = 1L;

  /** Waiting events, as a multiple of {@code rows}, that force a flush (hot keys). */
  static final int BUFFER_FACTOR = 4;

  private final RecurrentSpec<K, IN, OUT> spec;
  private final int rows;
  private final long maxDelayMillis;

  private transient Stepper<K, IN> stepper;
  private transient ValueState<float[]> states;
  private transient TypeSerializer<IN> copier; // set when object reuse lets upstream reuse events
  private transient List<Pending<IN>> waiting;
  private transient HashMap<Object, Integer> perKey; // waiting events of each key
  private transient int waves; // the most waiting events of one key
  private transient boolean timerSet;
  private transient Pending<?>[] wave;
  private transient int[] order;

  /** An event waiting for its step: its key, its inputs, and its place among its key's events. */
  private record Pending<IN>(
      Object key, IN event, Object[] features, long timestamp, boolean hasTimestamp, int wave) {}

  /**
   * An operator running {@code spec} with steps of {@code rows} keys, an event waiting at most
   * {@code maxDelay}.
   */
  public BatchedRecurrentStateOperator(
      RecurrentSpec<K, IN, OUT> spec, int rows, Duration maxDelay) {
    this.spec = Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(maxDelay, "maxDelay");
    if (rows < 1) {
      throw new IllegalArgumentException("rows must be >= 1, got " + rows);
    }
    if (maxDelay.toMillis() < 1) {
      throw new IllegalArgumentException("maxDelay must be at least 1 ms, got " + maxDelay);
    }
    this.rows = rows;
    this.maxDelayMillis = maxDelay.toMillis();
  }

  @Override
  public void open() throws Exception {
    super.open();
    states = getPartitionedState(RecurrentStateFunction.descriptor(spec));
    if (getExecutionConfig().isObjectReuseEnabled()) {
      copier = getOperatorConfig().getTypeSerializerIn(0, getUserCodeClassloader());
    }
    waiting = new ArrayList<>();
    perKey = new HashMap<>();
    wave = new Pending<?>[rows];
    order = new int[rows * BUFFER_FACTOR];
    stepper = new Stepper<>(spec, rows);
  }

  @Override
  public void processElement(StreamRecord<IN> record) throws Exception {
    Object key = getCurrentKey();
    IN event = copier != null ? copier.copy(record.getValue()) : record.getValue();
    Object[] features = stepper.features(event, key); // a bad event fails here, not in a flush
    int w = perKey.merge(key, 1, Integer::sum) - 1;
    waves = Math.max(waves, w + 1);
    waiting.add(
        new Pending<>(key, event, features, record.getTimestamp(), record.hasTimestamp(), w));
    if (perKey.size() >= rows || waiting.size() >= rows * BUFFER_FACTOR) {
      flush();
    } else if (!timerSet) {
      timerSet = true;
      long now = getProcessingTimeService().getCurrentProcessingTime();
      getProcessingTimeService()
          .registerTimer(
              now + maxDelayMillis,
              time -> {
                timerSet = false;
                flush();
              });
    }
  }

  /**
   * Steps every waiting event: the first waiting event of each key in one batched step, then the
   * second ones, and so on, each key's row loaded from and stored to its keyed state.
   */
  @SuppressWarnings("unchecked")
  private void flush() throws Exception {
    if (waiting.isEmpty()) {
      return;
    }
    Object previous = getCurrentKey();
    // Waiting events ordered by wave, arrival order within a wave (a counting sort).
    int[] start = new int[waves + 1];
    for (Pending<IN> p : waiting) {
      start[p.wave() + 1]++;
    }
    for (int w = 0; w < waves; w++) {
      start[w + 1] += start[w];
    }
    int[] next = start.clone();
    for (int i = 0; i < waiting.size(); i++) {
      order[next[waiting.get(i).wave()]++] = i;
    }
    for (int w = 0; w < waves; w++) {
      int n = start[w + 1] - start[w];
      for (int r = 0; r < n; r++) {
        Pending<IN> p = waiting.get(order[start[w] + r]);
        wave[r] = p;
        setCurrentKey(p.key());
        stepper.load(r, states.value(), p.key());
        stepper.input(r, p.features());
      }
      stepper.step();
      for (int r = 0; r < n; r++) {
        Pending<IN> p = (Pending<IN>) wave[r];
        wave[r] = null;
        setCurrentKey(p.key());
        states.update(stepper.save(r));
        OUT out = spec.output().map((K) p.key(), p.event(), stepper.outputs(r));
        output.collect(
            p.hasTimestamp() ? new StreamRecord<>(out, p.timestamp()) : new StreamRecord<>(out));
      }
    }
    waiting.clear();
    perKey.clear();
    waves = 0;
    if (previous != null) {
      setCurrentKey(previous);
    }
  }

  @Override
  public void processWatermark(Watermark mark) throws Exception {
    flush();
    super.processWatermark(mark);
  }

  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    flush();
    super.prepareSnapshotPreBarrier(checkpointId);
  }

  @Override
  public void finish() throws Exception {
    flush();
    super.finish();
  }

  @Override
  public void close() throws Exception {
    try {
      super.close();
    } finally {
      if (stepper != null) {
        stepper.close();
        stepper = null;
      }
    }
  }
}
