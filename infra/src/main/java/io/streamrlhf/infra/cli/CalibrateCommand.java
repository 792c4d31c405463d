package io.streamrlhf.infra.cli;

import io.streamrlhf.tasks.LabelerAgreement;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf tasks calibrate}: the labeler noise β that gives InstructGPT's inter-labeler
 * agreement on a set of responses (docs/TASKS.md "Simulated labelers").
 */
@Command(
    name = "calibrate",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Finds the labeler noise beta at which two simulated labelers agree on the target share of"
          + " response pairs, then measures the agreement two labelers with that beta reach.",
      "Input: {\"prompt\",\"response\",\"terminated\"} lines (e.g. SFT samples), grouped by prompt"
          + " in order of first appearance and cut into sets of K; a prompt's last responses that"
          + " do not fill a set of K are left out. Every pair of every set counts; pairs with equal"
          + " oracle scores agree only half the time and cap the reachable agreement.",
      "Malformed lines are reported with their line number and skipped (exit code 3)."
    },
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {
      "0:calibrated on every line",
      "2:usage error, or the target is out of reach on this response set",
      "3:calibrated, but some lines were malformed and skipped"
    })
final class CalibrateCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--in",
      required = true,
      paramLabel = "RESPONSES.jsonl",
      description = "Responses to rank, K or more per prompt.")
  Path in;

  @Option(
      names = "--k",
      defaultValue = "4",
      paramLabel = "K",
      description = "Responses ranked together (InstructGPT: 4 to 9).")
  int k;

  @Option(
      names = "--target",
      defaultValue = "0.73",
      paramLabel = "A",
      description = "Target agreement (InstructGPT: 72.6 +- 1.5%%).")
  double target;

  /** --rounds at most: the agreement's error a hundredth of one round's. */
  static final int MAX_ROUNDS = 10_000;

  @Option(
      names = "--rounds",
      defaultValue = "20",
      paramLabel = "R",
      description = "Times the two measuring labelers rank every set (at most 10000).")
  int rounds;

  @Option(
      names = "--seed",
      defaultValue = "0",
      paramLabel = "S",
      description = "Seed of the measuring labelers' random streams.")
  long seed;

  @Override
  public Integer call() {
    if (k < 2) {
      throw new UserError("--k must be at least 2, got " + k);
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) {
      // the measured agreement's error falls as 1/sqrt(rounds): more than enough by then, and a
      // count of a hundred million ran for minutes without a word
      throw new UserError("--rounds must be from 1 to " + MAX_ROUNDS + ", got " + rounds);
    }
    var byPrompt = new LinkedHashMap<String, List<Double>>();
    int skipped =
        GradedResponses.read(
            in,
            spec.commandLine().getErr(),
            graded ->
                byPrompt
                    .computeIfAbsent(graded.line().prompt().stripTrailing(), p -> new ArrayList<>())
                    .add(graded.grade().score()));
    var sets = new ArrayList<double[]>();
    int responses = 0;
    int leftOut = 0;
    for (var scores : byPrompt.values()) {
      responses += scores.size();
      int full = scores.size() / k * k;
      leftOut += scores.size() - full;
      for (int start = 0; start < full; start += k) {
        sets.add(
            scores.subList(start, start + k).stream().mapToDouble(Double::doubleValue).toArray());
      }
    }
    if (byPrompt.isEmpty() && skipped > 0)
      // the wrong file, not one with too few responses per prompt
      throw new UserError(
          "no line of "
              + in
              + " is a graded response ("
              + skipped
              + " malformed): give rlhf generate's output, K responses per prompt (--samples K)");
    if (sets.isEmpty()) {
      throw new UserError(
          "no prompt in " + in + " has " + k + " responses: nothing to rank (try a smaller --k)");
    }
    LabelerAgreement.Calibration c;
    try {
      c = LabelerAgreement.calibrate(sets, target, seed, rounds);
    } catch (IllegalArgumentException e) {
      // its documented refusal: --target out of reach on this response set (exit code 2 above)
      throw new UserError(e.getMessage(), e);
    }
    var out = spec.commandLine().getOut();
    out.printf(
        "%d responses to %d prompts: %d sets of K=%d (%d responses left out), %d pairs, %.1f%% with equal oracle scores%n",
        responses,
        byPrompt.size(),
        sets.size(),
        k,
        leftOut,
        c.pairs(),
        100.0 * c.tiedPairs() / c.pairs());
    out.printf("beta = %.4f%n", c.beta());
    out.printf(
        "agreement = %.4f +- %.4f measured (labelers 1 and 2, %d rounds, %d pair comparisons); expected %.4f, target %.4f%n",
        c.measured().rate(),
        c.measured().standardError(),
        rounds,
        c.measured().pairs(),
        c.expectedAgreement(),
        target);
    out.flush();
    return skipped == 0 ? 0 : GradeCommand.SKIPPED_LINES;
  }
}
