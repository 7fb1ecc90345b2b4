package dev.jrnn.spi;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/** The backends on the class path, found once with {@link ServiceLoader}. */
public final class Backends {

  private static volatile List<Backend> all;

  private Backends() {}

  /** Every registered backend, highest priority first. */
  public static List<Backend> all() {
    List<Backend> a = all;
    if (a == null) {
      synchronized (Backends.class) {
        if (all == null) {
          List<Backend> found = new ArrayList<>();
          for (Backend b : ServiceLoader.load(Backend.class, Backends.class.getClassLoader())) {
            if (found.stream().noneMatch(x -> x.name().equals(b.name()))) {
              found.add(b);
            }
          }
          found.sort(Comparator.comparingInt(Backend::priority).reversed());
          all = List.copyOf(found);
        }
        a = all;
      }
    }
    return a;
  }

  /** The backend called {@code name}; throws listing the registered names if there is none. */
  public static Backend byName(String name) {
    for (Backend b : all()) {
      if (b.name().equals(name)) {
        return b;
      }
    }
    throw new IllegalArgumentException(
        "unknown backend '"
            + name
            + "'; backends: auto, "
            + all().stream().map(Backend::name).collect(Collectors.joining(", ")));
  }

  /** The available backend with the highest priority. */
  public static Backend best() {
    for (Backend b : all()) {
      if (b.availability().available()) {
        return b;
      }
    }
    throw new IllegalStateException("no backend is available");
  }
}
