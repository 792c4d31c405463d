package io.streamrlhf.infra.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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

  /**
   * The rlhf command line in a JVM of its own, for what only a process shows: signals, exit codes,
   * exit hooks. {@code jvmOptions} come before the class path, {@code args} after the main class.
   */
  static ProcessBuilder inChildJvm(List<String> jvmOptions, String... args) {
    var command = new ArrayList<String>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), Rlhf.class.getName()));
    command.addAll(List.of(args));
    return new ProcessBuilder(command);
  }
}
