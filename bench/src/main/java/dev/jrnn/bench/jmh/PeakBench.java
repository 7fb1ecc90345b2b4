package dev.jrnn.bench.jmh;

import dev.jrnn.kernels.Simd;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's FMA peak as the Vector API reaches it: 12 independent FMA chains on the species the
 * kernels use. Run with 1 and 2 threads ({@code -t}) for the per-core and per-machine peak.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class PeakBench {

  private static final VectorSpecies<Float> S =
      Simd.VECTOR ? Simd.F : FloatVector.SPECIES_PREFERRED;
  private static final int ITERS = 1 << 20;

  /** 12 chains × 2 FLOP × lanes × ITERS per call. */
  @Benchmark
  public float fmaPeak(Flops f) {
    FloatVector x = FloatVector.broadcast(S, 0.999999f);
    FloatVector y = FloatVector.broadcast(S, 1e-7f);
    FloatVector a0 = FloatVector.broadcast(S, 1f);
    FloatVector a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    FloatVector a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    for (int i = 0; i < ITERS; i++) {
      a0 = a0.fma(x, y);
      a1 = a1.fma(x, y);
      a2 = a2.fma(x, y);
      a3 = a3.fma(x, y);
      a4 = a4.fma(x, y);
      a5 = a5.fma(x, y);
      a6 = a6.fma(x, y);
      a7 = a7.fma(x, y);
      a8 = a8.fma(x, y);
      a9 = a9.fma(x, y);
      a10 = a10.fma(x, y);
      a11 = a11.fma(x, y);
    }
    f.flop += 24L * S.length() * ITERS;
    return a0.add(a1)
        .add(a2)
        .add(a3)
        .add(a4)
        .add(a5)
        .add(a6)
        .add(a7)
        .add(a8)
        .add(a9)
        .add(a10)
        .add(a11)
        .reduceLanes(VectorOperators.ADD);
  }
}
