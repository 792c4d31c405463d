package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.dashboard.DashboardServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rlhf dashboard}: a web page that follows a run's output directory. */
@Command(
    name = "dashboard",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Serves a page that follows a run as it trains: the stage and the step of its newest"
          + " checkpoint against the steps (PPO: updates) its config asks for, PPO's gold-vs-proxy"
          + " curve (oracle and reward-model score on held-out prompts, by update), the reward"
          + " trainer's newest held-out accuracy beside labeler agreement (accuracy.csv) and, once"
          + " the streaming loop has ended, its stream statistics and a live run's figures"
          + " (live.json: whether it was stopped before its end).",
      "Reads only the files the stage writes in --run, so it can watch a run of another process"
          + " or machine through a shared disk; JSON at /api/run. Runs until stopped (Ctrl-C)."
    })
final class DashboardCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--run",
      required = true,
      paramLabel = "DIR",
      description =
          "A stage's output directory (the --out of pretrain, sft, reward, ppo, learner,"
              + " reward-trainer); it may be one the stage has yet to make.")
  Path run;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "8090",
      description = "HTTP port (0 picks a free one).")
  int port;

  @Option(
      names = "--host",
      paramLabel = "HOST",
      defaultValue = "127.0.0.1",
      description = "Address to listen on; 0.0.0.0 serves other machines too.")
  String host;

  @Override
  public Integer call() throws Exception {
    // a run's --out may not exist yet: the page follows it from its start; but a file, or a
    // directory whose parent is missing too (a mistyped path, most likely), is refused
    var parent = run.toAbsolutePath().normalize().getParent();
    if (Files.exists(run) && !Files.isDirectory(run)) {
      throw new UserError("--run " + run + " is not a directory: give a stage's --out");
    }
    if (!Files.exists(run) && (parent == null || !Files.isDirectory(parent))) {
      throw new UserError(
          "--run "
              + run
              + " does not exist, nor does its parent: give a stage's --out (one it has yet to"
              + " make is followed once its parent exists)");
    }
    if (port < 0 || port > 65_535) throw new UserError("--port must be in 0..65535, got " + port);
    DashboardServer server;
    try {
      server = DashboardServer.start(run, host, port);
    } catch (IllegalStateException e) {
      throw new UserError(e.getMessage() + "; choose another --port or --host", e);
    }
    var out = spec.commandLine().getOut();
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    server.close();
                  } catch (Exception e) {
                    // exiting anyway
                  }
                  stopped.countDown();
                },
                "rlhf-dashboard-shutdown"));
    var shown = host.contains(":") ? "[" + host + "]" : host; // an IPv6 address in a URL
    out.printf(
        "dashboard: http://%s:%d/ follows %s%s%n",
        shown,
        server.port(),
        run,
        Files.exists(run) ? "" : " (not there yet: shown once the stage writes it)");
    out.flush();
    stopped.await();
    return 0;
  }
}
