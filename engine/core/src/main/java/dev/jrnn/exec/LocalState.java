package dev.jrnn.exec;

import dev.jrnn.DType;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Recurrent;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.io.SafeTensors;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The {@link State} implementation: per recurrent node its h (and c) tensors, allocated at the
 * first step. The session retains them for the duration of a step, so closing the state meanwhile
 * frees them only when the step ends.
 */
final class LocalState implements State {

  private final LocalSession session;
  private final List<Node> nodes;
  private final Map<String, Tensor[]> tensors = new LinkedHashMap<>();
  private final AtomicBoolean busy = new AtomicBoolean();
  private int batch = -1;
  private boolean closed;

  LocalState(LocalSession session, List<Node> nodes) {
    this.session = session;
    this.nodes = nodes;
  }

  @Override
  public synchronized int batchSize() {
    return batch;
  }

  @Override
  public synchronized void reset() {
    checkOpen();
    tensors
        .values()
        .forEach(
            a -> {
              for (Tensor t : a) {
                t.zero();
              }
            });
  }

  @Override
  public synchronized void reset(int batchSize) {
    checkOpen();
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    }
    if (batchSize == batch && tensors.size() == nodes.size()) {
      reset();
      return;
    }
    Map<String, Tensor[]> fresh = new LinkedHashMap<>();
    try {
      for (Node n : nodes) {
        fresh.put(n.name(), fresh(n, batchSize));
      }
    } catch (RuntimeException | Error e) {
      fresh.values().forEach(a -> Arrays.stream(a).forEach(Tensor::close));
      throw e;
    }
    freeAll();
    tensors.putAll(fresh);
    batch = batchSize;
  }

  @Override
  public int rowSize() {
    int size = 0;
    for (Node n : nodes) {
      for (int[] shape : shapes(n, 1)) {
        size += shape[0] * shape[2];
      }
    }
    return size;
  }

  @Override
  public synchronized void readRow(int row, float[] dst, int offset) {
    copyRow(row, dst, offset, true);
  }

  @Override
  public synchronized void writeRow(int row, float[] src, int offset) {
    copyRow(row, src, offset, false);
  }

  /** Row {@code row} of every [L·D, N, H] tensor is L·D runs of H floats, N·H apart. */
  private void copyRow(int row, float[] array, int offset, boolean read) {
    checkOpen();
    if (batch < 0) {
      throw new IllegalStateException(
          "the state is empty until the first step or reset(batchSize)");
    }
    Objects.checkIndex(row, batch);
    int size = rowSize();
    Objects.checkFromIndexSize(offset, size, array.length);
    int at = offset;
    for (Node n : nodes) {
      Tensor[] hc = tensors.get(n.name());
      if (hc == null) { // allocated lazily by a step; a row of a missing node is zero
        hc = fresh(n, batch);
        tensors.put(n.name(), hc);
      }
      for (Tensor t : hc) {
        int layers = t.dim(0);
        int h = t.dim(2);
        for (int l = 0; l < layers; l++) {
          long bytes = ((long) l * batch + row) * h * Float.BYTES;
          if (read) {
            MemorySegment.copy(t.segment(), ValueLayout.JAVA_FLOAT, bytes, array, at, h);
          } else {
            MemorySegment.copy(array, at, t.segment(), ValueLayout.JAVA_FLOAT, bytes, h);
          }
          at += h;
        }
      }
    }
  }

  @Override
  public State copy() {
    LocalState s = new LocalState(session, nodes);
    s.copyFrom(this);
    return s;
  }

  /** Copies under {@code other}'s lock, then replaces under this one's: never both held. */
  @Override
  public void copyFrom(State state) {
    if (!(state instanceof LocalState other) || other.session != session) {
      throw new IllegalArgumentException("the state belongs to another session");
    }
    if (other == this) {
      checkOpen();
      return;
    }
    Map<String, Tensor[]> copies = new LinkedHashMap<>();
    int b;
    synchronized (other) {
      other.checkOpen();
      b = other.batch;
      for (Map.Entry<String, Tensor[]> e : other.tensors.entrySet()) {
        Tensor[] a = new Tensor[e.getValue().length];
        for (int i = 0; i < a.length; i++) {
          a[i] = e.getValue()[i].copy();
        }
        copies.put(e.getKey(), a);
      }
    }
    synchronized (this) {
      if (closed) {
        copies.values().forEach(a -> Arrays.stream(a).forEach(Tensor::close));
        checkOpen();
      }
      freeAll();
      tensors.putAll(copies);
      batch = b;
    }
  }

  @Override
  public synchronized Tensor hidden(String node) {
    Tensor h = get(node)[0];
    return h.reshape(h.shape()); // a view: closing it leaves the state's memory alone
  }

  @Override
  public synchronized Tensor cell(String node) {
    Tensor[] a = get(node);
    if (a.length < 2) {
      throw new IllegalArgumentException("node '" + node + "' has no cell state");
    }
    return a[1].reshape(a[1].shape());
  }

  private Tensor[] get(String node) {
    checkOpen();
    if (batch < 0) {
      throw new IllegalStateException("the state is empty until the first step");
    }
    Tensor[] a = tensors.get(node);
    if (a == null) {
      throw new IllegalArgumentException(
          "no recurrent node '" + node + "'; state holds: " + String.join(", ", tensors.keySet()));
    }
    return a;
  }

  @Override
  public synchronized void save(Path file) {
    checkOpen();
    Map<String, Tensor> m = new LinkedHashMap<>();
    tensors.forEach(
        (k, a) -> {
          m.put(k + ".h", a[0]);
          if (a.length > 1) {
            m.put(k + ".c", a[1]);
          }
        });
    try {
      SafeTensors.write(file, m, Map.of("jrnn.state.batch", Integer.toString(batch)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write state to " + file, e);
    }
  }

  /** Checks every tensor of the file before allocating anything; a bad file changes nothing. */
  @Override
  public synchronized void load(Path file) {
    checkOpen();
    try (SafeTensors.Contents c = SafeTensors.read(file)) {
      int b = -1;
      for (Node n : nodes) {
        Tensor h = c.tensors().get(n.name() + ".h");
        if (h == null) {
          throw new ModelFormatException(file + ": no state for node '" + n.name() + "'");
        }
        if (h.rank() != 3) {
          throw new ModelFormatException(
              file + ": '" + n.name() + ".h' is " + h.describe() + ", a state is [L·D, N, H]");
        }
        if (b >= 0 && h.dim(1) != b) {
          throw new ModelFormatException(
              file + ": '" + n.name() + ".h' has batch " + h.dim(1) + ", an earlier node " + b);
        }
        b = h.dim(1);
        int[][] want = shapes(n, b);
        checkShape(file, n.name() + ".h", h, want[0]);
        if (want.length > 1) {
          Tensor cc = c.tensors().get(n.name() + ".c");
          if (cc == null) {
            throw new ModelFormatException(file + ": no cell state for node '" + n.name() + "'");
          }
          checkShape(file, n.name() + ".c", cc, want[1]);
        }
      }
      freeAll();
      for (Node n : nodes) {
        Tensor[] fresh = fresh(n, b);
        fresh[0].copyFrom(c.tensors().get(n.name() + ".h"));
        if (fresh.length > 1) {
          fresh[1].copyFrom(c.tensors().get(n.name() + ".c"));
        }
        tensors.put(n.name(), fresh);
      }
      batch = b;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read state from " + file, e);
    }
  }

  private static void checkShape(Path file, String name, Tensor got, int[] want) {
    if (!Arrays.equals(want, got.shape()) || got.dtype() != DType.F32) {
      throw new ModelFormatException(
          file
              + ": '"
              + name
              + "' is "
              + got.describe()
              + ", this session needs F32 "
              + Tensor.shapeString(want));
    }
  }

  /** The state tensors of {@code n}; allocated at the first step; {@code b < 0}: don't check. */
  synchronized Tensor[] tensorsFor(Node n, int b) {
    checkOpen();
    if (b >= 0) {
      if (batch < 0) {
        batch = b;
      } else if (batch != b) {
        throw new IllegalArgumentException(
            "this state holds batch size "
                + batch
                + ", the step's input has "
                + b
                + "; use a new state for another batch size");
      }
    }
    Tensor[] t = tensors.get(n.name()); // no computeIfAbsent: its capturing lambda allocates
    if (t == null) {
      t = fresh(n, batch);
      tensors.put(n.name(), t);
    }
    return t;
  }

  /** The shapes of node {@code n}'s h (and c) for batch {@code b}. */
  private static int[][] shapes(Node n, int b) {
    Recurrent s = ((Op.RecurrentLayer) n.op()).spec();
    int ld = s.layers() * s.directions();
    int[] h = {ld, b, s.outputHidden()};
    return s.cell() == Recurrent.Cell.LSTM ? new int[][] {h, {ld, b, s.hidden()}} : new int[][] {h};
  }

  private static Tensor[] fresh(Node n, int b) {
    int[][] shapes = shapes(n, b);
    Tensor[] t = new Tensor[shapes.length];
    for (int i = 0; i < t.length; i++) {
      t[i] = Tensor.allocate(DType.F32, shapes[i]);
    }
    return t;
  }

  LocalSession session() {
    return session;
  }

  /** Marks the state in use by a step; throws if another thread is stepping it. */
  void acquire() {
    if (!busy.compareAndSet(false, true)) {
      throw new IllegalStateException("this state is being stepped by another thread");
    }
  }

  void release() {
    busy.set(false);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("state is used after close");
    }
  }

  private void freeAll() {
    tensors
        .values()
        .forEach(
            a -> {
              for (Tensor t : a) {
                t.close();
              }
            });
    tensors.clear();
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      freeAll();
      closed = true;
    }
  }
}
