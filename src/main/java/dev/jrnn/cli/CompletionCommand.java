package dev.jrnn.cli;

import java.io.PrintWriter;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code jrnn completion}: a bash (and zsh) completion script for every command and option. */
@Command(
    name = "completion",
    description = {
      "Print a bash completion script for jrnn.",
      "",
      "Load it into the current shell with: source <(jrnn completion)",
      "(or save it under /etc/bash_completion.d/). zsh reads it too after"
          + " 'autoload -U +X bashcompinit && bashcompinit'."
    })
final class CompletionCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    PrintWriter out = spec.commandLine().getOut();
    out.print(AutoComplete.bash(spec.root().name(), spec.root().commandLine()));
    out.print('\n'); // not println: a \r\n line end breaks the script
    out.flush();
  }
}
