package dev.jrnn.flink;

import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Keeps each key's recurrent state (h and c of every layer) in Flink keyed state and advances it by
 * one {@code Session.step} per event, emitting one output per event. The session is opened once per
 * task; the state is checkpointed and restored with the job, and expires after the spec's TTL.
 *
 * <pre>{@code
 * DataStream<Score> scores = clicks
 *     .keyBy(Click::user)
 *     .process(new RecurrentStateFunction<>(spec), TypeInformation.of(Score.class));
 * }</pre>
 *
 * <p>For many keys with small models, {@link BatchedRecurrentStateOperator} gathers many keys'
 * steps into one batched step, which is faster.
 *
 * @param <K> key type
 * @param <IN> event type
 * @param <OUT> output type
 */
public class RecurrentStateFunction<K, IN, OUT> extends KeyedProcessFunction<K, IN, OUT> {

  private static final long serialVersionUID = 1L;

  private final RecurrentSpec<K, IN, OUT> spec;
  private transient Stepper<K, IN> stepper;
  private transient ValueState<float[]> states;

  /** A function running {@code spec}. */
  public RecurrentStateFunction(RecurrentSpec<K, IN, OUT> spec) {
    this.spec = Objects.requireNonNull(spec, "spec");
  }

  /**
   * The keyed state holding each key's recurrent state: one {@code float[]} of {@code
   * State.rowSize()} floats (every node's h then c, layer by layer), with the spec's TTL. A
   * primitive float array is written by Flink's own array serializer (its length, then the raw
   * floats) on every backend, with no Kryo and no conversion.
   */
  static ValueStateDescriptor<float[]> descriptor(RecurrentSpec<?, ?, ?> spec) {
    ValueStateDescriptor<float[]> d =
        new ValueStateDescriptor<>(
            spec.stateName(), PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO);
    if (spec.stateTtl() != null) {
      d.enableTimeToLive(
          StateTtlConfig.newBuilder(spec.stateTtl())
              .updateTtlOnCreateAndWrite() // every step writes, so every event renews it
              .neverReturnExpired()
              .build());
    }
    return d;
  }

  @Override
  public void open(OpenContext context) throws Exception {
    states = getRuntimeContext().getState(descriptor(spec));
    stepper = new Stepper<>(spec, 1);
  }

  @Override
  public void processElement(IN event, Context ctx, Collector<OUT> out) throws Exception {
    K key = ctx.getCurrentKey();
    Object[] features = stepper.features(event, key);
    stepper.load(0, states.value(), key);
    stepper.input(0, features);
    stepper.step();
    states.update(stepper.save(0));
    out.collect(spec.output().map(key, event, stepper.outputs(0)));
  }

  @Override
  public void close() throws Exception {
    if (stepper != null) {
      stepper.close();
      stepper = null;
    }
  }
}
