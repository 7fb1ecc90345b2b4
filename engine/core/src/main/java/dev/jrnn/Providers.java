package dev.jrnn;

import java.util.ServiceLoader;

/** Finds the {@link Provider} once. */
final class Providers {

  private static final Provider PROVIDER = find();

  private Providers() {}

  static Provider get() {
    return PROVIDER;
  }

  private static Provider find() {
    return ServiceLoader.load(Provider.class, Provider.class.getClassLoader())
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "no jrnn engine found: put jrnn-engine on the class path (it registers"
                        + " META-INF/services/dev.jrnn.Provider)"));
  }
}
