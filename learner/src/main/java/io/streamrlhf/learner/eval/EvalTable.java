package io.streamrlhf.learner.eval;

import io.streamrlhf.tasks.Family;
import io.streamrlhf.tasks.Grade;
import io.streamrlhf.tasks.Lexicon;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.Task;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The InstructGPT-style table of TASKS.md computed from evaluation records: per model, the share of
 * prompts whose response follows the instruction, is correct on the color family (truthful), is
 * correct, is not toxic, and beats the SFT model's response to the same prompt under the oracle
 * (ties ½); beside them the mean reward-model score and mean KL to SFT.
 *
 * <p>Responses to the same prompt are paired by position: a model's k-th record answers the same
 * prompt as the SFT model's k-th record (both follow the evaluation set's order).
 */
public final class EvalTable {
  private EvalTable() {}

  /** The model name whose samples the win rate is measured against. */
  public static final String SFT = "sft";

  /**
   * One line of eval.jsonl. {@code rmScore} and {@code kl} are null when not measured; {@code
   * tokens} counts the tokens sampled, the end-of-sequence (or a base model's cutting newline)
   * included: the response's bytes and that token, except where the bytes are not valid UTF-8 and
   * the text holds replacement characters in their place.
   */
  public record Record(
      String model,
      String prompt,
      String family,
      String reference,
      String response,
      boolean terminated,
      double score,
      Double rmScore,
      Double kl,
      int tokens) {}

  /**
   * One table row; {@code winVsSft}, {@code meanRmScore}, {@code meanKl} are null when not
   * measurable.
   */
  public record Row(
      String model,
      int prompts,
      double follows,
      Double truthful,
      double correct,
      double nonToxic,
      Double winVsSft,
      Double meanRmScore,
      Double meanKl) {}

  /** Rows in the order the models first appear. */
  public static List<Row> rows(List<Record> records) {
    var byModel = new LinkedHashMap<String, List<Record>>();
    for (var r : records) byModel.computeIfAbsent(r.model(), m -> new ArrayList<>()).add(r);
    var sft = byModel.get(SFT);
    var rows = new ArrayList<Row>();
    byModel.forEach((model, list) -> rows.add(row(model, list, sft)));
    return rows;
  }

  private static Row row(String model, List<Record> records, List<Record> sft) {
    int n = records.size();
    var tally = new Tally();
    double wins = 0, rm = 0, kl = 0;
    int rmCount = 0, klCount = 0;
    boolean comparable = sft != null && sft.size() == n;
    for (int i = 0; i < n; i++) {
      var r = records.get(i);
      var task = Task.parse(r.prompt());
      var grade = Oracle.grade(task, r.response(), r.terminated());
      tally.add(grade);
      if (comparable) {
        var other = sft.get(i);
        if (!Task.parse(other.prompt()).instruction().equals(task.instruction())) {
          throw new IllegalArgumentException(
              "record "
                  + i
                  + " of "
                  + model
                  + " answers '"
                  + task.instruction()
                  + "' but the SFT record answers '"
                  + other.prompt().strip()
                  + "': records must follow the same prompt order");
        }
        double mine = grade.score();
        double theirs =
            Oracle.grade(Task.parse(other.prompt()), other.response(), other.terminated()).score();
        wins += pairWin(mine, theirs);
      }
      if (r.rmScore() != null) {
        rm += r.rmScore();
        rmCount++;
      }
      if (r.kl() != null) {
        kl += r.kl();
        klCount++;
      }
    }
    double d = Math.max(n, 1);
    var shares = tally.shares();
    return new Row(
        model,
        n,
        shares.follows(),
        shares.truthful(),
        shares.correct(),
        shares.nonToxic(),
        comparable ? wins / d : null,
        rmCount == n && n > 0 ? rm / n : null,
        klCount == n && n > 0 ? kl / n : null);
  }

  /**
   * The table's share columns over a set of graded responses: follows, truthful (correct on the
   * color family; null without color prompts), correct, non-toxic.
   */
  public record Shares(double follows, Double truthful, double correct, double nonToxic) {}

  /** The {@link Shares} of graded responses, however many per prompt. */
  public static Shares shares(Grade[][] grades) {
    var tally = new Tally();
    for (var prompt : grades) for (var grade : prompt) tally.add(grade);
    return tally.shares();
  }

  /**
   * Truthful over one evaluation object's responses. The evaluation set asks about its objects
   * unevenly (repeats allowed), so the truthful column weighs each object by how often it was
   * drawn.
   *
   * @param prompts how many evaluation prompts ask about the object
   * @param responses how many responses to them were graded (prompts × samples per prompt)
   * @param truthful the share of those responses that name its true color
   */
  public record ObjectShare(int prompts, int responses, double truthful) {}

  /**
   * Truthful object by object, and their mean with every object weighted equally: what the column
   * would read were each object asked about equally often.
   *
   * @param byObject per object asked about, in the fact table's order
   * @param standardError of {@code equalWeight}: each object's responses are independent draws for
   *     the same prompt, so binomial, √(Σ p(1−p)/responses) / objects
   */
  public record TruthfulByObject(
      Map<String, ObjectShare> byObject, double equalWeight, double standardError) {}

  /**
   * {@link TruthfulByObject} of the graded responses to {@code tasks}; null without color tasks.
   */
  public static TruthfulByObject truthfulByObject(List<Task> tasks, Grade[][] grades) {
    if (grades.length != tasks.size()) {
      throw new IllegalArgumentException(grades.length + " graded prompts for " + tasks.size());
    }
    var counts = new LinkedHashMap<String, int[]>(); // object -> prompts, responses, truthful
    for (var object : Lexicon.OBJECTS) counts.put(object, new int[3]);
    for (int i = 0; i < tasks.size(); i++) {
      var object = tasks.get(i).colorObject();
      if (object == null) continue;
      var c = counts.get(object);
      c[0]++;
      for (var grade : grades[i]) {
        c[1]++;
        c[2] += grade.correct() ? 1 : 0;
      }
    }
    var byObject = new LinkedHashMap<String, ObjectShare>();
    double sum = 0, variance = 0;
    for (var e : counts.entrySet()) {
      var c = e.getValue();
      if (c[1] == 0) continue;
      double p = (double) c[2] / c[1];
      byObject.put(e.getKey(), new ObjectShare(c[0], c[1], p));
      sum += p;
      variance += p * (1 - p) / c[1];
    }
    if (byObject.isEmpty()) return null;
    int objects = byObject.size();
    return new TruthfulByObject(byObject, sum / objects, Math.sqrt(variance) / objects);
  }

  /** Counts the share columns' events, one graded response at a time. */
  private static final class Tally {
    private int responses, follows, correct, nonToxic, colors, truthful;

    void add(Grade grade) {
      responses++;
      follows += grade.follows() ? 1 : 0;
      correct += grade.correct() ? 1 : 0;
      nonToxic += grade.toxic() ? 0 : 1;
      if (grade.family() == Family.COLOR) {
        colors++;
        truthful += grade.correct() ? 1 : 0;
      }
    }

    Shares shares() {
      double d = Math.max(responses, 1);
      return new Shares(
          follows / d, colors == 0 ? null : (double) truthful / colors, correct / d, nonToxic / d);
    }
  }

  /**
   * A model's win rate against SFT estimated from many samples per prompt, where the table's column
   * compares one sample of each.
   *
   * @param winVsSft mean over prompts of the share of the M×N (model, SFT) sample pairs the model
   *     wins (ties ½): the expected value of the table's column
   * @param standardError its standard error over prompts (sample standard deviation / √prompts)
   * @param samplesPerPrompt N, the SFT samples per prompt compared against
   * @param byFamily the same mean per family, in the order families first appear
   */
  public record WinEstimate(
      double winVsSft, double standardError, int samplesPerPrompt, Map<String, Double> byFamily) {}

  /**
   * The {@link WinEstimate} from oracle scores: {@code sft[i]} and {@code model[i]} hold the scores
   * of prompt i's samples (N of SFT's and M of the model's for every prompt; M = 1 reads one fixed
   * draw, such as a table row, against SFT's samples), {@code families[i]} its family.
   */
  public static WinEstimate expectedWin(List<String> families, double[][] sft, double[][] model) {
    int n = families.size();
    if (n < 2 || sft.length != n || model.length != n) {
      throw new IllegalArgumentException(
          "need >= 2 prompts and one score row per prompt for both models, got "
              + n
              + " prompts, "
              + sft.length
              + " and "
              + model.length
              + " rows");
    }
    int samples = sft[0].length;
    int drawn = model[0].length;
    var perPrompt = new double[n];
    var familySums = new LinkedHashMap<String, double[]>();
    for (int i = 0; i < n; i++) {
      if (sft[i].length != samples || model[i].length != drawn || samples == 0 || drawn == 0) {
        throw new IllegalArgumentException(
            "prompt " + i + ": every prompt needs the same number (> 0) of samples per model");
      }
      double wins = 0;
      for (double mine : model[i]) {
        for (double theirs : sft[i]) wins += pairWin(mine, theirs);
      }
      perPrompt[i] = wins / ((double) samples * drawn);
      var sum = familySums.computeIfAbsent(families.get(i), f -> new double[2]);
      sum[0] += perPrompt[i];
      sum[1]++;
    }
    double mean = Arrays.stream(perPrompt).average().orElseThrow();
    double squares = Arrays.stream(perPrompt).map(w -> (w - mean) * (w - mean)).sum();
    double standardError = Math.sqrt(squares / (n - 1) / n);
    var byFamily = new LinkedHashMap<String, Double>();
    familySums.forEach((family, sum) -> byFamily.put(family, sum[0] / sum[1]));
    return new WinEstimate(mean, standardError, samples, byFamily);
  }

  /** One comparison of oracle scores: 1 for a win, ½ for a tie (TASKS.md), 0 for a loss. */
  private static double pairWin(double mine, double theirs) {
    return mine > theirs ? 1 : mine == theirs ? 0.5 : 0;
  }

  /** The table as Markdown; a dash where a column was not measured. */
  public static String markdown(List<Row> rows, Map<String, String> labels) {
    var sb = new StringBuilder();
    sb.append(
        "| model | follows | truthful | correct | non-toxic | win vs SFT | RM score | KL to SFT |\n");
    sb.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (var row : rows) {
      sb.append("| ")
          .append(labels.getOrDefault(row.model(), row.model()))
          .append(" | ")
          .append(share(row.follows()))
          .append(" | ")
          .append(row.truthful() == null ? "—" : share(row.truthful()))
          .append(" | ")
          .append(share(row.correct()))
          .append(" | ")
          .append(share(row.nonToxic()))
          .append(" | ")
          .append(row.winVsSft() == null ? "—" : share(row.winVsSft()))
          .append(" | ")
          .append(
              row.meanRmScore() == null
                  ? "—"
                  : String.format(Locale.ROOT, "%.3f", row.meanRmScore()))
          .append(" | ")
          .append(row.meanKl() == null ? "—" : String.format(Locale.ROOT, "%.2f", row.meanKl()))
          .append(" |\n");
    }
    return sb.toString();
  }

  private static String share(double x) {
    return String.format(Locale.ROOT, "%.3f", x);
  }
}
