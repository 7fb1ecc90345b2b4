package dev.jrnn.exec;

/** Closes several things so that one failing does not leave the others open. */
final class Closer {

  private Closer() {}

  /** Closes each in order; rethrows the first failure, with any later ones suppressed in it. */
  static void closeAll(Iterable<? extends AutoCloseable> things) {
    RuntimeException first = null;
    for (AutoCloseable c : things) {
      try {
        c.close();
      } catch (Exception e) {
        RuntimeException r =
            e instanceof RuntimeException re ? re : new IllegalStateException("close failed", e);
        if (first == null) {
          first = r;
        } else {
          first.addSuppressed(r);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /** Closes each after {@code failure}: their own failures are added to it as suppressed. */
  static void closeAfter(Throwable failure, Iterable<? extends AutoCloseable> things) {
    try {
      closeAll(things);
    } catch (RuntimeException e) {
      failure.addSuppressed(e);
    }
  }
}
