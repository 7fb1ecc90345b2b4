package dev.jrnn.onednn;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Primitive sets by shape (T, N) (and a variant, e.g. an int8 data range), at most {@code capacity}
 * of them, least recently used evicted first. oneDNN 2.6's RNN primitives fix T and N at creation
 * (their descriptors reject {@code DNNL_RUNTIME_DIM_VAL} with {@code dnnl_unimplemented}), so each
 * new shape needs new primitives; keeping every one would grow without bound with the shapes a
 * session sees.
 *
 * <p>A call holds its set with a {@link Lease} while oneDNN runs it. An evicted set is destroyed at
 * once when no lease is out, else when the last lease closes: never while a call uses it. A set is
 * created outside the lock by the first caller; others asking for the same shape wait for it.
 */
final class PrimitiveCache<V> implements AutoCloseable {

  /** Makes the set of one shape. */
  @FunctionalInterface
  interface Factory<V> {
    V create(int steps, int batch);
  }

  /** Makes the set of one shape and variant (e.g. an int8 data range). */
  @FunctionalInterface
  interface VariantFactory<V> {
    V create(int steps, int batch, int variant);
  }

  private record Key(int steps, int batch, int variant) {}

  private final int capacity;
  private final VariantFactory<V> factory;
  private final Consumer<V> destroy;
  private final LinkedHashMap<Key, Entry<V>> entries = new LinkedHashMap<>(16, 0.75f, true);
  private boolean closed; // guarded by this

  private static final class Entry<V> {
    V value; // set once by the creating thread
    Throwable failure;
    boolean ready; // guarded by the entry
    int leases; // guarded by the cache
    boolean evicted; // guarded by the cache
    boolean destroyed; // guarded by the cache
  }

  /** One caller's hold on a set; closing it is idempotent. */
  final class Lease implements AutoCloseable {
    private final Entry<V> entry;
    private boolean closed;

    private Lease(Entry<V> entry) {
      this.entry = entry;
    }

    V value() {
      return entry.value;
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        release(entry);
      }
    }
  }

  PrimitiveCache(int capacity, Factory<V> factory, Consumer<V> destroy) {
    this(
        capacity,
        (VariantFactory<V>) (steps, batch, variant) -> factory.create(steps, batch),
        destroy);
  }

  PrimitiveCache(int capacity, VariantFactory<V> factory, Consumer<V> destroy) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
    }
    this.capacity = capacity;
    this.factory = factory;
    this.destroy = destroy;
  }

  /** The set for shape (T, N), made on first use; the caller closes the lease after the call. */
  Lease acquire(int steps, int batch) {
    return acquire(steps, batch, 0);
  }

  /** The set for shape (T, N) and {@code variant}, made on first use, as {@link #acquire}. */
  Lease acquire(int steps, int batch, int variant) {
    Key key = new Key(steps, batch, variant);
    Entry<V> e;
    boolean create = false;
    synchronized (this) {
      if (closed) {
        throw closedError();
      }
      e = entries.get(key);
      if (e == null) {
        e = new Entry<>();
        entries.put(key, e);
        create = true;
      }
      e.leases++;
    }
    if (create) {
      V value = null;
      Throwable failure = null;
      try {
        value = factory.create(steps, batch, variant);
      } catch (RuntimeException | Error t) {
        failure = t;
      }
      boolean orphan;
      synchronized (this) { // publishes the value to close(), which reads it under this lock
        orphan = e.destroyed; // the cache closed meanwhile
        if (!orphan) {
          e.value = value;
        }
      }
      if (orphan) {
        if (value != null) {
          destroy.accept(value);
        }
        failure = closedError();
      }
      e.failure = failure;
      synchronized (e) {
        e.ready = true;
        e.notifyAll();
      }
      evictBeyondCapacity(e.failure != null ? key : null, e);
    } else {
      awaitReady(e);
    }
    if (e.failure != null) {
      release(e);
      if (e.failure instanceof RuntimeException r) {
        throw r;
      }
      throw (Error) e.failure;
    }
    return new Lease(e);
  }

  private static IllegalStateException closedError() {
    return new IllegalStateException("onednn primitives are used after their session closed");
  }

  /** Drops a failed entry and evicts the least recently used beyond the capacity. */
  private void evictBeyondCapacity(Key failedKey, Entry<V> failed) {
    List<Entry<V>> dead = new ArrayList<>();
    synchronized (this) {
      if (failedKey != null && entries.remove(failedKey, failed)) {
        failed.evicted = true;
      }
      Iterator<Map.Entry<Key, Entry<V>>> it = entries.entrySet().iterator();
      while (entries.size() > capacity && it.hasNext()) {
        Entry<V> old = it.next().getValue();
        it.remove();
        old.evicted = true;
        if (old.leases == 0 && !old.destroyed) {
          old.destroyed = true;
          dead.add(old);
        }
      }
    }
    dead.forEach(this::destroy);
  }

  private static <V> void awaitReady(Entry<V> e) {
    boolean interrupted = false;
    synchronized (e) {
      while (!e.ready) {
        try {
          e.wait();
        } catch (InterruptedException ie) {
          interrupted = true; // the creator finishes regardless; keep the flag for the caller
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void release(Entry<V> e) {
    boolean dead;
    synchronized (this) {
      dead = --e.leases == 0 && e.evicted && !e.destroyed;
      if (dead) {
        e.destroyed = true;
      }
    }
    if (dead) {
      destroy(e);
    }
  }

  private void destroy(Entry<V> e) {
    if (e.value != null) {
      destroy.accept(e.value);
    }
  }

  /** Sets currently cached (evicted ones still leased are not counted). */
  synchronized int size() {
    return entries.size();
  }

  /**
   * Destroys every set. Calls must have ended (a session closes its nodes after its calls); a lease
   * still out (a training forward never closed) is dropped: its set is destroyed now.
   */
  @Override
  public void close() {
    List<Entry<V>> dead = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      for (Entry<V> e : entries.values()) {
        e.evicted = true;
        if (!e.destroyed) {
          e.destroyed = true;
          dead.add(e);
        }
      }
      entries.clear();
    }
    dead.forEach(this::destroy);
  }
}
