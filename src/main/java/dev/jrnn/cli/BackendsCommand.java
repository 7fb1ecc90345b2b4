package dev.jrnn.cli;

import dev.jrnn.opencl.OpenClBackend;
import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code jrnn backends}: every registered backend, whether it is available and why not, and the
 * OpenCL platforms and devices with their key limits.
 */
@Command(
    name = "backends",
    description = {
      "List the backends and why an unavailable one is unavailable.",
      "",
      "Lists every backend found, marks the available ones and gives the reason for each"
          + " unavailable one."
    })
final class BackendsCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    print(spec.commandLine().getOut());
  }

  static void print(PrintWriter out) {
    out.println("backends:");
    for (Backend b : Backends.all()) {
      Availability a = b.availability();
      out.printf(
          "  %-10s %-13s %s%n", b.name(), a.available() ? "available" : "unavailable", a.reason());
    }
    List<String> devices = OpenClBackend.devices();
    if (!devices.isEmpty()) {
      out.println("opencl devices:");
      devices.forEach(d -> out.println("  " + d));
    }
  }
}
