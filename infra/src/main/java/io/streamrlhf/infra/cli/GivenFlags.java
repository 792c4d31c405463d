package io.streamrlhf.infra.cli;

import java.util.Arrays;
import picocli.CommandLine.Model.CommandSpec;

/** Flags a command's mode does not read: given anyway, they are refused, never silently ignored. */
final class GivenFlags {
  private GivenFlags() {}

  /**
   * Refuses those of {@code names} the command line gave, saying {@code why} they do nothing here.
   *
   * @throws UserError "why: drop --a and --b"
   */
  static void refuse(CommandSpec spec, String why, String... names) {
    var parsed = spec.commandLine().getParseResult();
    var given = Arrays.stream(names).filter(parsed::hasMatchedOption).toList();
    if (!given.isEmpty()) throw new UserError(why + ": drop " + String.join(" and ", given));
  }
}
