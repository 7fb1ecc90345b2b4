package dev.jrnn.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import dev.jrnn.testing.Fixture;
import dev.jrnn.testing.GoldenSuite;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.jocl.CL;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The opencl backend itself: discovery and device choice, the ops around the recurrent layers
 * against reference, what it declares unsupported, build failures, and that close frees.
 */
class OpenClBackendTest {

  @BeforeEach
  void device() {
    Device.require();
  }

  @Test
  void isRegisteredAndNamesItsDevice() {
    Backend b = Backends.byName("opencl");
    assertTrue(b.availability().available(), b.availability().reason());
    String reason = b.availability().reason();
    assertTrue(reason.contains("compute units") && reason.contains("local memory"), reason);
    System.out.println("opencl device: " + reason);
    ClDevice.describeAll().forEach(l -> System.out.println("  " + l));
  }

  @Test
  void choosesADeviceByTypeOrNameAndSaysWhichExistWhenNoneMatches() {
    List<ClDevice.Candidate> all = ClDevice.candidates();
    ClDevice.Candidate first = ClDevice.choose(all, "");
    boolean anyGpu = all.stream().anyMatch(c -> (c.type() & CL.CL_DEVICE_TYPE_GPU) != 0);
    assertEquals(anyGpu, (first.type() & CL.CL_DEVICE_TYPE_GPU) != 0, "a GPU when there is one");
    ClDevice.Candidate byName = ClDevice.choose(all, first.deviceName().substring(0, 3));
    assertEquals(first.deviceName().substring(0, 3), byName.deviceName().substring(0, 3));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> ClDevice.choose(all, "no-such-device"));
    assertTrue(e.getMessage().contains("matches 'no-such-device'"), e.getMessage());
    assertTrue(e.getMessage().contains(first.deviceName()), e.getMessage());
    if (!anyGpu) {
      IllegalStateException g =
          assertThrows(IllegalStateException.class, () -> ClDevice.choose(all, "gpu"));
      assertTrue(g.getMessage().contains("devices: "), g.getMessage());
    }
  }

  @Test
  void aSessionAsksForItsDeviceThroughOptions() {
    Graph g =
        Graph.build(
            b ->
                b.output(
                    "y",
                    b.recurrent(
                        b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(3)),
                        Recurrent.lstm(4))));
    String name = ClDevice.choose(ClDevice.candidates(), "").deviceName();
    try (Weights w = Weights.random(g, 1);
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 1, 3)) {
      try (Session s = Session.open(g, w, Options.backend("opencl").device(name.substring(0, 3)));
          Result r = s.run(Map.of("x", x))) {
        assertEquals(8, r.get("y").size());
      }
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () -> Session.open(g, w, Options.backend("opencl").device("no-such-device")));
      assertTrue(
          e.getMessage().contains("no-such-device") && e.getMessage().contains(name),
          e.getMessage());
    }
  }

  /**
   * A scratch buffer past CL_DEVICE_MAX_MEM_ALLOC_SIZE fails before clCreateBuffer, naming it and
   * the limit (on PoCL the limit is above what the kernels' int indexing lets a shape ask for, so
   * the lane is asked directly), and the lane keeps working.
   */
  @Test
  void aBufferPastTheDevicesLargestAllocationNamesItAndTheLimit() {
    ClDevice dev = ClDevice.get();
    long live = OpenClContext.LIVE_BUFFERS.get();
    try (OpenClContext ctx = new OpenClContext(dev);
        Lane lane = new Lane(dev, ctx)) {
      lane.buffer("gates", 1024);
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class, () -> lane.buffer("gates", dev.maxAllocation + 1));
      String m = e.getMessage();
      assertTrue(m.contains("'gates'") && m.contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE"), m);
      assertTrue(
          m.contains(String.format(Locale.ROOT, "%.1f MiB", dev.maxAllocation / 1048576.0)), m);
      System.out.println("opencl: " + m);
      lane.buffer("gates", 2048);
    }
    assertEquals(live, OpenClContext.LIVE_BUFFERS.get(), "every buffer released");
  }

  /**
   * LSTM H=256, I=1, N=1 with T so that the gates buffer (T·4H floats) passes the device's largest
   * allocation while x stays small: the run fails naming the buffer and the limit, and the session
   * still runs a shape that fits.
   */
  @Test
  void aShapeTooLargeForTheDeviceNamesTheBufferAndTheLimit() {
    ClDevice dev = ClDevice.get();
    long steps = dev.maxAllocation / (4L * 1024) + 1;
    Assumptions.assumeTrue(
        steps * 1024 <= Integer.MAX_VALUE, "the kernels' int indexing stops this shape first");
    Graph g =
        Graph.build(
            b ->
                b.output(
                    "y",
                    b.recurrent(
                        b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(1)),
                        Recurrent.lstm(256))));
    try (Weights w = Weights.random(g, 1);
        Session s = Session.open(g, w, Options.backend("opencl"));
        Tensor big = Tensor.allocate(DType.F32, (int) steps, 1, 1);
        Tensor small = Tensor.allocate(DType.F32, 3, 1, 1)) {
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> s.run(Map.of("x", big)).close());
      String m = e.getMessage();
      assertTrue(m.contains("'gates'") && m.contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE"), m);
      assertTrue(
          m.contains(String.format(Locale.ROOT, "%.1f MiB", dev.maxAllocation / 1048576.0)), m);
      try (Result r = s.run(Map.of("x", small))) {
        assertEquals(3 * 256, r.get("y").size());
      }
    }
  }

  @Test
  void aKernelThatFailsToBuildGivesTheBuildLog() {
    ClDevice dev = ClDevice.get();
    String broken = "__kernel void broken(__global float* y) { y[0] = undefinedName; }";
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> ClDevice.build(dev.context, dev.device, broken, "-cl-std=CL1.2"));
    assertTrue(e.getMessage().contains("build log"), e.getMessage());
    assertTrue(e.getMessage().contains("undefinedName"), e.getMessage());
  }

  /** Embedding → LSTM → last step (ragged) → linear → each activation → (log-)softmax. */
  @Test
  void opsAroundTheRecurrentLayersMatchReference() {
    List<Activation> acts = new ArrayList<>();
    for (Activation.Kind k : Activation.Kind.values()) {
      acts.add(Activation.of(k));
    }
    acts.add(Activation.of(Activation.Kind.LEAKY_RELU, 0.3f, 0));
    acts.add(Activation.of(Activation.Kind.ELU, 0.7f, 0));
    acts.add(Activation.of(Activation.Kind.HARD_SIGMOID, 0.3f, 0.4f));
    acts.add(Activation.of(Activation.Kind.SCALED_TANH, 1.5f, 0.7f));
    acts.add(Activation.of(Activation.Kind.AFFINE, 2f, -0.5f));
    acts.add(Activation.of(Activation.Kind.THRESHOLDED_RELU, 0.2f, 0));
    Graph g =
        Graph.build(
            b -> {
              Value ids = b.input("ids", DType.I32, Dim.dyn("T"), Dim.dyn("N"));
              Value len = b.input("len", DType.I32, Dim.dyn("N"));
              Value e = b.embedding("emb", ids, 50, 9);
              Value seq = b.recurrent(e, Recurrent.lstm(13).name("rnn"), len, null, null);
              Value last = b.lastStep(seq, len, false);
              Value z = b.linear("head", last, 21, true);
              for (int i = 0; i < acts.size(); i++) {
                b.output("act" + i, b.activation(b.linear("scale" + i, z, 21, false), acts.get(i)));
              }
              b.output("p", b.softmax(z));
              b.output("logp", b.logSoftmax(z));
              b.output("seqLast", b.lastStep(seq));
            });
    SplittableRandom r = new SplittableRandom(5);
    int steps = 6;
    int batch = 4;
    int[] idv = new int[steps * batch];
    for (int i = 0; i < idv.length; i++) {
      idv[i] = r.nextInt(50);
    }
    try (Weights w = Weights.random(g, 3);
        Tensor ids = Tensor.of(idv, steps, batch);
        Tensor len = Tensor.of(new int[] {6, 1, 4, 3}, batch);
        Session ref = Session.open(g, w, Options.backend("reference"));
        Session s = Session.open(g, w, Options.backend("opencl"));
        Result want = ref.run(Map.of("ids", ids, "len", len));
        Result got = s.run(Map.of("ids", ids, "len", len))) {
      s.placement().forEach((node, backend) -> assertEquals("opencl", backend, node));
      double max = 0;
      for (String name : want.names()) {
        double d = Fixture.maxAbsDiff(want.get(name), got.get(name));
        assertTrue(d <= GoldenSuite.TOLERANCE, name + ": max abs diff " + d);
        max = Math.max(max, d);
      }
      System.out.printf("opencl ops vs reference: max|diff| %.2e%n", max);
    }
  }

  @Test
  void anOutOfVocabularyIdNamesItsPosition() {
    Graph g =
        Graph.build(
            b -> {
              Value ids = b.input("ids", DType.I32, Dim.dyn("N"));
              b.output("e", b.embedding("emb", ids, 5, 3));
            });
    try (Weights w = Weights.random(g, 1);
        Tensor ids = Tensor.of(new int[] {1, 7}, 2);
        Session s = Session.open(g, w, Options.backend("opencl"))) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> s.run(Map.of("ids", ids)));
      assertTrue(e.getMessage().contains("token id 7 at position 1"), e.getMessage());
    }
  }

  @Test
  void declaresHostOpsUnsupportedWithAReasonAndTheSessionMovesThemToJava() {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(4));
              Value y = b.recurrent(x, Recurrent.gru(5).name("rnn"));
              Value d = b.dropout(y, 0.5);
              b.output("y", b.add(d, d));
              b.output("c", b.concat(2, y, y));
            });
    Map<String, String> placed = Session.placement(g, Options.backend("opencl"));
    assertEquals("opencl", placed.get("rnn"));
    long onJava = placed.values().stream().filter("java"::equals).count();
    assertEquals(2, onJava, placed.toString()); // add, concat (dropout: a host copy on opencl)
  }

  /** Close releases every device buffer a session made; a closed context refuses to compile. */
  @Test
  void closeFreesEveryDeviceBufferAndUseAfterCloseThrows() {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(6));
              Value y = b.recurrent(x, Recurrent.lstm(8).projection(3).bidirectional().name("rnn"));
              b.output("y", b.linear("head", y, 2, true));
            });
    long before = OpenClContext.LIVE_BUFFERS.get();
    try (Weights w = Weights.random(g, 1);
        Tensor x = Tensor.allocate(DType.F32, 5, 2, 6)) {
      Session s = Session.open(g, w, Options.backend("opencl"));
      s.run(Map.of("x", x)).close();
      assertTrue(OpenClContext.LIVE_BUFFERS.get() > before, "the session holds device buffers");
      s.close();
      assertEquals(before, OpenClContext.LIVE_BUFFERS.get(), "buffers left after close");
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> s.run(Map.of("x", x)));
      assertTrue(e.getMessage().contains("used after close"), e.getMessage());
    }
    OpenClContext ctx = new OpenClContext(ClDevice.get());
    ctx.close();
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> ctx.weights(new float[] {1}));
    assertTrue(e.getMessage().contains("opencl context is used after close"), e.getMessage());
  }

  /** Zero timesteps: final states are the initial ones, nothing reaches the device. */
  @Test
  void zeroTimestepsGiveTheInitialStates() {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(3));
              Value h0 = b.input("h0", DType.F32, Dim.of(1), Dim.dyn("N"), Dim.of(4));
              Value y = b.recurrent(x, Recurrent.gru(4).name("rnn"), null, h0, null);
              b.output("y", y);
              b.output("h", y.finalH());
            });
    try (Weights w = Weights.random(g, 1);
        Tensor x = Tensor.allocate(DType.F32, 0, 2, 3);
        Tensor h0 = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 4);
        Session s = Session.open(g, w, Options.backend("opencl"));
        Result r = s.run(Map.of("x", x, "h0", h0))) {
      assertEquals(0, r.get("y").size());
      assertEquals(
          java.util.Arrays.toString(h0.toFloatArray()),
          java.util.Arrays.toString(r.get("h").toFloatArray()));
    }
  }
}
