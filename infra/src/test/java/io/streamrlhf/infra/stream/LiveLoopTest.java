package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.infra.chaos.TinyModels;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.stream.RewardTrainer;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole feedback loop in one process ({@code rlhf ppo --reward live}): actors score with
 * nothing but what the reward trainer publishes and ask for rankings; the simulated labelers rank
 * through the gateway's topics; the trainer learns from those rankings, and its newer versions
 * reach the actors while PPO runs. The parts are tested alone elsewhere; this is their wiring: the
 * trainer's signing key the actors trust, the label requests, the figures the loop writes.
 */
class LiveLoopTest {
  /**
   * The simulated labelers calibrate their noise on the first 64 label requests before they rank.
   * With every prompt sent to be ranked, those are the first 8 updates' prompts; a version trained
   * on rankings then has 32 more updates to reach the actors (it takes about one).
   */
  private static final int UPDATES = 40;

  private static final int PROMPTS_PER_BATCH = 8;

  @Test
  void rankingsTrainTheRewardModelAndItsNewerVersionsScoreRolloutsWhilePpoRuns(@TempDir Path dir)
      throws Exception {
    var sft = TinyRun.sft(dir.resolve("sft"), TinyRun.SHAPE);
    var ppo =
        ConfigLoader.with(
            TinyRun.config(UPDATES, 0), "reward=live", "prompts_per_batch=" + PROMPTS_PER_BATCH);
    var reward =
        ConfigLoader.with(
            OnlineRewardConfig.defaults(),
            "seed=3",
            "comparisons_per_step=2",
            "publish_every_steps=1",
            "fresh_wait_seconds=0.5",
            "statistics_samples=8",
            "warmup_steps=0",
            "log_every_steps=1");
    var rmOut = dir.resolve("rm");
    var ppoOut = dir.resolve("ppo");
    var log = new StringWriter();

    var figures =
        LiveLoop.run(
            ppo,
            reward,
            2,
            sft,
            null,
            rmOut,
            ppoOut,
            1.0,
            200,
            new LiveLoop.Page(0, null),
            new PrintWriter(log, true));

    System.out.print(log);
    // PPO ran to the end: the actors applied the trainer's signed v0 (they sample nothing before)
    assertThat(Checkpoint.trainState(ppoOut, TrainState.class).step()).isEqualTo(UPDATES);
    assertThat(log.toString()).contains("reward model v0 applied");
    // v0 of a cold start scores every answer 0: said, with when v1 comes
    assertThat(log.toString())
        .contains(
            "live: a cold start: until the reward trainer publishes its first trained version"
                + " (v1, after 1 optimizer step(s) of up to 8 fresh rankings), the reward model is"
                + " v0");
    // rankings arrived, trained the reward model, and a version trained on them scored rollouts
    assertThat(figures.rankings()).isPositive();
    assertThat(figures.versions()).as("versions applied, v0 among them").isGreaterThanOrEqualTo(2);
    assertThat(figures.timedRankings()).isPositive().isLessThanOrEqualTo(figures.rankings());
    assertThat(figures.latencyP50Ms()).isNotNegative().isLessThanOrEqualTo(figures.latencyP99Ms());
    // the trainer checkpointed what it took in; every published version has its accuracy row
    var rows = Files.readAllLines(rmOut.resolve(RewardTrainer.ACCURACY_CSV));
    assertThat(rows.size() - 1).isGreaterThanOrEqualTo((int) figures.versions());
    assertThat(Checkpoint.exists(rmOut)).isTrue();
    // what the loop printed is what it wrote
    var written =
        Json.MAPPER.readValue(ppoOut.resolve(LiveLoop.FILE).toFile(), LiveLoop.Figures.class);
    assertThat(written).isEqualTo(figures);
    assertThat(figures.finished()).isTrue();
    // the labelers rank faster than the trainer steps beside PPO; once PPO ended it took in the
    // rest
    assertThat(figures.untaken()).as("counted at the end, the broker still up").isZero();
    assertThat(log.toString()).contains("reward-trainer: taking in what is left before it stops");
    assertThat(LiveLoop.finished(ppoOut)).isTrue();
    assertThat(log.toString()).contains("live: " + figures.rankings() + " rankings");
  }

  @Test
  void eachRankingIsTimedToTheFirstAppliedVersionThatSawIt() {
    var tally = new LiveLoop.Tally();
    // taken in this order: created at 1000 ms, one skipped as unusable, 2000, 3000, 9500
    tally.taken(1000);
    tally.taken(-1);
    tally.taken(2000);
    tally.taken(3000);
    tally.published(0, 0);
    tally.published(1, 2); // saw the first two: the one at 1000 and the skipped one
    tally.taken(9500);
    tally.published(2, 4); // saw 2000 and 3000 too, not 9500
    tally.applied(0, 500);
    tally.applied(1, 4000);
    tally.applied(1, 4500); // another actor later: the first application counts
    tally.applied(2, 9000);
    tally.applied(3, 9900); // published by no trainer this tally heard of: times nothing

    var figures = tally.figures(true);
    // 1000 -> v1 at 4000: 3000; 2000 -> v2 at 9000: 7000; 3000 -> v2: 6000; 9500: no version saw it
    // sorted 3000, 6000, 7000: p50 is index floor(0.5 x 3) = 1, p99 index floor(0.99 x 3) = 2
    assertThat(figures).isEqualTo(new LiveLoop.Figures(5, 3, 6000, 7000, 4, -1, true));
    assertThat(tally.figures(false).finished()).isFalse();
    // the trainer's count at its end of what arrived and was never taken in: said when some did
    assertThat(figures.line()).doesNotContain("never trained on");
    tally.untaken(12);
    assertThat(tally.figures(true).untaken()).isEqualTo(12);
    assertThat(tally.figures(true).line())
        .endsWith(
            "; 4 reward-model versions applied; 12 more arrived than the reward trainer took in"
                + " before the end, never trained on");
    assertThat(new LiveLoop.Tally().figures(true))
        .as("nothing timed: the percentiles say so, not a latency")
        .isEqualTo(new LiveLoop.Figures(0, 0, -1, -1, 0, -1, true));
  }

  @Test
  void onlyFiguresMarkedUnfinishedReadAsAStoppedRun(@TempDir Path dir) throws Exception {
    assertThat(LiveLoop.finished(dir)).as("no figures").isFalse();
    Json.writeAtomically(
        new LiveLoop.Figures(3, 1, 5, 5, 2, -1, false), dir.resolve(LiveLoop.FILE));
    assertThat(LiveLoop.finished(dir)).isFalse();
    Json.writeAtomically(new LiveLoop.Figures(3, 1, 5, 5, 2, -1, true), dir.resolve(LiveLoop.FILE));
    assertThat(LiveLoop.finished(dir)).isTrue();
    // an older build wrote the file only at the end, without the mark
    Files.writeString(dir.resolve(LiveLoop.FILE), "{\"rankings\": 3}");
    assertThat(LiveLoop.finished(dir)).isTrue();
    Files.writeString(dir.resolve(LiveLoop.FILE), "[true]");
    assertThatThrownBy(() -> LiveLoop.finished(dir))
        .hasMessage(
            dir.resolve(LiveLoop.FILE) + " is not the JSON a live run writes: not an object");
    Files.writeString(dir.resolve(LiveLoop.FILE), "{\"rankings\": ");
    assertThatThrownBy(() -> LiveLoop.finished(dir))
        .isInstanceOf(java.io.IOException.class)
        .hasMessageStartingWith(dir.resolve(LiveLoop.FILE) + " is not the JSON a live run writes");
  }

  @Test
  void givenAnOfflineRewardModelTheTrainerStartsFromItAndTheFiguresCountWhatItTookIn(
      @TempDir Path dir) throws Exception {
    TinyRun.checkpoints(dir); // dir/sft and an offline reward model in dir/rm
    var ppo = ConfigLoader.with(TinyRun.config(2, 0), "reward=live");
    var reward = ConfigLoader.with(OnlineRewardConfig.defaults(), "statistics_samples=8");
    var log = new LateRanking("chosen-token");

    var figures =
        LiveLoop.run(
            ppo,
            reward,
            1,
            dir.resolve("sft"),
            dir.resolve("rm"),
            dir.resolve("trainer"),
            dir.resolve("ppo"),
            1.0,
            200,
            new LiveLoop.Page(0, "chosen-token"),
            new PrintWriter(log, true));

    // the page took the token it was given, and no other; the log does not repeat it
    assertThat(log.statuses).containsExactly(200, 401);
    assertThat(log.toString()).contains("(bearer token as given)").doesNotContain("chosen-token");
    assertThat(log.toString())
        .contains("reward-trainer: starting from the reward model in " + dir.resolve("rm"))
        .doesNotContain("cold start")
        .contains("actor-0: reward model v0 applied");
    assertThat(Checkpoint.trainState(dir.resolve("ppo"), TrainState.class).step()).isEqualTo(2);

    // the page closed before the trainer took in what was left: no ranking can come after it
    assertThat(log.refused).as("the page, as the trainer takes in what is left").isTrue();
    var stopped = STOPPED.matcher(log.toString());
    assertThat(stopped.find()).as("the trainer's last line").isTrue();
    assertThat(figures.rankings()).isEqualTo(Long.parseLong(stopped.group(1)));
    assertThat(figures.timedRankings()).isLessThanOrEqualTo(figures.rankings());
    assertThat(figures.untaken()).isZero();
    // 2 updates of 2 prompts are far fewer label requests than the labelers calibrate on: the
    // run learned nothing from rankings, and says so rather than only "0 rankings taken in"
    assertThat(figures.rankings()).isZero();
    assertThat(log.toString())
        .contains(
            "live: no ranking reached the reward trainer, so its reward model learned nothing:"
                + " the simulated labelers rank only once 64 label requests have come");
  }

  private static final Pattern STOPPED =
      Pattern.compile("reward-trainer: stopped after (\\d+) comparisons");

  /**
   * A {@link PageProbe} that also, as the reward trainer says it takes in what is left, asks the
   * labeling page for a request to rank, while the trainer waits on the print: a page still open
   * then could store a ranking after the trainer fixed what it takes in.
   */
  private static final class LateRanking extends PageProbe {
    private final HttpClient client = HttpClient.newHttpClient();
    private final String token;
    private boolean asked;
    boolean refused;

    LateRanking(String token) {
      super(token);
      this.token = token;
    }

    @Override
    public synchronized void flush() {
      super.flush();
      if (asked || !toString().contains("reward-trainer: taking in what is left")) return;
      asked = true;
      var page = PAGE.matcher(toString());
      if (!page.find()) throw new IllegalStateException("no labeling page in the log");
      try {
        client.send(
            HttpRequest.newBuilder(URI.create(page.group(1) + "api/requests/next?labeler=late"))
                .header("Authorization", "Bearer " + token)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.discarding());
      } catch (java.net.ConnectException e) {
        refused = true;
      } catch (IOException | InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /**
   * A log that, as the loop prints the labeling page's address, asks the page's API for its status
   * with the token and with another, while the loop waits on the print.
   */
  private static class PageProbe extends StringWriter {
    static final Pattern PAGE = Pattern.compile("labeling page at (\\S+) ");
    final List<Integer> statuses = new ArrayList<>();
    private final String token;

    PageProbe(String token) {
      this.token = token;
    }

    @Override
    public synchronized void flush() {
      var page = PAGE.matcher(toString());
      if (statuses.isEmpty() && page.find()) {
        var client = HttpClient.newHttpClient();
        for (var bearer : List.of(token, "another-token")) {
          var status =
              HttpRequest.newBuilder(URI.create(page.group(1) + "api/status"))
                  .header("Authorization", "Bearer " + bearer)
                  .build();
          try {
            statuses.add(client.send(status, HttpResponse.BodyHandlers.discarding()).statusCode());
          } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
          }
        }
      }
    }
  }

  @Test
  void aTrainerThatFailsBeforeItsFirstVersionEndsTheLoopWithItsOwnError(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    // a reward model of another vocabulary: the trainer refuses it as it starts
    var other = TinyModels.write(dir.resolve("other"), new GptConfig(300, 256, 16, 1, 2));
    var ppo = ConfigLoader.with(TinyRun.config(2, 0), "reward=live");
    var reward = ConfigLoader.with(OnlineRewardConfig.defaults(), "statistics_samples=8");

    assertThatThrownBy(
            () ->
                LiveLoop.run(
                    ppo,
                    reward,
                    1,
                    dir.resolve("sft"),
                    other.resolve("rm"),
                    dir.resolve("trainer"),
                    dir.resolve("ppo"),
                    1.0,
                    200,
                    new LiveLoop.Page(0, null),
                    new PrintWriter(new StringWriter(), true)))
        .hasMessageContaining("differ in vocabulary");
    assertThat(dir.resolve("ppo")).as("PPO never started").doesNotExist();
  }
}
