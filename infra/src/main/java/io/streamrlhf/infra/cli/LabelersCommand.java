package io.streamrlhf.infra.cli;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.LabelerSettings;
import io.streamrlhf.actors.SimulatedLabelers;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code rlhf labelers}: TASKS.md's simulated labelers as a process of the loop ({@link
 * SimulatedLabelers}): label requests in, comparisons out, at a set rate.
 */
@Command(
    name = "labelers",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Runs simulated labelers against a Kafka cluster: consumes rlhf.label-requests (which actors"
          + " publish with --label-requests), has each request's answers ranked by one of N labelers"
          + " (two for the --overlap share) by the task suite's oracle score plus their noise"
          + " (TASKS.md), and produces the rankings as"
          + " comparisons (kind simulated) on rlhf.comparisons, for the reward trainer.",
      "Without --beta the labelers calibrate their noise on the first --calibration-requests"
          + " requests to two labelers agreeing on 73%% of pairs, and print what they measured."
          + " Serves until Ctrl-C, or exits 1 when it failed (one line saying why; its Kafka clients"
          + " are closed first), or 2 when the Kafka cluster refuses its login or a topic or group"
          + " its role needs; a restart ranks unacknowledged requests again, under the same"
          + " idempotency keys."
    })
final class LabelersCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Mixin KafkaClusterOptions cluster;

  @Option(
      names = "--rate",
      paramLabel = "R",
      defaultValue = "" + LabelerSettings.DEFAULT_RATE,
      description = "Label requests answered per second, at most (all labelers together).")
  double rate;

  @Option(
      names = "--labelers",
      paramLabel = "N",
      defaultValue = "" + LabelerSettings.DEFAULT_LABELERS,
      description =
          "Simulated labelers sharing the requests (ids simulated-1 .. simulated-N, in another"
              + " --group GROUP/simulated-1 ..).")
  int labelers;

  @Option(
      names = "--beta",
      paramLabel = "B",
      description =
          "The labelers' noise scale (rlhf tasks calibrate, or a reward checkpoint's labeler_beta)."
              + " Default: calibrated on the first requests.")
  Double beta;

  @Option(
      names = "--calibration-requests",
      paramLabel = "M",
      defaultValue = "" + LabelerSettings.DEFAULT_CALIBRATION_REQUESTS,
      description =
          "Requests the calibration of beta waits for (held unanswered meanwhile); one whose"
              + " answers all score alike does not count.")
  int calibrationRequests;

  @Option(
      names = "--overlap",
      paramLabel = "SHARE",
      defaultValue = "" + LabelerSettings.DEFAULT_OVERLAP,
      description =
          "Share of requests a second labeler ranks as well, so labeler agreement can be measured"
              + " (with --labelers 2 or more).")
  double overlap;

  @Option(
      names = "--seed",
      paramLabel = "N",
      defaultValue = "" + LabelerSettings.DEFAULT_SEED,
      description = "Seed of the labelers' noise (with each request id).")
  long seed;

  @Option(
      names = "--group",
      paramLabel = "ID",
      defaultValue = LabelerSettings.DEFAULT_GROUP,
      description =
          "Consumer group: processes in one group share the requests; another group ranks them all"
              + " again, as other labelers (ids GROUP/simulated-N, noise of their own), whose"
              + " rankings the reward trainer takes as new ones.")
  String group;

  @Override
  public Integer call() throws Exception {
    var settings = settings();
    var out = spec.commandLine().getOut();
    BrokerCheck.require(settings.kafka());
    TopicProvisioner.provisionAllButPrompts(settings.kafka(), Duration.ofSeconds(60));
    var vertx = ActorNode.newVertx();
    var labelers = SimulatedLabelers.deploy(vertx, settings, line -> println(out, line));
    return Serving.until(
        "labelers",
        labelers.ended(),
        () -> {
          println(out, "labelers: stopping");
          labelers.undeploy();
          vertx.close();
        },
        spec.commandLine().getErr());
  }

  /** The flags as settings, refused with the flag's name when out of range. */
  LabelerSettings settings() {
    if (group.isBlank())
      throw new UserError("--group must name a consumer group, got \"" + group + "\"");
    if (!(rate > 0) || Double.isInfinite(rate))
      throw new UserError("--rate must be a positive number of requests per second, got " + rate);
    if (labelers < 1) throw new UserError("--labelers must be at least 1, got " + labelers);
    if (beta != null && (!(beta >= 0) || beta.isInfinite()))
      throw new UserError("--beta must be a finite number >= 0, got " + beta);
    if (!(overlap >= 0 && overlap <= 1))
      throw new UserError("--overlap must be a share from 0 to 1, got " + overlap);
    // one labeler has no second to rank the same requests: asked for, agreement would silently
    // never be measured; by default there is simply no overlap
    if (labelers == 1
        && overlap > 0
        && spec.commandLine().getParseResult().hasMatchedOption("--overlap"))
      throw new UserError(
          "--overlap "
              + spec.commandLine().getParseResult().matchedOption("--overlap").stringValues().get(0)
              + " needs a second labeler to rank the same requests: give --labelers 2 or more, or"
              + " drop --overlap");
    if (calibrationRequests < 1 || calibrationRequests > LabelerSettings.MAX_CALIBRATION_REQUESTS)
      throw new UserError(
          "--calibration-requests must be in 1.."
              + LabelerSettings.MAX_CALIBRATION_REQUESTS
              + ", got "
              + calibrationRequests);
    return new LabelerSettings(
        cluster.access(),
        group,
        rate,
        labelers,
        beta,
        calibrationRequests,
        labelers == 1 ? 0 : overlap,
        seed,
        Duration.ofSeconds(30));
  }

  private static void println(PrintWriter out, String line) {
    synchronized (out) {
      out.println(line);
      out.flush();
    }
  }
}
