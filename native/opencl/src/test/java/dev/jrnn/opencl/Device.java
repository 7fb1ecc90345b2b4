package dev.jrnn.opencl;

import static org.junit.jupiter.api.Assertions.fail;

import dev.jrnn.spi.Availability;
import org.junit.jupiter.api.Assumptions;

/**
 * The OpenCL device the tests need: without one, a test fails under {@code CI=true} and is skipped
 * (with the reason) elsewhere, so a developer without PoCL can still build.
 */
final class Device {

  private Device() {}

  static void require() {
    Availability a = new OpenClBackend().availability();
    if (a.available()) {
      return;
    }
    String why = "no OpenCL device: " + a.reason();
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail(why + " (CI=true: the opencl tests must run; install pocl-opencl-icd)");
    }
    Assumptions.abort(why + "; skipping the opencl tests (install pocl-opencl-icd to run them)");
  }
}
