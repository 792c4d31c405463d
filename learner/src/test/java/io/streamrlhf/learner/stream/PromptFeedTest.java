package io.streamrlhf.learner.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Prompt;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class PromptFeedTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final AvroCodec<Prompt> CODEC = AvroCodec.of(Prompt.class);

  private static MockProducer<byte[], byte[]> producer() {
    return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static List<Prompt> sent(MockProducer<byte[], byte[]> producer) {
    return producer.history().stream().map(r -> CODEC.decode(r.value())).toList();
  }

  @Test
  void aPromptAskedAgainIsTheVeryPromptItsBatchHeldWithItsSeed() {
    var producer = producer();
    var feed = new PromptFeed(producer, "r1", 7, 3, 0, Map.of());
    for (long b = 0; b < 3; b++) feed.publishNext(b, TIMEOUT);
    var batches = sent(producer);

    feed.requestAgain(new PromptId("r1", 1, 2), 5, TIMEOUT);

    var again = sent(producer).get(9);
    var original = batches.get(1 * 3 + 2);
    assertThat(again.getPromptId()).isEqualTo("r1:1:2").isEqualTo(original.getPromptId());
    assertThat(again.getText()).isEqualTo(original.getText());
    assertThat(again.getSamplingSeed()).isEqualTo(original.getSamplingSeed());
    assertThat(again.getMinPolicyVersion()).isEqualTo(5);
    assertThat(batches.stream().map(Prompt::getText).distinct()).hasSizeGreaterThan(1);
    // where this run's prompts end on each partition (the mock writes everything to partition 0)
    assertThat(feed.ends()).isEqualTo(Map.of(0, 10L));
  }

  @Test
  void aFeedResumedAtBatchBPublishesWhatAnUninterruptedFeedPublishesThere() {
    var whole = producer();
    var feed = new PromptFeed(whole, "r1", 7, 3, 0, Map.of());
    for (long b = 0; b < 3; b++) feed.publishNext(b, TIMEOUT);
    var resumedProducer = producer();
    new PromptFeed(resumedProducer, "r1", 7, 3, 2, Map.of(0, 6L)).publishNext(2, TIMEOUT);

    var expected = sent(whole).subList(6, 9);
    var resumed = sent(resumedProducer);
    for (int i = 0; i < 3; i++) {
      assertThat(resumed.get(i).getPromptId()).isEqualTo(expected.get(i).getPromptId());
      assertThat(resumed.get(i).getText()).isEqualTo(expected.get(i).getText());
      assertThat(resumed.get(i).getSamplingSeed()).isEqualTo(expected.get(i).getSamplingSeed());
    }
  }
}
