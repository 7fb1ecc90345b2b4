package dev.jrnn.onednn;

import static dev.jrnn.onednn.OneDnn.check;
import static dev.jrnn.onednn.OneDnn.handle;
import static java.lang.foreign.ValueLayout.ADDRESS;

import dev.jrnn.Activation;
import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.backend.java.JavaBackend;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.WorkerPool;
import dev.jrnn.onednn.ffi.Dnnl;
import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.TrainableNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * oneDNN's RNN primitives (libdnnl.so.2, oneDNN 2.6) through the FFM API: vanilla RNN (tanh, relu,
 * logistic), LSTM with peepholes and projection, GRU and linear-before-reset GRU, in every
 * direction and merge. Runs recurrent layers only; everything else, and the recurrent features
 * oneDNN lacks (per-row sequence lengths, clip, coupled gates, other activations), is placed on
 * {@code java} by the session, which logs it. With bf16 or int8 weights, small batches run on
 * java's step loop and fused cells with oneDNN's inner-product (bf16) and matmul (int8) primitives
 * for the matrix products (see {@link Reduced}).
 *
 * <p>Training: {@code forward_training} keeps oneDNN's workspace for the backward primitives
 * ({@link OneDnnTrainable}). Primitives are made per shape (T, N) and the most recently used shapes
 * kept; T = 0 and N = 0 are answered without oneDNN, which cannot take them.
 *
 * <p>Threads: Debian's libdnnl2 is built with OpenMP. Each call sets the calling thread's OpenMP
 * thread count to {@code Options.threads} ({@code omp_set_num_threads}), so the option takes effect
 * per session; {@code OMP_NUM_THREADS} only sets the default for other callers. The step loop runs
 * on a jrnn thread pool of {@code Options.threads} threads per session, each calling oneDNN on one
 * OpenMP thread for its share of the columns.
 */
public final class OneDnnBackend implements Backend {

  @Override
  public String name() {
    return "onednn";
  }

  @Override
  public Availability availability() {
    return OneDnn.availability();
  }

  @Override
  public int priority() {
    return 50;
  }

  @Override
  public String unsupported(Node node) {
    return whyNot(node);
  }

  private static String whyNot(Node node) {
    if (!(node.op() instanceof Op.RecurrentLayer r)) {
      return "onednn runs recurrent layers only";
    }
    if (r.inputSize() == 0) {
      return "oneDNN cannot take 0 input features";
    }
    Recurrent s = r.spec();
    if (node.input(Op.RecurrentLayer.LENGTHS) != null) {
      return "oneDNN has no per-row sequence lengths";
    }
    if (s.hasClip()) {
      return "oneDNN has no cell clip";
    }
    if (s.isCoupledInputForget()) {
      return "oneDNN has no coupled input-forget gate";
    }
    if (s.cell() == Recurrent.Cell.RNN) {
      return rnnActivation(s) == null
          ? "oneDNN's RNN takes one of tanh, relu, leaky relu, sigmoid for both directions"
          : null;
    }
    if (!s.hasDefaultActivations()) {
      return "oneDNN's " + s.cell() + " has fixed activations";
    }
    return null;
  }

  /**
   * Recurrent layers in bf16 (where the CPU has AVX512_BF16) and in int8 (where it has
   * AVX512_VNNI): small batches on java's step loop with oneDNN's products, larger ones on the RNN
   * primitive where it takes the layer; see {@link Reduced} for the paths and formats and {@link
   * #reducedWhyNot} for the reasons of a refusal.
   */
  @Override
  public boolean reducedWeights(Node node, Precision p) {
    return reducedWhyNot(node, p) == null;
  }

  /** Why onednn does not run {@code node} with weight matrices in {@code p}, or null. */
  static String reducedWhyNot(Node node, Precision p) {
    String why = whyNot(node);
    return why != null ? why : Reduced.whyNot(node, p);
  }

  /** onednn trains every recurrent layer it runs (forward_training and backward primitives). */
  @Override
  public String untrainable(Node node) {
    if (node.op() instanceof Op.RecurrentLayer r && r.spec().hasDropout()) {
      return "oneDNN's RNN primitives have no dropout inside the stack";
    }
    return whyNot(node);
  }

  /** oneDNN's activation for a vanilla RNN as {alg, alpha}, or null when it has none. */
  static float[] rnnActivation(Recurrent s) {
    Activation a = s.activation(0, 0);
    for (int d = 1; d < s.directions(); d++) {
      if (!s.activation(d, 0).equals(a)) {
        return null;
      }
    }
    return switch (a.kind()) {
      case TANH -> new float[] {Dnnl.dnnl_eltwise_tanh(), 0};
      case RELU -> new float[] {Dnnl.dnnl_eltwise_relu(), 0};
      case LEAKY_RELU -> new float[] {Dnnl.dnnl_eltwise_relu(), a.alpha()};
      case SIGMOID -> new float[] {Dnnl.dnnl_eltwise_logistic(), 0};
      case AFFINE, THRESHOLDED_RELU, SCALED_TANH, HARD_SIGMOID, ELU, SOFTSIGN, SOFTPLUS -> null;
    };
  }

  @Override
  public Context open(Options options) {
    Availability a = availability();
    if (!a.available()) {
      throw new IllegalStateException("onednn is not available: " + a.reason());
    }
    return new OneDnnContext(options.threadCount());
  }

  /**
   * One engine per session, and what its compiled nodes hold: each node's weights and primitives
   * are freed when the context closes (primitives of evicted shapes earlier), the engine and the
   * per-workspace streams with its arena.
   */
  static final class OneDnnContext implements Context {
    final Arena arena = Arena.ofShared();
    final MemorySegment engine;
    final int threads;
    private final int stepwiseBatch = OneDnnRecurrent.stepwiseBatch();
    private final List<AutoCloseable> nodes = new ArrayList<>(); // guarded by this
    private WorkerPool pool; // guarded by this
    private boolean closed; // guarded by this

    OneDnnContext(int threads) {
      this.threads = threads;
      try {
        MemorySegment out = arena.allocate(ADDRESS);
        check(Dnnl.dnnl_engine_create(out, Dnnl.dnnl_cpu(), 0), "dnnl_engine_create");
        this.engine = handle(out).reinterpret(arena, e -> Dnnl.dnnl_engine_destroy(e));
      } catch (RuntimeException | Error e) {
        arena.close();
        throw e;
      }
    }

    @Override
    public CompiledNode compile(Node node, Map<String, Tensor> weights) {
      Op.RecurrentLayer op = (Op.RecurrentLayer) node.op();
      Precision p = RnnStack.matrixPrecision(op, node.name(), weights);
      if (p == Precision.BF16 || p == Precision.INT8) {
        return compileReduced(node, op, p, weights);
      }
      RnnStack stack = stack(node, weights);
      try {
        OneDnnRecurrent r = new OneDnnRecurrent(stack, null, stack.precision, false, 0);
        return register(
            r,
            () -> {
              r.close();
              stack.close();
            });
      } catch (RuntimeException | Error e) {
        stack.close(); // register closes it too when the context is closed: close is idempotent
        throw e;
      }
    }

    /**
     * A layer with bf16 or int8 weights: java's step loop on {@link OneDnnProduct}s, and oneDNN's
     * RNN primitive for batches above {@link OneDnnRecurrent#stepwiseBatch} where it runs the
     * layer.
     */
    private CompiledNode compileReduced(
        Node node, Op.RecurrentLayer op, Precision p, Map<String, Tensor> weights) {
      checkOpen();
      List<OneDnnProduct> products = new ArrayList<>();
      RnnStack stack = null;
      try {
        CompiledNode stepwise =
            JavaBackend.recurrentLayer(
                op,
                node.name(),
                weights,
                pool(),
                (w, name, k, columns) -> {
                  OneDnnProduct product = new OneDnnProduct(engine, w, name, k, columns);
                  products.add(product);
                  return product;
                });
        if (Reduced.primitiveWhyNot(op.spec(), p) == null) {
          stack = stack(node, weights);
        }
        OneDnnRecurrent r =
            new OneDnnRecurrent(stack, stepwise, p, op.spec().isBatchFirst(), stepwiseBatch);
        RnnStack s = stack;
        return register( // closes all of it itself when the context is closed already
            r,
            () -> {
              r.close();
              if (s != null) {
                s.close();
              }
              products.forEach(OneDnnProduct::close);
            });
      } catch (RuntimeException | Error e) {
        if (stack != null) {
          stack.close(); // idempotent, like the products' close
        }
        products.forEach(OneDnnProduct::close);
        throw e;
      }
    }

    /** The threads of java's step loop for layers on {@link OneDnnProduct}s, made on first use. */
    private synchronized WorkerPool pool() {
      if (closed) {
        throw closedError();
      }
      if (pool == null) {
        pool = new WorkerPool(threads);
      }
      return pool;
    }

    /** forward_training with the workspace and the backward primitives, for nodes onednn runs. */
    @Override
    public TrainableNode compileForTraining(Node node, Map<String, Tensor> weights) {
      if (whyNot(node) != null) {
        return null;
      }
      RnnStack stack = stack(node, weights);
      if (stack.precision != Precision.F32) {
        stack.close();
        throw new IllegalArgumentException(
            "onednn trains in f32; '" + node.name() + "' has " + stack.precision + " weights");
      }
      try {
        OneDnnTrainable t = new OneDnnTrainable(stack);
        return register(t, t);
      } catch (RuntimeException | Error e) {
        stack.close();
        throw e;
      }
    }

    private RnnStack stack(Node node, Map<String, Tensor> weights) {
      checkOpen();
      return new RnnStack((Op.RecurrentLayer) node.op(), node.name(), weights, this);
    }

    private synchronized <T> T register(T node, AutoCloseable close) {
      if (closed) {
        closeNode(close);
        throw closedError();
      }
      nodes.add(close);
      return node;
    }

    private synchronized void checkOpen() {
      if (closed) {
        throw closedError();
      }
    }

    private static IllegalStateException closedError() {
      return new IllegalStateException("onednn context is used after close");
    }

    /** A stream for one workspace, freed with the context ({@code key}: the cache's, unused). */
    MemorySegment newStream(Object key) {
      return OneDnn.stream(engine).reinterpret(arena, Dnnl::dnnl_stream_destroy);
    }

    /** Frees every node's primitives and weights, then the streams and the engine. */
    @Override
    public void close() {
      List<AutoCloseable> all;
      WorkerPool threads;
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        all = new ArrayList<>(nodes);
        nodes.clear();
        threads = pool;
      }
      RuntimeException failure = null;
      for (int i = all.size() - 1; i >= 0; i--) {
        try {
          closeNode(all.get(i));
        } catch (RuntimeException e) {
          failure = failure == null ? e : failure;
        }
      }
      if (threads != null) {
        threads.close();
      }
      arena.close();
      if (failure != null) {
        throw failure;
      }
    }

    private static void closeNode(AutoCloseable c) {
      try {
        c.close();
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException("closing an onednn node failed", e);
      }
    }
  }
}
