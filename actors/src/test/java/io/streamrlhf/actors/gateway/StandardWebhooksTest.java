package io.streamrlhf.actors.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class StandardWebhooksTest {
  // The example delivery of the Standard Webhooks / Svix documentation, signature included.
  private static final byte[] KEY = StandardWebhooks.key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  private static final String ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  private static final String TIMESTAMP = "1614265330";
  private static final byte[] BODY = "{\"test\": 2432232314}".getBytes(StandardCharsets.UTF_8);
  private static final String SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  private static final Instant THEN = Instant.ofEpochSecond(1614265330 + 30);

  @Test
  void theSpecificationsExampleVerifiesAlsoAmongOtherSignatures() {
    assertThatCode(() -> StandardWebhooks.verify(KEY, ID, TIMESTAMP, SIGNATURE, BODY, THEN))
        .doesNotThrowAnyException();
    assertThatCode(
            () ->
                StandardWebhooks.verify(KEY, ID, TIMESTAMP, "v1,bm90IGl0 " + SIGNATURE, BODY, THEN))
        .doesNotThrowAnyException();
  }

  @Test
  void aChangedBodyIdOrKeyOrAStaleTimestampIsRefused() {
    var other = "{\"test\": 2432232315}".getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> StandardWebhooks.verify(KEY, ID, TIMESTAMP, SIGNATURE, other, THEN))
        .isInstanceOf(Rejection.class)
        .hasMessageContaining("does not match");
    assertThatThrownBy(
            () -> StandardWebhooks.verify(KEY, "msg_x", TIMESTAMP, SIGNATURE, BODY, THEN))
        .hasMessageContaining("does not match");
    var wrongKey = StandardWebhooks.key("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=");
    assertThatThrownBy(
            () -> StandardWebhooks.verify(wrongKey, ID, TIMESTAMP, SIGNATURE, BODY, THEN))
        .hasMessageContaining("does not match");
    assertThatThrownBy(
            () ->
                StandardWebhooks.verify(
                    KEY, ID, TIMESTAMP, SIGNATURE, BODY, THEN.plusSeconds(3600)))
        .hasMessageContaining("off our clock");
    assertThatThrownBy(() -> StandardWebhooks.verify(KEY, ID, TIMESTAMP, null, BODY, THEN))
        .hasMessageContaining("missing");
  }

  @Test
  void fiveMinutesOffIsStillAcceptedAndASecondMoreIsNot() {
    var ts = Instant.ofEpochSecond(1614265330);
    // either way: our clock behind the sender's (minus) or ahead of it (plus)
    for (int sign : new int[] {-1, 1}) {
      var edge = ts.plusSeconds(sign * 300L);
      assertThatCode(() -> StandardWebhooks.verify(KEY, ID, TIMESTAMP, SIGNATURE, BODY, edge))
          .as("300 s")
          .doesNotThrowAnyException();
      var past = ts.plusSeconds(sign * 301L);
      assertThatThrownBy(() -> StandardWebhooks.verify(KEY, ID, TIMESTAMP, SIGNATURE, BODY, past))
          .as("301 s")
          .isInstanceOf(Rejection.class)
          .hasMessageContaining("off our clock");
    }
  }

  @Test
  void aTimestampAnHourInTheFutureIsRefusedToo() {
    // the sender's clock an hour ahead: as much a replay risk as one an hour behind
    var anHourBefore = Instant.ofEpochSecond(1614265330 - 3600);
    assertThatThrownBy(
            () -> StandardWebhooks.verify(KEY, ID, TIMESTAMP, SIGNATURE, BODY, anHourBefore))
        .isInstanceOf(Rejection.class)
        .hasMessageContaining("off our clock");
  }

  @Test
  void aTimestampSoFarOffThatTheDifferenceOverflowsIsRefused() throws Exception {
    assertThat(sign(ID, 1614265330, BODY)).isEqualTo(SIGNATURE); // signs as the sender does
    // now - far is 2^63, which wraps to Long.MIN_VALUE, and Math.abs(Long.MIN_VALUE) < 0
    long far = THEN.getEpochSecond() + Long.MIN_VALUE;
    var signature = sign(ID, far, BODY);
    assertThatThrownBy(
            () -> StandardWebhooks.verify(KEY, ID, Long.toString(far), signature, BODY, THEN))
        .isInstanceOf(Rejection.class)
        .hasMessageContaining("off our clock");
  }

  /** A v1 signature made with the test key, as a sender makes it. */
  private static String sign(String id, long timestamp, byte[] body) throws Exception {
    var mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(KEY, "HmacSHA256"));
    mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
    return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(body));
  }

  @Test
  void onlyV1SignaturesCount() {
    // the same HMAC labelled as another scheme version is not a v1 signature
    var v2 = "v2," + SIGNATURE.substring(3);
    assertThatThrownBy(() -> StandardWebhooks.verify(KEY, ID, TIMESTAMP, v2, BODY, THEN))
        .isInstanceOf(Rejection.class)
        .hasMessageContaining("does not match");
  }

  @Test
  void aSecretThatIsNotBase64IsRefusedAtStart() {
    assertThatThrownBy(() -> StandardWebhooks.key("whsec_not base64!"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("whsec_");
  }
}
