package dev.jrnn.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@code jrnn} command: dispatches to a subcommand; usage errors exit with status 2. */
public final class Main {

  /** A subcommand: runs with its arguments and returns the exit status. */
  interface Command {
    String summary();

    String usage();

    int run(Args args, PrintStream out) throws Exception;
  }

  static Map<String, Command> commands() {
    Map<String, Command> m = new LinkedHashMap<>();
    m.put("demo", new DemoCommand());
    m.put("backends", new BackendsCommand());
    m.put("run", new RunCommand());
    m.put("info", new InfoCommand());
    m.put("convert", new ConvertCommand());
    m.put("bench", new BenchCommand());
    m.put("train", new TrainCommand());
    return m;
  }

  public static void main(String[] argv) {
    System.exit(run(argv, System.out, System.err));
  }

  static int run(String[] argv, PrintStream out, PrintStream err) {
    Map<String, Command> cmds = commands();
    if (argv.length == 0
        || argv[0].equals("--help")
        || argv[0].equals("-h")
        || argv[0].equals("help")) {
      if (argv.length > 1 && cmds.containsKey(argv[1])) {
        out.println(cmds.get(argv[1]).usage());
        return 0;
      }
      out.print(usage(cmds));
      return argv.length == 0 ? 2 : 0;
    }
    Command c = cmds.get(argv[0]);
    if (c == null) {
      err.println("jrnn: unknown command '" + argv[0] + "'");
      err.print(usage(cmds));
      return 2;
    }
    Args args;
    try {
      args = new Args(Arrays.copyOfRange(argv, 1, argv.length));
      if (args.flag("help") || args.flag("h")) {
        out.println(c.usage());
        return 0;
      }
    } catch (Args.UsageException e) {
      err.println("jrnn " + argv[0] + ": " + e.getMessage());
      err.println(c.usage());
      return 2;
    }
    try {
      return c.run(args, out);
    } catch (Args.UsageException e) {
      err.println("jrnn " + argv[0] + ": " + e.getMessage());
      err.println(c.usage());
      return 2;
    } catch (Exception e) {
      err.println(
          "jrnn " + argv[0] + ": " + (e.getMessage() != null ? e.getMessage() : e.toString()));
      if (Boolean.getBoolean("jrnn.debug")) {
        e.printStackTrace(err);
      }
      return 1;
    }
  }

  static String usage(Map<String, Command> cmds) {
    StringBuilder s = new StringBuilder("usage: jrnn <command> [options]\n\ncommands:\n");
    cmds.forEach((k, v) -> s.append(String.format("  %-10s %s%n", k, v.summary())));
    s.append("\n'jrnn <command> --help' describes a command.\n");
    return s.toString();
  }

  /** The single positional argument, as a path; a usage error when absent or repeated. */
  static java.nio.file.Path onePositional(Args args, String what) {
    List<String> p = args.positional();
    if (p.size() != 1) {
      throw new Args.UsageException(
          p.isEmpty() ? what + " is required" : "expected one " + what + ", got " + p);
    }
    return java.nio.file.Path.of(p.getFirst());
  }

  private Main() {}
}
