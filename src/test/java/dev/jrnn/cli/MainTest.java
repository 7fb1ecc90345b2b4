package dev.jrnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Tensor;
import dev.jrnn.io.Npy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/** The command line itself: dispatch, help, exit statuses and messages of usage errors. */
class MainTest {

  @TempDir Path tmp;

  private static CommandsTest.Run run(String... argv) {
    return CommandsTest.jrnn((Object[]) argv);
  }

  /** Every command's path from the top, e.g. ["train"], in the order the help lists them. */
  private static List<List<String>> commands(CommandLine cl, List<String> path) {
    List<List<String>> all = new ArrayList<>();
    for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
      List<String> p = new ArrayList<>(path);
      p.add(e.getKey());
      all.add(p);
      all.addAll(commands(e.getValue(), p));
    }
    return all;
  }

  @Test
  void noCommandPrintsTheUsageAndExits2() {
    CommandsTest.Run none = run();
    assertEquals(2, none.status());
    assertTrue(none.out().startsWith("usage: jrnn"), none.out());
  }

  @Test
  void helpOfJrnnListsEveryCommandWithItsSummary() {
    CommandLine jrnn = Main.commandLine(System.out, System.err);
    for (String h : List.of("--help", "-h", "help")) {
      CommandsTest.Run help = run(h);
      assertEquals(0, help.status(), h);
      for (CommandLine c : jrnn.getSubcommands().values()) {
        var u = c.getCommandSpec().usageMessage(); // picocli's 'help' has a header
        String summary = u.header().length > 0 ? u.header()[0] : u.description()[0];
        assertTrue(
            help.out().lines().anyMatch(l -> l.matches("  " + c.getCommandName() + " +\\S.*")),
            h + " lists " + c.getCommandName() + ":\n" + help.out());
        assertTrue(help.out().contains(summary), summary + "\n" + help.out());
      }
    }
  }

  @Test
  void helpOfEveryCommandDescribesEachOption() {
    List<List<String>> all = commands(Main.commandLine(System.out, System.err), List.of());
    assertTrue(all.size() >= 9, all.toString());
    for (List<String> path : all) {
      for (String h : List.of("--help", "-h")) {
        List<String> argv = new ArrayList<>(path);
        argv.add(h);
        CommandsTest.Run r = run(argv.toArray(String[]::new));
        String name = "jrnn " + String.join(" ", path);
        assertEquals(0, r.status(), name + " " + h + ": " + r.err());
        assertTrue(r.out().contains("usage: " + name), r.out());
        CommandSpec spec =
            Main.commandLine(System.out, System.err)
                .getCommandSpec()
                .subcommands()
                .get(path.getFirst())
                .getCommandSpec();
        for (String sub : path.subList(1, path.size())) {
          spec = spec.subcommands().get(sub).getCommandSpec();
        }
        assertTrue(spec.usageMessage().description().length > 0, name + " has a description");
        for (ArgSpec a : spec.args()) {
          String label =
              a instanceof OptionSpec o ? o.longestName() : a.paramLabel().replaceAll("[<>]", "");
          assertTrue(r.out().contains(label), name + " --help mentions " + label + ":\n" + r.out());
          assertTrue(
              a.description().length > 0 && !a.description()[0].isBlank(),
              name + " describes " + label);
        }
      }
    }
    assertTrue(run("help", "bench").out().contains("--workload"));
  }

  @Test
  void versionIsTheBuildsVersion() {
    CommandsTest.Run v = run("--version");
    assertEquals(0, v.status(), v.err());
    assertTrue(v.out().matches("(?s)jrnn \\d+\\.\\d+\\.\\d+.*"), v.out());
  }

  @Test
  void completionPrintsABashScriptForEveryCommand() {
    CommandsTest.Run c = run("completion");
    assertEquals(0, c.status(), c.err());
    assertTrue(c.out().startsWith("#!/usr/bin/env bash"), c.out());
    assertTrue(c.out().contains("complete -F _complete_jrnn"), c.out());
    for (List<String> path : commands(Main.commandLine(System.out, System.err), List.of())) {
      assertTrue(
          c.out().contains("function _picocli_jrnn_" + String.join("_", path) + "()"),
          "completes " + path);
    }
    assertTrue(c.out().contains("--warmup") && c.out().contains("--batch-axis"));
    assertTrue(run("completion", "--help").out().contains("source <(jrnn completion)"));
  }

  @Test
  void unknownCommandListsTheCommands() {
    CommandsTest.Run r = run("frobnicate");
    assertEquals(2, r.status());
    assertTrue(r.err().startsWith("jrnn: unknown command 'frobnicate'"), r.err());
    for (String c : List.of("demo", "backends", "run", "info", "convert", "bench", "train")) {
      assertTrue(r.err().contains("\n  " + c + " "), c + " listed:\n" + r.err());
    }
    assertTrue(run("bnech").err().contains("Did you mean: jrnn bench"));
  }

  @Test
  void unknownOptionIsNamedWithTheUsage() {
    CommandsTest.Run r = run("demo", "--bogus", "3");
    assertEquals(2, r.status());
    assertTrue(r.err().startsWith("jrnn demo: Unknown options: '--bogus', '3'"), r.err());
    assertTrue(r.err().contains("usage: jrnn demo"), r.err());
    CommandsTest.Run typo = run("bench", "--thread", "2");
    assertEquals(2, typo.status());
    assertTrue(typo.err().contains("'--thread'") && typo.err().contains("--threads"), typo.err());
  }

  @Test
  void wrongValueTypeNamesTheOption() {
    for (String[] argv :
        List.of(
            new String[] {"demo", "--threads", "x"},
            new String[] {"run", "m.onnx", "--output-dir", "o", "--threads", "two"},
            new String[] {"bench", "--workload", "W1", "--threads", "1.5"},
            new String[] {"train", "m.jrnn", "--lr", "fast"},
            new String[] {"train", "m.jrnn", "--seed", "s"},
            new String[] {"train", "m.jrnn", "--batch-axis", "x=first"},
            new String[] {"bench", "m.onnx", "--dim", "T=long"})) {
      CommandsTest.Run r = run(argv);
      String option = argv[argv.length - 2];
      assertEquals(2, r.status(), String.join(" ", argv));
      assertTrue(
          r.err().startsWith("jrnn " + argv[0] + ": Invalid value for option '" + option + "'"),
          r.err());
      assertTrue(r.err().contains("usage: jrnn " + argv[0]), r.err());
    }
    CommandsTest.Run zero = run("bench", "--workload", "W1", "--runs", "0");
    assertEquals(2, zero.status());
    assertTrue(zero.err().contains("'--runs': must be at least 1, got 0"), zero.err());
    CommandsTest.Run size = run("bench", "--cell", "gru", "--batch", "1", "--seq", "2", "--input");
    assertEquals(2, size.status());
    CommandsTest.Run badSize =
        run(
            "bench",
            "--cell",
            "gru",
            "--batch",
            "1",
            "--seq",
            "2",
            "--hidden",
            "3",
            "--input",
            "x");
    assertEquals(2, badSize.status());
    assertTrue(badSize.err().contains("'--input': 'x' is not a whole number"), badSize.err());
  }

  @Test
  void missingValuesAndArgumentsAreUsageErrors() {
    CommandsTest.Run value = run("run", "m.onnx", "--output-dir");
    assertEquals(2, value.status());
    assertTrue(
        value.err().contains("Missing required parameter for option '--output-dir'"), value.err());
    CommandsTest.Run option = run("run", "m.onnx");
    assertEquals(2, option.status());
    assertTrue(option.err().contains("--output-dir is required"), option.err());
    CommandsTest.Run model = run("info");
    assertEquals(2, model.status());
    assertTrue(model.err().contains("Missing required parameter: 'MODEL'"), model.err());
    CommandsTest.Run out = run("convert", "in.onnx");
    assertEquals(2, out.status());
    assertTrue(out.err().contains("'OUT'"), out.err());
    CommandsTest.Run extra = run("info", "a.onnx", "b.onnx");
    assertEquals(2, extra.status());
    assertTrue(extra.err().contains("'b.onnx'"), extra.err());
    CommandsTest.Run train = run("train");
    assertEquals(2, train.status());
    assertTrue(train.err().startsWith("jrnn train: MODEL is required"), train.err());
    CommandsTest.Run cell = run("bench", "--batch", "2");
    assertEquals(2, cell.status());
    assertTrue(cell.err().contains("--cell (or --workload) is required"), cell.err());
  }

  @Test
  void repeatedNameFileOptionsAddUpAndANameTwiceIsAnError() throws Exception {
    Path a = tmp.resolve("a.npy");
    try (Tensor t = Tensor.of(new float[] {1, 2}, 2)) {
      Npy.write(a, t);
    }
    CommandsTest.Run twice =
        run("run", "m.onnx", "--output-dir", "o", "--input", "x=" + a, "--input", "x=" + a);
    assertEquals(2, twice.status());
    assertTrue(twice.err().startsWith("jrnn run: input 'x' is given twice"), twice.err());
    CommandsTest.Run both =
        run("run", tmp.resolve("m.onnx").toString(), "--output-dir", "o", "--input=x=" + a);
    assertEquals(1, both.status()); // parsed and read: the model file is what is missing
    assertTrue(both.err().contains("no such model file"), both.err());
  }

  @Test
  void modesOfBenchRejectOptionsOfTheOthers() {
    CommandsTest.Run cell = run("bench", "m.onnx", "--cell", "lstm");
    assertEquals(2, cell.status());
    assertTrue(cell.err().contains("--cell describes a configuration, not a MODEL"), cell.err());
    CommandsTest.Run dim = run("bench", "--workload", "W1", "--dim", "T=3");
    assertEquals(2, dim.status());
    assertTrue(dim.err().contains("--dim applies to a MODEL only"), dim.err());
    CommandsTest.Run both = run("bench", "--workload", "W6", "--hidden", "3");
    assertEquals(2, both.status());
    assertTrue(both.err().contains("--workload and --hidden cannot be combined"), both.err());
  }

  /** A stand-in for {@code train classify}: records that it ran and with what. */
  @Command(name = "probe", description = "Test only.")
  static final class Probe implements Callable<Integer> {
    @Option(names = "--epochs", description = "Test only.")
    int epochs;

    static int ran = -1;

    @Override
    public Integer call() {
      ran = epochs;
      return 0;
    }
  }

  @Test
  void trainTakesAModelOrASubcommand() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    CommandLine jrnn =
        Main.commandLine(
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    jrnn.getSubcommands().get("train").addSubcommand(new Probe());

    Probe.ran = -1;
    assertEquals(0, jrnn.execute("train", "probe", "--epochs", "3"), err.toString());
    assertEquals(3, Probe.ran);
    // a MODEL is still train's own: its body runs and asks for the rest
    assertEquals(2, jrnn.execute("train", "m.jrnn", "--epochs", "2"));
    jrnn.getErr().flush();
    assertTrue(
        err.toString(StandardCharsets.UTF_8)
            .startsWith("jrnn train: --output, --target and --loss are required"),
        err.toString(StandardCharsets.UTF_8));
    // an option value that is a subcommand's name stays a value
    err.reset();
    assertEquals(2, jrnn.execute("train", "m.jrnn", "--loss-output", "probe"));
    jrnn.getErr().flush();
    assertTrue(
        err.toString(StandardCharsets.UTF_8).startsWith("jrnn train: --output"),
        err.toString(StandardCharsets.UTF_8));
    Probe.ran = -1;
    assertEquals(0, jrnn.execute("train", "--help"));
    jrnn.getOut().flush();
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("  probe"), out.toString());
    assertFalse(Probe.ran >= 0);
  }
}
