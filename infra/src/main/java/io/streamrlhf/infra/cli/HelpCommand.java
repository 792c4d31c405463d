package io.streamrlhf.infra.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code rlhf help [COMMAND [SUBCOMMAND ...]]}: picocli's help command, but following the whole
 * path ({@code rlhf help tasks sample}); picocli's own takes one level and drops the rest.
 */
@Command(
    name = "help",
    helpCommand = true,
    description = "Display help information about the specified command.",
    synopsisHeading = "%nUsage: ",
    footer = {
      "%nWhen no COMMAND is given, the usage help for the main command is displayed. A",
      "subcommand follows its command: rlhf help tasks sample."
    })
final class HelpCommand implements CommandLine.IHelpCommandInitializable2, Runnable {
  @Parameters(
      paramLabel = "COMMAND",
      arity = "0..*",
      description = "The command, and its subcommands, to display the usage help message for.")
  String[] path = {};

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "Show usage help for the help command and exit.")
  boolean helpRequested;

  private CommandLine self;
  private Help.ColorScheme colors;
  private PrintWriter out;

  @Override
  public void init(
      CommandLine helpCommandLine, Help.ColorScheme colorScheme, PrintWriter out, PrintWriter err) {
    this.self = helpCommandLine;
    this.colors = colorScheme;
    this.out = out;
  }

  @Override
  public void run() {
    var target = self.getParent();
    for (var name : path) {
      var next = target.getSubcommands().get(name);
      // reported as the command looked in says it (its 'Try ... --help' lists what it has)
      if (next == null && target.getSubcommands().isEmpty())
        throw new CommandLine.ParameterException(
            target, "'" + name + "': " + target.getCommandName() + " has no subcommands");
      if (next == null)
        throw new CommandLine.ParameterException(target, "Unknown subcommand '" + name + "'");
      target = next;
    }
    target.usage(out, colors);
  }
}
