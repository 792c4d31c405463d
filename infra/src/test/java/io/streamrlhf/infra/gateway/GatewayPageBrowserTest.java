package io.streamrlhf.infra.gateway;

import static io.streamrlhf.infra.gateway.GatewayClient.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.streamrlhf.actors.gateway.GatewayNode;
import io.streamrlhf.actors.gateway.GatewaySettings;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;

/**
 * The labeling page in a real browser: Debian's chromium, headless, driven through its
 * chromedriver. A labeler signs in with the token, ranks three answers with a number key, a click
 * and a tie, submits with Enter, and the comparison is read back from {@code rlhf.comparisons}.
 * Screenshots go to {@code target/gateway-page.png} (ranked, before submitting) and {@code
 * target/gateway-page-saved.png} (after). Skipped where chromium or chromedriver is not installed
 * ({@code .ci/run} installs both).
 */
class GatewayPageBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final String TOKEN = "browser-test-token-5f0c";

  private EmbeddedKafka kafka;
  private Vertx vertx;
  private GatewayNode node;
  private WebDriver browser;

  @BeforeEach
  void start() {
    assumeTrue(
        Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)");
    kafka = EmbeddedKafka.start();
    TopicProvisioner.provision(kafka.bootstrapServers(), Duration.ofSeconds(30));
    vertx = Vertx.vertx();
    node =
        GatewayNode.deploy(vertx, GatewaySettings.of(kafka.bootstrapServers(), 0, TOKEN), l -> {});
    var options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    // root in CI needs --no-sandbox; containers have a small /dev/shm
    options.addArguments(
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,860");
    var service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .build();
    browser = new ChromeDriver(service, options);
  }

  @AfterEach
  void stop() {
    if (browser != null) browser.quit();
    if (node != null) node.stop();
    if (vertx != null) vertx.close().await();
    if (kafka != null) kafka.close();
  }

  @Test
  void aLabelerRanksWithKeysClicksAndATieAndTheComparisonLandsOnTheTopic() throws Exception {
    var client = new GatewayClient(node.url(), kafka.bootstrapServers());
    client.publish(request("r-page-1", "cba", "abc", "cab"));
    client.publish(request("r-page-2", "Reverse hello.\n", List.of("olleh", "hello", "hlelo")));
    client.awaitKnown("r-page-1", TOKEN);
    client.awaitKnown("r-page-2", TOKEN);

    browser.get(node.url());
    assertThat(browser.getCurrentUrl()).doesNotContain(TOKEN);
    until(() -> browser.findElement(By.id("token")).isDisplayed(), "the sign-in form");
    browser.findElement(By.id("token")).sendKeys(TOKEN);
    browser.findElement(By.id("labeler")).sendKeys("alice");
    browser.findElement(By.cssSelector("#signin-form button[type=submit]")).click();
    until(() -> text("prompt").equals("Reverse abc."), "the first request on the page");
    until(() -> text("waiting").equals("2 waiting for you"), "the waiting count");

    // 1, 2, 3 with 3 tied to 2; taking 2 back leaves 3 a rank of its own, not tied to 1
    var keys = new Actions(browser);
    keys.sendKeys("1").sendKeys("2").sendKeys("3").sendKeys("t").perform();
    until(
        () -> browser.findElements(By.cssSelector("#ranked li.tied")).size() == 1,
        "answer 3 tied with answer 2");
    browser.findElement(By.cssSelector("#ranked li[data-answer='1']")).click();
    until(
        () -> browser.findElements(By.cssSelector("#ranked li.answer")).size() == 2,
        "answer 2 taken back");
    assertThat(browser.findElements(By.cssSelector("#ranked li.tied"))).isEmpty();
    takeAllBack();

    // dragged onto itself, a tied answer stays tied; dragged into a tie, an answer joins it
    keys.sendKeys("1").sendKeys("2").sendKeys("3").sendKeys("t").perform();
    until(
        () -> browser.findElements(By.cssSelector("#ranked li.tied")).size() == 1,
        "answer 3 tied with answer 2 again");
    drag(
        By.cssSelector("#ranked li[data-answer='2']"),
        By.cssSelector("#ranked li[data-answer='2']"));
    assertThat(rankedOrder()).containsExactly("0", "1", "2");
    assertThat(browser.findElements(By.cssSelector("#ranked li.tied"))).hasSize(1);
    drag(
        By.cssSelector("#ranked li[data-answer='0']"),
        By.cssSelector("#ranked li[data-answer='2']"));
    until(() -> rankedOrder().equals(List.of("1", "0", "2")), "answer 1 dropped into the tie");
    assertThat(browser.findElements(By.cssSelector("#ranked li.tied"))).hasSize(2);
    takeAllBack();

    // answer 2 ("abc") best by its number key, answer 3 ("cab") next by a click, then tied with
    // the one above by T; Enter puts the last one left, answer 1 ("cba"), last and submits
    keys.sendKeys("2").perform();
    browser.findElement(By.cssSelector("#pool li[data-answer='2']")).click();
    keys.sendKeys("t").perform();
    until(
        () -> browser.findElements(By.cssSelector("#ranked li.answer")).size() == 2,
        "two ranked answers");
    assertThat(browser.findElements(By.cssSelector("#ranked li.tied"))).hasSize(1);
    screenshot("gateway-page.png");

    keys.sendKeys(Keys.ENTER).perform();
    until(() -> text("message").startsWith("Saved"), "the page to say the ranking was saved");
    until(() -> text("mine").equals("you: 1"), "the labeler's own count");
    until(() -> text("meta").contains("r-page-2"), "the next request");

    var written = client.comparisonsFor("r-page-1");
    assertThat(written).hasSize(1);
    var c = written.get(0);
    assertThat(c.getRanks()).containsExactly(1, 0, 0);
    assertThat(c.getLabelerId()).isEqualTo("alice");
    assertThat(c.getKind()).isEqualTo("human");
    assertThat(c.getIdempotencyKey()).isNotBlank();
    assertThat(browser.findElement(By.id("message")).getText()).contains(c.getComparisonId());
    screenshot("gateway-page-saved.png");

    // the next request by drag and drop: "hlelo" into the ranking, then "olleh" above it
    drag(By.cssSelector("#pool li[data-answer='2']"), By.id("ranked"));
    drag(
        By.cssSelector("#pool li[data-answer='0']"), By.cssSelector("#ranked li[data-answer='2']"));
    until(
        () -> browser.findElements(By.cssSelector("#ranked li.answer")).size() == 2,
        "two answers dragged into the ranking");
    keys.sendKeys(Keys.ENTER).perform();
    until(() -> text("mine").equals("you: 2"), "the second ranking saved");
    var dragged = client.comparisonsFor("r-page-2");
    assertThat(dragged).hasSize(1);
    assertThat(dragged.get(0).getRanks()).containsExactly(0, 2, 1);

    // a request she skips still waits for others, but no longer for her
    client.publish(request("r-page-3", "cba", "abc", "cab"));
    client.awaitKnown("r-page-3", TOKEN);
    until(() -> text("meta").contains("r-page-3"), "the third request");
    until(() -> text("waiting").equals("1 waiting for you"), "the third request counted");
    keys.sendKeys("s").perform();
    until(() -> text("waiting").equals("0 waiting for you"), "nothing left for her");
    assertThat(client.get("/api/status", TOKEN).json().getInteger("waiting")).isEqualTo(1);
  }

  /**
   * HTML5 drag and drop as the browser dispatches it (WebDriver's pointer actions do not start a
   * native drag in Chrome): dragstart on the item, dragover and drop on the target, with one
   * DataTransfer carrying the item between them.
   */
  private void drag(By item, By target) {
    ((ChromeDriver) browser)
        .executeScript(
            "const [item, target] = arguments; const data = new DataTransfer();"
                + "const fire = (el, type) => el.dispatchEvent(new DragEvent(type,"
                + " {bubbles: true, cancelable: true, dataTransfer: data}));"
                + "fire(item, 'dragstart'); fire(target, 'dragover'); fire(target, 'drop');"
                + "fire(item, 'dragend');",
            browser.findElement(item),
            browser.findElement(target));
  }

  /** The answers in the ranking, best first, as data-answer numbers. */
  private List<String> rankedOrder() {
    return browser.findElements(By.cssSelector("#ranked li.answer")).stream()
        .map(li -> li.getAttribute("data-answer"))
        .toList();
  }

  /** Clicks every ranked answer until none is left. */
  private void takeAllBack() {
    for (var answer : rankedOrder())
      browser.findElement(By.cssSelector("#ranked li[data-answer='" + answer + "']")).click();
    until(
        () -> browser.findElements(By.cssSelector("#ranked li.answer")).isEmpty(),
        "every answer taken back");
  }

  /** The text of the element with this id, as the labeler sees it. */
  private String text(String id) {
    return browser.findElement(By.id(id)).getText();
  }

  /** Polls the page until the condition holds (an element may be redrawn meanwhile). */
  private static void until(BooleanSupplier condition, String what) {
    GatewayClient.await(
        () -> {
          try {
            return condition.getAsBoolean();
          } catch (NoSuchElementException | StaleElementReferenceException redrawn) {
            return false;
          }
        },
        what);
  }

  private void screenshot(String name) throws Exception {
    var png = ((ChromeDriver) browser).getScreenshotAs(OutputType.FILE).toPath();
    Files.copy(png, Path.of("target", name), StandardCopyOption.REPLACE_EXISTING);
  }
}
