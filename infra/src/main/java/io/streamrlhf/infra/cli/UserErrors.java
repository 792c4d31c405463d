package io.streamrlhf.infra.cli;

import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;

/**
 * Turns failures into what a user should see: one line and exit code 2 for mistakes the user can
 * fix; a stack trace (with a one-line summary first) only for our own bugs.
 */
final class UserErrors implements CommandLine.IExecutionExceptionHandler {
  static final int USAGE = 2;

  @Override
  public int handleExecutionException(
      Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
    var err = cli.getErr();
    if (e instanceof UserError || e instanceof IllegalArgumentException) {
      err.println(prefix(cli) + e.getMessage());
      return USAGE;
    }
    if (e instanceof NoSuchFileException nsf) {
      err.println(prefix(cli) + "no such file: " + nsf.getFile());
      return USAGE;
    }
    if (e instanceof UncheckedIOException uio && uio.getCause() instanceof NoSuchFileException nsf) {
      err.println(prefix(cli) + "no such file: " + nsf.getFile());
      return USAGE;
    }
    err.println(prefix(cli) + "internal error: " + e);
    e.printStackTrace(err);
    return 1;
  }

  static int onBadParameters(CommandLine.ParameterException e, String[] args) {
    var cli = e.getCommandLine();
    var err = cli.getErr();
    err.println(prefix(cli) + e.getMessage());
    CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
    err.println(("Try 'rlhf " + qualifiedName(cli)).stripTrailing() + " --help' for usage.");
    return USAGE;
  }

  /** "rlhf tasks sample: " for a subcommand, "rlhf: " at the top. */
  static String prefix(CommandLine cli) {
    return cli.getCommandSpec().qualifiedName(" ") + ": ";
  }

  private static String qualifiedName(CommandLine cli) {
    var name = cli.getCommandSpec().qualifiedName(" ");
    return name.startsWith("rlhf ") ? name.substring(5) : name.equals("rlhf") ? "" : name;
  }
}
