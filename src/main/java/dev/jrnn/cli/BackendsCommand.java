package dev.jrnn.cli;

import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.io.PrintStream;

/** {@code jrnn backends}: every registered backend, whether it is available and why not. */
final class BackendsCommand implements Main.Command {

  @Override
  public String summary() {
    return "list the backends and why an unavailable one is unavailable";
  }

  @Override
  public String usage() {
    return "usage: jrnn backends\n\nLists every backend found, marks the available ones and gives"
        + " the reason for each unavailable one.";
  }

  @Override
  public int run(Args args, PrintStream out) throws Exception {
    args.rejectUnknown();
    print(out);
    return 0;
  }

  static void print(java.io.PrintStream out) {
    out.println("backends:");
    for (Backend b : Backends.all()) {
      Availability a = b.availability();
      out.printf(
          "  %-10s %-13s %s%n", b.name(), a.available() ? "available" : "unavailable", a.reason());
    }
  }
}
