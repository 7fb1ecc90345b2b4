package dev.jrnn.bench.jmh;

import dev.jrnn.DType;
import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.bench.Engine;
import dev.jrnn.bench.Workload;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The standard workloads (inference, outputs preallocated) on a jrnn backend or on ONNX Runtime
 * ({@code ort}), same weights and input for all, {@code threads} threads each, with the weight
 * matrices in {@code precision} (f32, bf16 or int8; {@code ort} runs f32 only).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class WorkloadBench {

  @Param({"W1", "W2", "W3", "W4", "W5"})
  public String workload;

  @Param({"java", "ort"})
  public String engine;

  @Param({"1", "2"})
  public int threads;

  @Param({"f32"})
  public String precision;

  private Workload w;
  private Weights weights;
  private Tensor x;
  private Engine e;

  @Setup(Level.Trial)
  public void setup() {
    w = Workload.byId(workload);
    weights = Weights.random(w.graph(), 1);
    x = input(w);
    e = Engine.open(engine, w, threads, weights, x, Precision.parse(precision));
  }

  /** The input every engine sees: uniform in [-1, 1), seed 2. */
  public static Tensor input(Workload w) {
    Tensor t = Tensor.allocate(DType.F32, w.steps(), w.batch(), w.input());
    SplittableRandom r = new SplittableRandom(2);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) (r.nextDouble() * 2 - 1));
    }
    return t;
  }

  @Benchmark
  public void forward() {
    e.run();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    e.close();
    x.close();
    weights.close();
  }
}
