package io.streamrlhf.infra.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.learner.eval.EvalTable;
import io.streamrlhf.learner.eval.Evaluation;
import io.streamrlhf.learner.ppo.RunIdentity;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.RewardStats;
import io.streamrlhf.tasks.EvalSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rlhf eval}: the InstructGPT-style table of docs/TASKS.md on the 400 held-out prompts. */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Samples one response per held-out prompt (400, TASKS.md) from each selected model and prints the"
          + " InstructGPT-style table: follows, truthful (correct on color), correct, non-toxic, win vs SFT"
          + " (oracle score, ties 1/2), mean RM score (with --rm) and mean KL to SFT per response (with --sft).",
      "Rows: base (zero-shot and 3-shot, cut at the first newline), sft, ppo, and ppo-gold when --ppo-gold is"
          + " given (PPO trained against the oracle: rlhf ppo --reward oracle); a selected row whose model"
          + " directory is not given is skipped.",
      "Under the table: PPO's win over N x N samples (--win-samples) and, over the same samples, the share"
          + " columns and truthful per evaluation object (also with every object weighted equally), the headroom rankings can teach (SFT's best"
          + " of N samples per prompt picked by the oracle and by the reward model, against SFT) and the mean"
          + " response length of every row.",
      "Writes DIR/table.md and DIR/eval.jsonl ({\"model\",\"prompt\",\"family\",\"reference\",\"response\","
          + "\"terminated\",\"score\",\"rm_score\",\"kl\",\"response_tokens\"} per model and prompt); with the sft and ppo rows also DIR/win.json,"
          + " PPO's win vs SFT over --win-samples responses per prompt from each, and with the sft row DIR/headroom.json."
    })
final class EvalCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--models",
      defaultValue = "base,sft,ppo",
      split = ",",
      paramLabel = "ROW",
      description =
          "Rows to evaluate: base (both base rows), base-0shot, base-3shot, sft, ppo, ppo-gold"
              + " (added by itself when --ppo-gold is given).")
  List<String> models;

  @Option(names = "--base", paramLabel = "DIR", description = "Base model (rlhf pretrain output).")
  Path base;

  @Option(
      names = "--sft",
      paramLabel = "DIR",
      description = "SFT model (rlhf sft output); also the reference for win and KL.")
  Path sft;

  @Option(names = "--ppo", paramLabel = "DIR", description = "PPO policy (rlhf ppo output).")
  Path ppo;

  @Option(
      names = "--ppo-gold",
      paramLabel = "DIR",
      description =
          "PPO policy trained against the oracle (rlhf ppo --reward oracle): the gold-reward row.")
  Path ppoGold;

  @Option(
      names = "--rm",
      paramLabel = "DIR",
      description = "Reward model (rlhf reward output), for the RM score column.")
  Path rm;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "Where table.md and eval.jsonl go.")
  Path out;

  @Option(
      names = "--temperature",
      defaultValue = "1.0",
      paramLabel = "T",
      description = "Sampling temperature.")
  float temperature;

  @Option(
      names = "--seed",
      defaultValue = "0",
      paramLabel = "S",
      description =
          "Sampling and few-shot seed. Every row samples prompt i from the same random stream, drawing"
              + " tokens by Gumbel-max, so where PPO keeps SFT's likely tokens the two rows draw the same response"
              + " (common random numbers).")
  long seed;

  @Option(
      names = "--prompts-per-batch",
      defaultValue = "50",
      paramLabel = "B",
      description = "Prompts sampled and scored together.")
  int promptsPerBatch;

  @Option(
      names = "--limit",
      defaultValue = "400",
      paramLabel = "N",
      description =
          "Evaluate N of the 400 held-out prompts (the first N/8 of each family; N must be 8 or"
              + " more, and 400 or more means all 400), for quick looks.")
  int limit;

  @Option(
      names = "--win-samples",
      defaultValue = "8",
      paramLabel = "N",
      description =
          "With the sft row: also sample N more responses per prompt from SFT for the headroom lines"
              + " (DIR/headroom.json), and with the ppo row from PPO too, to report PPO's win vs SFT over all"
              + " N x N pairs, per family and with its standard error (the table's column compares one sample"
              + " each and moves by about 0.01 with the seed; DIR/win.json). Below the table; at most 256, 0"
              + " turns it off.")
  int winSamples;

  /**
   * The gold row's label says its policy was trained against the oracle: a run of {@code ppo} or
   * {@code learner} with {@code --reward oracle} must have written it, as its checkpoint states.
   * Any other model would be printed under a label that is not true of it (--ppo takes any language
   * model).
   */
  private static void requireGold(Path dir) {
    StageOptions.requireCheckpoint("--ppo-gold", dir, "ppo");
    String reward;
    try {
      reward = RunIdentity.of(dir).map(RunIdentity::reward).orElse(null);
    } catch (IOException | RuntimeException e) {
      var reason =
          e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
      throw new UserError(
          "--ppo-gold "
              + dir
              + " states how it was trained in a form that cannot be read ("
              + reason
              + ")",
          e);
    }
    if (!"oracle".equals(reward))
      throw new UserError(
          "--ppo-gold "
              + dir
              + (reward == null
                  ? " states no reward source (saved before runs stated it)"
                  : " was trained against --reward " + reward)
              + ": the gold row is a run of rlhf ppo or rlhf learner with --reward oracle; give this"
              + " one as --ppo");
  }

  /**
   * --out must take eval's files before minutes of sampling, and must not be a model's directory,
   * whose files they would sit among (and a stage would then take for another program's).
   */
  private void requireWritableOut() {
    if (Checkpoint.exists(out))
      throw new UserError("--out " + out + " holds a checkpoint: give eval a directory of its own");
    // a step directory: the run's next checkpoint would delete it, eval's files with it
    TaskFiles.requireOutsideCheckpoints(out, out.toAbsolutePath().normalize());
    StageOptions.requireWritable(out);
  }

  /**
   * A policy that its run records as trained from another SFT model than --sft, or a reward model
   * whose likelihood weight was fitted on another: allowed (a user compares what they like), and
   * said, since the columns measured against SFT then measure against a model the policy did not
   * start from, and the reward model's likelihood term is computed with --sft.
   */
  private void noteOtherSft(Path sft) throws java.io.IOException {
    var given = new LinkedHashMap<String, Path>();
    given.put("--ppo", ppo);
    given.put("--ppo-gold", ppoGold);
    if (rm != null && RewardStats.read(rm).likelihoodWeight() != 0) given.put("--rm", rm);
    given.forEach(
        (flag, dir) -> {
          var other = dir == null ? null : StageOptions.otherSftOf(dir, sft);
          if (other == null) return;
          var from =
              other.equals(sft.toAbsolutePath().normalize().toString())
                  ? "an earlier SFT model in " + other
                  : "the SFT model in "
                      + other
                      + (flag.equals("--rm") ? ", not on --sft " : ", not from --sft ")
                      + sft;
          note(
              flag,
              dir,
              flag.equals("--rm")
                  ? "fitted its likelihood weight on "
                      + from
                      + ": eval computes that term with --sft"
                  : "was trained from "
                      + from
                      + ": its KL to SFT and win vs SFT compare it with a model it did not start"
                      + " from");
        });
  }

  /** Says of the model {@code flag} names what makes its row mean less than its label. */
  private void note(String flag, Path dir, String what) {
    spec.commandLine().getOut().println("eval: note: " + flag + " " + dir + " " + what);
  }

  /**
   * Checks that {@code dir}, when given, holds a language model, and notes when a stage other than
   * {@code stage} wrote it: its row is printed as {@code row}.
   */
  private void noteKind(String flag, Path dir, String stage, String row) {
    if (dir == null) return;
    var writtenBy = StageOptions.requireCheckpoint(flag, dir, StageOptions.POLICIES);
    if (writtenBy.equals(stage)) return;
    note(
        flag,
        dir,
        "holds a "
            + writtenBy
            + " checkpoint, not rlhf "
            + stage
            + "'s: its row is labelled "
            + row);
  }

  /** --win-samples at most: 65,536 pairs per prompt. */
  static final int MAX_WIN_SAMPLES = 256;

  @Override
  public Integer call() throws Exception {
    StageOptions.requireTemperature(temperature);
    if (winSamples < 0) throw new UserError("--win-samples must be >= 0, got " + winSamples);
    if (winSamples > MAX_WIN_SAMPLES) {
      // N x N pairs per prompt, and every sample kept to pair: the standard error is over the
      // prompts, which more samples of each do not add
      throw new UserError(
          "--win-samples must be at most "
              + MAX_WIN_SAMPLES
              + ", got "
              + winSamples
              + ": the estimate's error is over the prompts, which more samples per prompt do not"
              + " shrink");
    }
    if (promptsPerBatch < 1) throw new UserError("--prompts-per-batch must be >= 1");
    if (limit < 8)
      throw new UserError(
          "--limit must be at least 8 (N/8 prompts of each of the 8 families), got " + limit);
    StageOptions.requireNotAFile("--out", out);
    // a set: "base,base-3shot" names the 3-shot row twice, and it is evaluated once
    var selected = new LinkedHashSet<Evaluation.Row>();
    for (var name : models) {
      switch (name.trim().toLowerCase(Locale.ROOT)) {
        case "base" -> {
          selected.add(Evaluation.Row.BASE);
          selected.add(Evaluation.Row.BASE_3SHOT);
        }
        case "base-0shot" -> selected.add(Evaluation.Row.BASE);
        case "base-3shot" -> selected.add(Evaluation.Row.BASE_3SHOT);
        case "sft" -> selected.add(Evaluation.Row.SFT);
        case "ppo" -> selected.add(Evaluation.Row.PPO);
        case "ppo-gold" -> selected.add(Evaluation.Row.PPO_GOLD);
        default ->
            throw new UserError(
                "--models: unknown row '"
                    + name
                    + "': use base, base-0shot, base-3shot, sft, ppo, ppo-gold");
      }
    }
    if (ppoGold != null) selected.add(Evaluation.Row.PPO_GOLD);
    var rows = new ArrayList<>(selected);
    // any language model may fill a row but the gold one (a user compares what they like); a reward
    // model may not
    // allowed, but said: a row labelled by a stage its model did not come from
    noteKind("--base", base, "pretrain", "base");
    noteKind("--sft", sft, "sft", "SFT (and win vs SFT and KL to SFT measure against it)");
    noteKind("--ppo", ppo, "ppo", "PPO");
    if (ppoGold != null) requireGold(ppoGold);
    if (rm != null) StageOptions.requireCheckpoint("--rm", rm, StageOptions.REWARD_MODELS);
    if (rm != null) {
      try {
        RewardStats.read(rm); // what the RM score column reads: a reward model's statistics
      } catch (IllegalArgumentException e) {
        throw new UserError("--rm: " + e.getMessage(), e);
      }
    }
    if (sft != null) noteOtherSft(sft);
    var models = new Evaluation.Models(base, sft, ppo, ppoGold, rm);
    rows.removeIf(
        row -> {
          boolean missing = models.of(row) == null;
          if (missing)
            spec.commandLine()
                .getOut()
                .println("eval: row " + row.id + " skipped: no model directory given for it");
          return missing;
        });
    if (rows.isEmpty())
      throw new UserError(
          "no row to evaluate: give --base, --sft, --ppo or --ppo-gold for the rows in --models");
    var tasks = EvalSet.tasks();
    if (limit < 400) {
      int perFamily = limit / 8;
      if (limit % 8 != 0)
        spec.commandLine()
            .getOut()
            .printf(
                "eval: --limit %d evaluates %d prompts, %d of each family%n",
                limit, perFamily * 8, perFamily);
      tasks =
          tasks.stream()
              .collect(
                  java.util.stream.Collectors.groupingBy(
                      t -> t.family(), LinkedHashMap::new, java.util.stream.Collectors.toList()))
              .values()
              .stream()
              .flatMap(l -> l.stream().limit(perFamily))
              .toList();
    }
    requireWritableOut();
    var stdout = spec.commandLine().getOut();
    var settings = new Evaluation.Settings(temperature, seed, promptsPerBatch);
    var records = Evaluation.run(tasks, rows, models, settings, stdout);
    // every file is written after the table is printed: a disk that refuses one loses no result
    var files = new LinkedHashMap<String, String>();
    var lines = new StringBuilder();
    for (var r : records) lines.append(recordLine(r)).append('\n');
    files.put("eval.jsonl", lines.toString());
    var table = EvalTable.markdown(EvalTable.rows(records), labelsOf());
    var header =
        String.format(
            Locale.ROOT,
            "%d held-out prompts, temperature %s, seed %d%n%n",
            tasks.size(),
            temperature,
            seed);
    var footer = new StringBuilder();
    Files.deleteIfExists(
        out.resolve("win.json")); // both written again below when there is something to write
    Files.deleteIfExists(out.resolve("headroom.json"));
    Evaluation.WinEstimates estimates = null;
    if (winSamples > 0 && rows.contains(Evaluation.Row.SFT)) {
      double[] sftRow =
          records.stream()
              .filter(r -> r.model().equals(Evaluation.Row.SFT.id))
              .mapToDouble(EvalTable.Record::score)
              .toArray();
      EvalTable.WinEstimate gold = null;
      var sftSamples = Evaluation.sftSamples(tasks, sft, settings, winSamples, stdout);
      if (rows.contains(Evaluation.Row.PPO)) {
        estimates =
            Evaluation.expectedWin(
                tasks, sftSamples, Evaluation.Row.PPO, ppo, sftRow, settings, stdout);
        footer.append(winLines(estimates, tasks.size()));
      }
      if (rows.contains(Evaluation.Row.PPO_GOLD)) {
        gold =
            Evaluation.expectedWin(
                    tasks, sftSamples, Evaluation.Row.PPO_GOLD, ppoGold, sftRow, settings, stdout)
                .model();
        footer.append(
            String.format(
                Locale.ROOT,
                "PPO (gold reward) win vs SFT over %d x %d samples per prompt:" + " %.3f ± %.3f%n",
                winSamples,
                winSamples,
                gold.winVsSft(),
                gold.standardError()));
      }
      if (estimates != null || gold != null) {
        files.put("win.json", winJson(estimates, gold));
      }
      var headroom =
          Evaluation.headroom(tasks, Evaluation.scores(sftSamples), sft, rm, settings, stdout);
      footer.append(headroomLines(headroom, estimates == null ? null : estimates.model()));
      files.put("headroom.json", headroomJson(headroom));
    }
    footer.append(lengthLine(records, labelsOf()));
    stdout.print(header + table + footer);
    stdout.flush();
    files.put("table.md", header + table + footer);
    for (var file : files.entrySet())
      TaskFiles.writeString(out.resolve(file.getKey()), file.getValue());
    stdout.println(
        "eval: wrote "
            + String.join(
                " and ",
                Stream.of("table.md", "eval.jsonl", "win.json", "headroom.json")
                    .filter(files::containsKey)
                    .map(name -> out.resolve(name).toString())
                    .toList()));
    stdout.flush();
    return 0;
  }

  private static Map<String, String> labelsOf() {
    var labels = new LinkedHashMap<String, String>();
    for (var row : Evaluation.Row.values()) labels.put(row.id, row.label);
    return labels;
  }

  /**
   * The headroom lines (TASKS.md): SFT's best of N by the oracle and by the reward model, and the
   * share of the oracle's headroom over SFT that PPO won, (win − 0.5) / (best-of-N win − 0.5).
   */
  static String headroomLines(Evaluation.Headroom headroom, EvalTable.WinEstimate ppo) {
    var oracle = headroom.byOracle();
    var sb =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "Headroom: SFT's best of %d samples per prompt wins %.3f"
                    + " ± %.3f vs SFT picked by the oracle (the ceiling)",
                oracle.samplesPerPrompt(),
                oracle.winVsSft(),
                oracle.standardError()));
    if (headroom.byRewardModel() != null) {
      sb.append(
          String.format(
              Locale.ROOT,
              ", %.3f ± %.3f picked by the reward model",
              headroom.byRewardModel().winVsSft(),
              headroom.byRewardModel().standardError()));
    }
    if (ppo != null) {
      // a share of a headroom within noise of none (best of 1 is SFT itself) would be any number
      sb.append(
          oracle.winVsSft() - 0.5 > 2 * oracle.standardError()
              ? String.format(
                  Locale.ROOT,
                  "; PPO won %d%% of the oracle's headroom", // rounded whole: never "-0%"
                  Math.round(100 * (ppo.winVsSft() - 0.5) / (oracle.winVsSft() - 0.5)))
              : "; no headroom beyond two standard errors, so no share of it for PPO");
    }
    sb.append(System.lineSeparator());
    // where the reward model's pick falls short of the oracle's: the rankings' lesson per family
    var byRm = headroom.byRewardModel();
    sb.append(byRm == null ? "  by family, oracle:" : "  by family, oracle / reward model:");
    oracle
        .byFamily()
        .forEach(
            (family, win) -> {
              sb.append(String.format(Locale.ROOT, " %s %.3f", family, win));
              if (byRm != null) {
                sb.append(String.format(Locale.ROOT, "/%.3f", byRm.byFamily().get(family)));
              }
            });
    return sb.append(System.lineSeparator()).toString();
  }

  /** Mean response length per row in sampled tokens (end-of-sequence included), in table order. */
  static String lengthLine(List<EvalTable.Record> records, Map<String, String> labels) {
    var sums = new LinkedHashMap<String, double[]>();
    for (var r : records) {
      var sum = sums.computeIfAbsent(r.model(), m -> new double[2]);
      sum[0] += r.tokens();
      sum[1]++;
    }
    var sb = new StringBuilder("Mean response length in tokens:");
    sums.forEach(
        (model, sum) ->
            sb.append(
                String.format(
                    Locale.ROOT, " %s %.1f,", labels.getOrDefault(model, model), sum[0] / sum[1])));
    sb.setLength(sb.length() - 1);
    return sb.append(System.lineSeparator()).toString();
  }

  /** The estimates as the lines printed under the table. */
  static String winLines(Evaluation.WinEstimates estimates, int prompts) {
    var estimate = estimates.model();
    var sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "%nPPO win vs SFT over %d x %d samples per prompt (what the column above"
                + " estimates from one each): %.3f ± %.3f (standard error over %d prompts)%n",
            estimate.samplesPerPrompt(),
            estimate.samplesPerPrompt(),
            estimate.winVsSft(),
            estimate.standardError(),
            prompts));
    sb.append("  by family:");
    estimate
        .byFamily()
        .forEach((family, win) -> sb.append(String.format(Locale.ROOT, " %s %.3f", family, win)));
    sb.append(System.lineSeparator());
    // The SFT row's draw against fresh SFT samples: how lucky the seed's random numbers were. The
    // PPO row sampled every prompt from the same random numbers, so that luck is in both rows.
    var row = estimates.sftRow();
    sb.append(
        String.format(
            Locale.ROOT,
            "The SFT row's one sample per prompt wins %.3f ± %.3f against those SFT"
                + " samples (0.5 in expectation), the luck of this seed's random numbers; the PPO row drew the same random"
                + " numbers prompt by prompt, so the column above pairs that luck rather than charging it to PPO%n",
            row.winVsSft(),
            row.standardError()));
    var ppo = estimates.modelShares();
    var sft = estimates.sftShares();
    sb.append(
        String.format(
            Locale.ROOT,
            "Over the same %d samples per prompt (what the share columns estimate from one each):"
                + " follows SFT %.3f PPO %.3f, truthful SFT %s PPO %s, correct SFT %.3f PPO %.3f,"
                + " non-toxic SFT %.3f PPO %.3f%n",
            estimate.samplesPerPrompt(),
            sft.follows(),
            ppo.follows(),
            share(sft.truthful()),
            share(ppo.truthful()),
            sft.correct(),
            ppo.correct(),
            sft.nonToxic(),
            ppo.nonToxic()));
    // Truthful object by object: the evaluation set asks about some objects far more often than
    // others, and the column weighs them so; equal weights read what the models know.
    var sftTruthful = estimates.sftTruthful();
    var ppoTruthful = estimates.modelTruthful();
    if (sftTruthful != null && ppoTruthful != null) {
      sb.append("  truthful by evaluation object (prompts asking), SFT/PPO:");
      sftTruthful
          .byObject()
          .forEach(
              (object, mine) ->
                  sb.append(
                      String.format(
                          Locale.ROOT,
                          " %s (%d) %.3f/%.3f",
                          object,
                          mine.prompts(),
                          mine.truthful(),
                          ppoTruthful.byObject().get(object).truthful())));
      sb.append(
          String.format(
              Locale.ROOT,
              "; each object weighted equally: SFT %.3f ± %.3f, PPO %.3f ± %.3f%n",
              sftTruthful.equalWeight(),
              sftTruthful.standardError(),
              ppoTruthful.equalWeight(),
              ppoTruthful.standardError()));
    }
    return sb.toString();
  }

  private static String share(Double share) {
    return share == null ? "-" : String.format(Locale.ROOT, "%.3f", share);
  }

  /** win.json: PPO's estimate (when the ppo row ran) and the gold-reward row's (when it ran). */
  static String winJson(Evaluation.WinEstimates estimates, EvalTable.WinEstimate gold)
      throws IOException {
    var node = JSON.createObjectNode();
    if (estimates != null) {
      var estimate = estimates.model();
      node.put("samples_per_prompt", estimate.samplesPerPrompt());
      node.put("win_vs_sft", estimate.winVsSft());
      node.put("standard_error", estimate.standardError());
      var byFamily = node.putObject("by_family");
      estimate.byFamily().forEach(byFamily::put);
      node.put("sft_row_vs_sft_samples", estimates.sftRow().winVsSft());
      node.put("sft_row_standard_error", estimates.sftRow().standardError());
      // the share columns over the same samples: what the table's one-sample columns estimate
      putShares(node.putObject("sft_shares"), estimates.sftShares());
      putShares(node.putObject("ppo_shares"), estimates.modelShares());
      putTruthful(node, "sft", estimates.sftTruthful());
      putTruthful(node, "ppo", estimates.modelTruthful());
    }
    if (gold != null) {
      node.put("gold_win_vs_sft", gold.winVsSft());
      node.put("gold_standard_error", gold.standardError());
    }
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n";
  }

  /**
   * {model}_truthful_by_object {object: {prompts, truthful}} and the equal-weight mean with its SE.
   */
  private static void putTruthful(
      ObjectNode node, String model, EvalTable.TruthfulByObject truthful) {
    if (truthful == null) return;
    var byObject = node.putObject(model + "_truthful_by_object");
    truthful
        .byObject()
        .forEach(
            (object, share) ->
                byObject
                    .putObject(object)
                    .put("prompts", share.prompts())
                    .put("truthful", share.truthful()));
    node.put(model + "_truthful_equal_weight", truthful.equalWeight());
    node.put(model + "_truthful_equal_weight_standard_error", truthful.standardError());
  }

  private static void putShares(ObjectNode node, EvalTable.Shares shares) {
    node.put("follows", shares.follows());
    if (shares.truthful() != null) node.put("truthful", shares.truthful());
    node.put("correct", shares.correct());
    node.put("non_toxic", shares.nonToxic());
  }

  /**
   * headroom.json: SFT's best of N by the oracle and (with --rm) by the reward model, against SFT.
   */
  static String headroomJson(Evaluation.Headroom headroom) throws IOException {
    var node = JSON.createObjectNode();
    node.put("samples_per_prompt", headroom.byOracle().samplesPerPrompt());
    node.put("best_of_n_by_oracle", headroom.byOracle().winVsSft());
    node.put("best_of_n_by_oracle_standard_error", headroom.byOracle().standardError());
    headroom.byOracle().byFamily().forEach(node.putObject("best_of_n_by_oracle_by_family")::put);
    if (headroom.byRewardModel() != null) {
      node.put("best_of_n_by_rm", headroom.byRewardModel().winVsSft());
      node.put("best_of_n_by_rm_standard_error", headroom.byRewardModel().standardError());
      headroom.byRewardModel().byFamily().forEach(node.putObject("best_of_n_by_rm_by_family")::put);
    }
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n";
  }

  static String recordLine(EvalTable.Record r) throws IOException {
    var node = JSON.createObjectNode();
    node.put("model", r.model());
    node.put("prompt", r.prompt());
    node.put("family", r.family());
    node.put("reference", r.reference());
    node.put("response", r.response());
    node.put("terminated", r.terminated());
    node.put("score", r.score());
    if (r.rmScore() == null) node.putNull("rm_score");
    else node.put("rm_score", r.rmScore());
    if (r.kl() == null) node.putNull("kl");
    else node.put("kl", r.kl());
    node.put("response_tokens", r.tokens());
    return JSON.writeValueAsString(node);
  }
}
