package io.streamrlhf.infra.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamrlhf.infra.stream.LiveLoop;
import io.streamrlhf.infra.stream.Watch;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.stream.RewardTrainer;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.tasks.SplitMix64;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The dashboard reads a PPO output directory as the learner leaves it (checkpoint, config,
 * gold-vs-proxy curve, stream statistics), serves it as JSON, and its page draws it; a step taken
 * after the page loaded shows on the page without a reload.
 */
class DashboardTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 16, 16, 1, 1);
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

  @TempDir Path run;

  private void checkpoint(long step) throws Exception {
    try (var model = Gpt.create(SHAPE, 1)) {
      Checkpoint.write(
          run,
          SHAPE,
          model.snapshot(step),
          List.of(model.snapshot(step)),
          new TrainState("ppo", step, 0, new SplitMix64(1).state(), 0, null));
    }
  }

  private void ppoRunAtUpdate40() throws Exception {
    checkpoint(40);
    Files.writeString(run.resolve("config.json"), "{\"seed\": 4, \"updates\": 800}");
    Files.writeString(
        run.resolve(PpoLoop.CURVE_CSV),
        // the learner is appending the next evaluation: a line without its end is not read yet
        "update,oracle_score,rm_score,kl,seconds\n0,1.5,-0.5,0.0,0.0\n40,1.7,-0.25,0.5,27.0\n8");
    Files.writeString(
        run.resolve(StreamStats.FILE), "{\"rollouts_applied\": 2560, \"lag_p50\": 4}");
  }

  private static HttpResponse<String> apiRun(DashboardServer server) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/api/run"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theRunAsItsFilesSayIsServedAsJson() throws Exception {
    ppoRunAtUpdate40();
    try (var server = DashboardServer.start(run, "127.0.0.1", 0)) {
      var response = apiRun(server);
      assertThat(response.statusCode()).isEqualTo(200);
      var json = JSON.readTree(response.body());
      assertThat(json.get("stage").asText()).isEqualTo("ppo");
      assertThat(json.get("step").asLong()).isEqualTo(40);
      assertThat(json.get("total").asLong()).isEqualTo(800);
      assertThat(json.get("gold_proxy")).hasSize(2);
      assertThat(json.get("gold_proxy").get(1).get("oracle").asDouble()).isEqualTo(1.7);
      assertThat(json.get("gold_proxy").get(1).get("rm").asDouble()).isEqualTo(-0.25);
      assertThat(json.get("stream").get("rollouts_applied").asLong()).isEqualTo(2560);
      assertThat(json.has("live")).as("no live.json: not a live run").isFalse();
    }
  }

  @Test
  void thePageAnswersHeadWithGetsHeadersAndNoBody() throws Exception {
    try (var server = DashboardServer.start(run, "127.0.0.1", 0)) {
      var page = URI.create("http://127.0.0.1:" + server.port() + "/");
      var http = HttpClient.newHttpClient();
      var get =
          http.send(HttpRequest.newBuilder(page).build(), HttpResponse.BodyHandlers.ofString());
      var head =
          http.send(
              HttpRequest.newBuilder(page)
                  .method("HEAD", HttpRequest.BodyPublishers.noBody())
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(head.statusCode()).isEqualTo(200);
      assertThat(head.body()).isEmpty();
      for (var header : List.of("content-type", "content-length"))
        assertThat(head.headers().firstValue(header))
            .as(header)
            .isPresent()
            .isEqualTo(get.headers().firstValue(header));
    }
  }

  @Test
  void aLearnerWhoseActorsRanApartShowsNoWeightSwapFiguresRatherThanZeros() throws Exception {
    ppoRunAtUpdate40();
    var stats =
        "{\"rollouts_applied\": 2560, \"weight_swaps\": %d,"
            + " \"publish_to_apply_ms_p50\": %d, \"publish_to_apply_ms_max\": %d}";
    Files.writeString(run.resolve(StreamStats.FILE), stats.formatted(0, 0, 0));
    var apart = RunSnapshot.read(run).get("stream");
    assertThat(apart.get("rollouts_applied").asLong()).isEqualTo(2560);
    assertThat(apart.has("weight_swaps")).isFalse();
    assertThat(apart.has("publish_to_apply_ms_p50")).isFalse();
    assertThat(apart.has("publish_to_apply_ms_max")).isFalse();

    // as a learner writes it now: nulls where nothing was measured
    Files.writeString(
        run.resolve(StreamStats.FILE),
        "{\"rollouts_applied\": 2560, \"weight_swaps\": null,"
            + " \"publish_to_apply_ms_p50\": null, \"publish_to_apply_ms_max\": null}");
    assertThat(RunSnapshot.read(run).get("stream").has("weight_swaps")).isFalse();

    Files.writeString(run.resolve(StreamStats.FILE), stats.formatted(31, 204, 350));
    var inProcess = RunSnapshot.read(run).get("stream");
    assertThat(inProcess.get("weight_swaps").asLong()).isEqualTo(31);
    assertThat(inProcess.get("publish_to_apply_ms_p50").asLong()).isEqualTo(204);
  }

  @Test
  void aRewardTrainersNewestEvaluationIsServedByItsFilesOwnColumnNames() throws Exception {
    Files.writeString(
        run.resolve(RewardTrainer.ACCURACY_CSV),
        "time,seconds,comparisons_seen,version,held_out_accuracy,labeler_agreement\n"
            + "2026-12-07T10:00:00Z,12.5,40,1,0.61,0.74\n"
            + "2026-12-07T10:00:30Z,42.0,120,3,0.68,\n"
            + "2026-12-07T10:01"); // the next row, still being written
    var feedback = RunSnapshot.read(run).get("feedback");
    assertThat(feedback.get("evaluations").asLong()).isEqualTo(2);
    assertThat(feedback.get("comparisons_seen").asLong()).isEqualTo(120);
    assertThat(feedback.get("version").asLong()).isEqualTo(3);
    assertThat(feedback.get("held_out_accuracy").asDouble()).isEqualTo(0.68);
    assertThat(feedback.get("time").asText()).isEqualTo("2026-12-07T10:00:30Z");
    assertThat(feedback.has("labeler_agreement")).as("not measured in that row").isFalse();
  }

  @Test
  void aFileThatIsNotJsonIsA503NamingItInOneLine() throws Exception {
    ppoRunAtUpdate40();
    Files.writeString(run.resolve(Checkpoint.LATEST), "garbage");
    try (var server = DashboardServer.start(run, "127.0.0.1", 0)) {
      var response = apiRun(server);
      assertThat(response.statusCode()).isEqualTo(503);
      // not the parser's exception with its class name and source excerpt
      assertThat(JSON.readTree(response.body()).get("error").asText())
          .startsWith(
              run.resolve(Checkpoint.LATEST)
                  + " is not the JSON its writer writes (line 1, column 8): Unrecognized token"
                  + " 'garbage'")
          .doesNotContain("Exception")
          .doesNotContain("\n");
    }
  }

  @Test
  void aRunWithoutCheckpointOrCurveYetIsServedWithWhatThereIs() throws Exception {
    // nor its directory yet: the dashboard may start before the stage
    var notYet = RunSnapshot.read(run.resolve("ppo"));
    assertThat(notYet.get("directory").asText()).isEqualTo(run.resolve("ppo").toString());
    assertThat(notYet.has("stage")).isFalse();
    var json = RunSnapshot.read(run);
    assertThat(json.get("directory").asText()).isEqualTo(run.toString());
    assertThat(json.has("stage")).isFalse();
    assertThat(json.has("gold_proxy")).isFalse();
  }

  @Test
  void thePageDrawsTheRunAndFollowsIt() throws Exception {
    assumeTrue(
        Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)");
    ppoRunAtUpdate40();
    var options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage");
    var service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .build();
    var browser = new ChromeDriver(service, options);
    try (var server = DashboardServer.start(run, "127.0.0.1", 0)) {
      browser.get("http://127.0.0.1:" + server.port() + "/");
      Watch.until(
          () -> browser.findElement(By.id("progress")).getText().equals("step 40 of 800"),
          "40",
          WAIT);
      assertThat(browser.findElement(By.id("stage")).getText()).isEqualTo("ppo");
      assertThat(browser.findElement(By.id("curve")).getAttribute("data-points")).isEqualTo("2");
      assertThat(browser.findElements(By.cssSelector("#stream tr"))).hasSize(2);

      // the learner checkpoints its next update and evaluates: the page follows
      checkpoint(41);
      Files.writeString(
          run.resolve(PpoLoop.CURVE_CSV),
          "0,1.8,-0.1,0.7,54.0\n",
          java.nio.file.StandardOpenOption.APPEND);
      Watch.until(
          () -> browser.findElement(By.id("progress")).getText().equals("step 41 of 800"),
          "41",
          WAIT);
      Watch.until(
          () -> "3".equals(browser.findElement(By.id("curve")).getAttribute("data-points")),
          "3",
          WAIT);

      // a run with no last step (the reward trainer's) is not "of ?"; its evaluations show
      Files.delete(run.resolve("config.json"));
      Files.writeString(
          run.resolve(RewardTrainer.ACCURACY_CSV),
          "time,comparisons_seen,held_out_accuracy\n2026-12-07T10:00:00Z,40,0.61\n");
      Watch.until(
          () -> browser.findElement(By.id("progress")).getText().equals("step 41"),
          "no total",
          WAIT);
      Watch.until(
          () -> browser.findElements(By.cssSelector("#feedback tr")).size() == 4,
          "the reward trainer's figures",
          WAIT);
      assertThat(browser.findElement(By.id("feedback")).getText()).contains("held out accuracy");

      // a live run stopped by a signal says so, where a running one would only show its step
      Json.writeAtomically(
          new LiveLoop.Figures(7, 3, 900, 1200, 2, -1, false), run.resolve(LiveLoop.FILE));
      Watch.until(
          () ->
              browser
                  .findElement(By.id("progress"))
                  .getText()
                  .equals("step 41, stopped before its end (a live run cannot be continued)"),
          "stopped",
          WAIT);
      // named as the other figures are, and what was not counted (-1) left out
      assertThat(browser.findElement(By.id("live")).getText())
          .contains("rankings 7")
          .contains("latency p50 ms 900")
          .doesNotContain("untaken");
    } finally {
      browser.quit();
    }
  }
}
