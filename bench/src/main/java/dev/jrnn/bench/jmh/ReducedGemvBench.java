package dev.jrnn.bench.jmh;

import dev.jrnn.kernels.Quant;
import dev.jrnn.kernels.Sgemm;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code C[m, n] = A[m, k] · Wᵀ} over f32, bf16 and int8 weight panels, one thread: {@code m = 1}
 * is the batch-1 recurrent step (a GEMV that streams every weight once per call), {@code m = 64} a
 * batched one. Shapes {@code k×n}: 64×128 (all formats fit L1), 256×1024 (W1's recurrent GEMV, H =
 * 256 and 4 LSTM gates: 1 MiB f32, in a 2 MiB L2) and 1024×4096 (16 MiB f32, beyond L2).
 *
 * <p>The score is calls per second (time = 1 / score); the secondary {@code flop} is FLOP/s and
 * {@code bytes} the rate of weight bytes streamed ({@link Sgemm.Panels#bytes}, scales included).
 * After {@code make build} (or {@code mvn -pl kernels,bench -am install -DskipTests}, which copies
 * the classpath to {@code bench/target/lib}): {@code java --add-modules jdk.incubator.vector -cp
 * "bench/target/classes:bench/target/lib/*" org.openjdk.jmh.Main ReducedGemvBench}. On a shared
 * machine alternate the order ({@code -p format=int8,bf16,f32}) between runs and compare medians:
 * formats measured minutes apart see different load.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ReducedGemvBench {

  /** Weight bytes streamed, reported as a rate next to the FLOP rate. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Traffic {
    /** Incremented by the weight bytes each call reads. */
    public long bytes;

    @Setup(Level.Iteration)
    public void clear() {
      bytes = 0;
    }
  }

  @Param({"f32", "bf16", "int8"})
  public String format;

  @Param({"64x128", "256x1024", "1024x4096"})
  public String shape; // k x n

  @Param({"1", "64"})
  public int m;

  private int k;
  private int n;
  private float[] a; // [m, k]
  private float[] c; // [m, columns]
  private Sgemm.Panels w; // in aligned native memory, as the backends hold weights
  private Arena arena;

  @Setup
  public void setup() {
    String[] kn = shape.split("x");
    k = Integer.parseInt(kn[0]);
    n = Integer.parseInt(kn[1]);
    SplittableRandom r = new SplittableRandom(1);
    float[] wf = new float[n * k]; // W [n, k], row-major like a layer's weights
    for (int i = 0; i < wf.length; i++) {
      wf[i] = (float) (r.nextGaussian() * 0.1); // realistic magnitudes: no subnormal products
    }
    int[] rows = new int[n];
    for (int j = 0; j < n; j++) {
      rows[j] = j;
    }
    w =
        switch (format) {
          case "f32" -> Sgemm.packRows(wf, 0, k, k, rows);
          case "bf16" -> {
            short[] wb = new short[wf.length];
            for (int i = 0; i < wf.length; i++) {
              wb[i] = Quant.toBf16(wf[i]);
            }
            yield Sgemm.packRowsBf16(wb, 0, k, k, rows);
          }
          case "int8" -> {
            byte[] wq = new byte[wf.length];
            float[] scale = new float[n];
            for (int j = 0; j < n; j++) {
              scale[j] = Quant.rowScale(wf, j * k, k);
              for (int kk = 0; kk < k; kk++) {
                wq[j * k + kk] = Quant.quantize(wf[j * k + kk], scale[j]);
              }
            }
            yield Sgemm.packRowsI8(wq, 0, k, scale, 0, k, rows);
          }
          default -> throw new IllegalArgumentException("format " + format);
        };
    arena = Arena.ofShared();
    w = w.aligned(arena);
    a = new float[m * k];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) (r.nextDouble() * 2 - 1);
    }
    c = new float[m * w.columns()];
  }

  @TearDown
  public void close() {
    arena.close();
  }

  @Benchmark
  public float[] gemm(Flops f, Traffic t) {
    Sgemm.gemm(m, a, 0, k, w, 0, w.panels(), c, 0, w.columns(), Sgemm.Mode.OVERWRITE, null, 0);
    f.flop += 2L * m * k * n;
    t.bytes += w.bytes();
    return c;
  }
}
