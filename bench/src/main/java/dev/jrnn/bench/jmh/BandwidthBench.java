package dev.jrnn.bench.jmh;

import dev.jrnn.kernels.Simd;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.AuxCounters;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Read bandwidth as the Vector API reaches it, per thread, for a working set of {@code kib} KiB
 * read over and over: the floor a batch-1 recurrent step sits on, which streams its recurrent
 * matrix once per step. Pick the sizes from the machine's caches (a set well inside L2, one well
 * inside L3, one far past it); run with {@code -t 1} and {@code -t 2}. Reports GB/s through the
 * {@code bytes} counter (bytes read per second).
 *
 * <pre>{@code java ... org.openjdk.jmh.Main BandwidthBench -p kib=512,1024,16384,262144 -t 1}</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class BandwidthBench {

  private static final VectorSpecies<Float> S =
      Simd.VECTOR ? Simd.F : FloatVector.SPECIES_PREFERRED;

  /** Working set per thread, KiB. */
  @Param({"512", "1024", "16384", "262144"})
  public int kib;

  private float[] data;

  /** Bytes read, as a rate. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Bytes {
    public long bytes;

    @Setup(Level.Iteration)
    public void clean() {
      bytes = 0;
    }
  }

  @Setup
  public void setup() {
    data = new float[kib * 256];
    for (int i = 0; i < data.length; i++) {
      data[i] = i % 7;
    }
  }

  /** One pass over the set with four independent accumulators (loads, not adds, bound it). */
  @Benchmark
  public float read(Bytes b) {
    int vl = S.length();
    FloatVector a0 = FloatVector.zero(S);
    FloatVector a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 4 * vl <= data.length; i += 4 * vl) {
      a0 = a0.add(FloatVector.fromArray(S, data, i));
      a1 = a1.add(FloatVector.fromArray(S, data, i + vl));
      a2 = a2.add(FloatVector.fromArray(S, data, i + 2 * vl));
      a3 = a3.add(FloatVector.fromArray(S, data, i + 3 * vl));
    }
    b.bytes += 4L * i;
    return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
  }
}
