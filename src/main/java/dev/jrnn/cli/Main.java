package dev.jrnn.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.UsageMessageSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code jrnn} command. picocli parses the arguments and dispatches to the subcommands listed
 * below; a new command is a {@code @Command} class added to that list. Usage errors exit with
 * status 2 (the problem, then the command's usage), runtime errors with 1 ({@code jrnn <command>:
 * <message>}, with the stack trace under {@code -Djrnn.debug=true}), {@code --help} and {@code
 * --version} with 0.
 */
@Command(
    name = "jrnn",
    versionProvider = Main.Version.class,
    customSynopsis = "jrnn <command> [options]",
    description = "Runs, inspects, converts, benchmarks and trains recurrent networks.",
    subcommands = {
      TourCommand.class,
      DemoCommand.class,
      BackendsCommand.class,
      RunCommand.class,
      InfoCommand.class,
      ConvertCommand.class,
      QuantizeCommand.class,
      BenchCommand.class,
      TrainCommand.class,
      GenerateCommand.class,
      CompletionCommand.class,
      HelpCommand.class
    },
    footer = "%n'jrnn <command> --help' describes a command.")
public final class Main implements Callable<Integer> {

  @Option(
      names = {"-V", "--version"},
      versionHelp = true,
      description = "Print the version and exit.")
  boolean version;

  @Spec CommandSpec spec;

  private Main() {}

  /** No command given: the usage, exit status 2. */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getOut());
    return 2;
  }

  public static void main(String[] argv) {
    System.exit(run(argv, System.out, System.err));
  }

  /** Runs {@code jrnn argv}, printing to {@code out} and {@code err}; returns the exit status. */
  static int run(String[] argv, PrintStream out, PrintStream err) {
    CommandLine cl = commandLine(out, err);
    try {
      return cl.execute(argv);
    } finally {
      cl.getOut().flush();
      cl.getErr().flush();
    }
  }

  /** The command tree, with the exit-status policy above and the same help layout everywhere. */
  static CommandLine commandLine(PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(new Main());
    cl.setOut(writer(out))
        .setErr(writer(err))
        .setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF))
        .setOverwrittenOptionsAllowed(true) // a repeated single-valued option: the last one counts
        .setAllowSubcommandsAsOptionParameters(true) // --loss-output chars with a 'chars' command
        .setExpandAtFiles(false) // an argument starting with @ is a plain argument
        .setParameterExceptionHandler((e, args) -> usageError(e))
        .setExecutionExceptionHandler(Main::failed);
    layout(cl);
    return cl;
  }

  /** {@code -h}/{@code --help} and the help layout on {@code cl} and every command below it. */
  private static void layout(CommandLine cl) {
    CommandSpec c = cl.getCommandSpec();
    if (!c.optionsMap().containsKey("--help")) { // picocli's 'help' command has its own
      c.addOption(
          OptionSpec.builder("-h", "--help")
              .usageHelp(true)
              .description("Show this help and exit.")
              .build());
    }
    UsageMessageSpec u = c.usageMessage();
    u.synopsisHeading("usage: ")
        .descriptionHeading("%n")
        .parameterListHeading("%narguments:%n")
        .optionListHeading("%noptions:%n")
        .commandListHeading("%ncommands:%n")
        .sortOptions(false)
        .sortSynopsis(false)
        .longOptionsMaxWidth(26);
    cl.getSubcommands().values().forEach(Main::layout);
  }

  private static PrintWriter writer(PrintStream s) {
    return new StreamWriter(s);
  }

  /** A writer over a stream that remembers the stream, for code that prints to streams. */
  private static final class StreamWriter extends PrintWriter {
    final PrintStream stream;

    StreamWriter(PrintStream s) {
      super(new OutputStreamWriter(s, s.charset()), true);
      this.stream = s;
    }
  }

  /**
   * The stream under a command's output (flushed first, to keep the order of what was printed), for
   * code that prints to a {@link PrintStream} such as the progress bars.
   */
  static PrintStream stream(CommandSpec spec) {
    PrintWriter w = spec.commandLine().getOut();
    w.flush();
    return w instanceof StreamWriter s ? s.stream : System.out;
  }

  /** A parse error: exit status 2. */
  private static int usageError(ParameterException e) {
    CommandLine cl = e.getCommandLine();
    String message = e.getMessage();
    if (e instanceof UnmatchedArgumentException u
        && !cl.getSubcommands().isEmpty()
        && cl.getCommandSpec().positionalParameters().isEmpty()
        && !u.getUnmatched().getFirst().startsWith("-")) {
      message = "unknown command '" + u.getUnmatched().getFirst() + "'";
    }
    return usageError(cl, message, e);
  }

  /**
   * The problem, picocli's suggestions for a misspelt name if any, then the usage: the synopsis of
   * a command, the whole help of {@code jrnn} (its list of commands).
   */
  private static int usageError(CommandLine cl, String message, ParameterException e) {
    PrintWriter err = cl.getErr();
    String name = cl.getCommandSpec().qualifiedName();
    err.println(name + ": " + message);
    if (e != null) {
      UnmatchedArgumentException.printSuggestions(e, err);
    }
    err.println();
    if (cl.getParent() == null) {
      cl.usage(err);
    } else {
      CommandLine.Help help = cl.getHelp();
      err.print(help.synopsisHeading() + help.synopsis(help.synopsisHeadingLength()));
      err.println("'" + name + " --help' describes every option.");
    }
    return 2;
  }

  /** An exception from a running command: exit status 2 for a {@link UsageException}, else 1. */
  private static int failed(Exception e, CommandLine cl, ParseResult parsed) {
    if (e instanceof UsageException) {
      return usageError(cl, e.getMessage(), null);
    }
    PrintWriter err = cl.getErr();
    err.println(
        cl.getCommandSpec().qualifiedName()
            + ": "
            + (e.getMessage() != null ? e.getMessage() : e.toString()));
    if (Boolean.getBoolean("jrnn.debug")) {
      e.printStackTrace(err);
    }
    return 1;
  }

  /** {@code jrnn --version}: the build's version (a filtered resource) and the JVM. */
  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
      try (InputStream in = Main.class.getResourceAsStream("version.txt")) {
        String v = in == null ? "(unknown)" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        return new String[] {
          "jrnn " + v.strip(),
          "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"
        };
      }
    }
  }
}
