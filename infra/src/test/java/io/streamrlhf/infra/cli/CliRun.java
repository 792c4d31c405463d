package io.streamrlhf.infra.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * One in-process run of the rlhf command line, with what it printed: the fixture of the CLI tests.
 */
record CliRun(int exitCode, String out, String err) {

  static CliRun run(String... args) {
    var out = new StringWriter();
    var err = new StringWriter();
    var cli = Rlhf.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new CliRun(code, out.toString(), err.toString());
  }
}
