package dev.jrnn.bench.jmh;

import dev.jrnn.kernels.Sgemm;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * The SGEMM kernel alone, one core, square {@code size³}: {@code prepacked} times C = A·B with B
 * packed beforehand into aligned native memory (how the backends use it: weights are packed once at
 * open); {@code packing} includes packing B in every call into that memory again, as a training
 * step does.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class SgemmBench {

  @Param({"1024"})
  public int size;

  private float[] a;
  private float[] b;
  private float[] c;
  private Sgemm.Panels packed;
  private Arena arena;

  @Setup
  public void setup() {
    SplittableRandom r = new SplittableRandom(1);
    a = new float[size * size];
    b = new float[size * size];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) r.nextDouble();
      b[i] = (float) r.nextDouble();
    }
    arena = Arena.ofShared();
    packed = Sgemm.pack(b, 0, size, size, size).aligned(arena);
    c = new float[size * packed.columns()];
  }

  @TearDown
  public void close() {
    arena.close();
  }

  @Benchmark
  public float[] prepacked() {
    Sgemm.gemm(
        size,
        a,
        0,
        size,
        packed,
        0,
        packed.panels(),
        c,
        0,
        packed.columns(),
        Sgemm.Mode.OVERWRITE,
        null,
        0);
    return c;
  }

  @Benchmark
  public float[] packing() {
    Sgemm.Panels p = Sgemm.pack(b, 0, size, size, size).copyTo(packed);
    Sgemm.gemm(
        size, a, 0, size, p, 0, p.panels(), c, 0, p.columns(), Sgemm.Mode.OVERWRITE, null, 0);
    return c;
  }
}
