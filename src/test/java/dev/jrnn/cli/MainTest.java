package dev.jrnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MainTest {

  private record Run(int status, String out, String err) {}

  private static Run run(String... argv) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        Main.run(
            argv,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void helpAndUsageErrors() {
    Run help = run("--help");
    assertEquals(0, help.status());
    assertTrue(help.out().contains("demo"), help.out());
    Run none = run();
    assertEquals(2, none.status());
    Run unknown = run("frobnicate");
    assertEquals(2, unknown.status());
    assertTrue(unknown.err().contains("unknown command 'frobnicate'"), unknown.err());
    Run badOption = run("demo", "--bogus", "3");
    assertEquals(2, badOption.status());
    assertTrue(badOption.err().contains("unknown option --bogus"), badOption.err());
    assertTrue(badOption.err().contains("usage: jrnn demo"), badOption.err());
    Run badNumber = run("demo", "--threads", "two");
    assertEquals(2, badNumber.status());
    assertTrue(badNumber.err().contains("--threads needs a whole number"), badNumber.err());
    Run cmdHelp = run("demo", "--help");
    assertEquals(0, cmdHelp.status());
    assertTrue(cmdHelp.out().startsWith("usage: jrnn demo"), cmdHelp.out());
  }
}
