package dev.jrnn.spark;

import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Session;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * One {@link Session} per model per JVM, shared by every task that runs in it (a session is safe
 * for concurrent runs): a Spark executor opens a model once, not once per partition or per
 * transform. Entries are counted references; a session nobody holds stays open for the next task
 * until more than {@link #MAX_IDLE} idle models are cached (the least recently used idle one is
 * closed then), {@link #closeIdle()} is called, or the JVM — the executor — ends.
 */
public final class ExecutorSessions {

  /** Idle sessions kept open per JVM ({@code -Djrnn.spark.idleSessions}, default 4). */
  static final int MAX_IDLE = Integer.getInteger("jrnn.spark.idleSessions", 4);

  private static final Map<String, Entry> CACHE = new HashMap<>();
  private static final AtomicInteger OPENS = new AtomicInteger();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(ExecutorSessions::closeAll, "jrnn-spark-sessions-close"));
  }

  private ExecutorSessions() {}

  /** One cached model: its session once opened, and how many tasks hold it. */
  private static final class Entry {
    final String key;
    Session session; // guarded by this entry
    int refs; // guarded by CACHE
    long lastUsed; // guarded by CACHE

    Entry(String key) {
      this.key = key;
    }
  }

  /** A task's hold on a cached session; closing it releases the hold (idempotent). */
  static final class Lease implements AutoCloseable {
    private final Entry entry;
    private boolean released;

    private Lease(Entry entry) {
      this.entry = entry;
    }

    Session session() {
      return entry.session;
    }

    @Override
    public void close() {
      synchronized (CACHE) {
        if (!released) {
          released = true;
          entry.refs--;
          entry.lastUsed = System.nanoTime();
        }
      }
      evictIdle();
    }
  }

  /**
   * The session cached under {@code key} (the model's content hash and the options), opened from
   * {@code bytes} by the first caller in this JVM while concurrent callers wait for it. {@code
   * bytes} is only called on that first open, so a broadcast is fetched only where it is needed.
   */
  static Lease acquire(String key, Supplier<byte[]> bytes, String fileName, Options options) {
    Entry e;
    synchronized (CACHE) {
      e = CACHE.computeIfAbsent(key, Entry::new);
      e.refs++;
    }
    try {
      synchronized (e) {
        if (e.session == null) {
          e.session = open(bytes.get(), fileName, options);
          OPENS.incrementAndGet();
        }
      }
    } catch (RuntimeException | Error x) {
      synchronized (CACHE) {
        e.refs--;
        if (e.refs == 0 && e.session == null) {
          CACHE.remove(key, e);
        }
      }
      throw x;
    }
    return new Lease(e);
  }

  /**
   * Reads a model file's bytes: {@link Model#load} takes a path, so they go through a temporary
   * file, deleted at once. The file name keeps the original extension ({@code .onnx} decides the
   * format for ONNX models).
   */
  static Model load(byte[] bytes, String fileName) {
    String ext = fileName.contains(".") ? fileName.substring(fileName.lastIndexOf('.')) : "";
    Path tmp = null;
    try {
      tmp = Files.createTempFile("jrnn-spark-", ext);
      Files.write(tmp, bytes);
      return Model.load(tmp);
    } catch (IOException x) {
      throw new UncheckedIOException("cannot stage model " + fileName + " for loading", x);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // a leftover temporary file is harmless
        }
      }
    }
  }

  private static Session open(byte[] bytes, String fileName, Options options) {
    try (Model m = load(bytes, fileName)) {
      return m.open(options);
    }
  }

  /** Sessions opened by this JVM since it started (what the tests count). */
  static int opens() {
    return OPENS.get();
  }

  /** Models cached in this JVM, open or being opened. */
  static int cached() {
    synchronized (CACHE) {
      return CACHE.size();
    }
  }

  /**
   * Closes every cached session that no task holds and forgets it; the next task using the model
   * opens it again. Returns how many were closed.
   */
  public static int closeIdle() {
    List<Entry> idle = new ArrayList<>();
    synchronized (CACHE) {
      CACHE.values().removeIf(e -> e.refs == 0 && idle.add(e));
    }
    idle.forEach(ExecutorSessions::closeEntry);
    return idle.size();
  }

  /** Closes the least recently used idle sessions beyond {@link #MAX_IDLE}. */
  private static void evictIdle() {
    List<Entry> evicted = new ArrayList<>();
    synchronized (CACHE) {
      List<Entry> idle = new ArrayList<>();
      for (Entry e : CACHE.values()) {
        if (e.refs == 0) {
          idle.add(e);
        }
      }
      idle.sort(Comparator.comparingLong(e -> e.lastUsed));
      for (int i = 0; i < idle.size() - MAX_IDLE; i++) {
        CACHE.remove(idle.get(i).key);
        evicted.add(idle.get(i));
      }
    }
    evicted.forEach(ExecutorSessions::closeEntry);
  }

  private static void closeAll() {
    List<Entry> all;
    synchronized (CACHE) {
      all = new ArrayList<>(CACHE.values());
      CACHE.clear();
    }
    all.forEach(ExecutorSessions::closeEntry);
  }

  private static void closeEntry(Entry e) {
    synchronized (e) {
      if (e.session != null) {
        e.session.close();
        e.session = null;
      }
    }
  }
}
