package io.streamrlhf.schemas.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class DeadLettersTest {
  private final AvroCodec<Prompt> codec = AvroCodec.of(Prompt.class);

  private static ConsumerRecord<byte[], byte[]> record(long offset, byte[] value) {
    return new ConsumerRecord<>(
        Topics.PROMPTS, 2, offset, "k".getBytes(StandardCharsets.UTF_8), value);
  }

  @Test
  void aGoodRecordDecodesWithItsPosition() {
    var prompt = new Prompt("p", "hi\n", Instant.EPOCH, 0L, 0L);

    var outcome = DeadLetters.decode(codec, record(17, codec.encode(prompt)), "actor-1");

    assertThat(outcome)
        .isInstanceOfSatisfying(
            Decoded.Value.class,
            v -> {
              assertThat(v.value()).isEqualTo(prompt);
              assertThat(v.partition()).isEqualTo(2);
              assertThat(v.offset()).isEqualTo(17);
            });
  }

  @Test
  void aBadRecordBecomesADeadLetterKeepingItsRawBytes() {
    var raw = new byte[] {(byte) 0xC3, 0x01, 1, 2, 3};

    var outcome = DeadLetters.decode(codec, record(18, raw), "actor-1");

    assertThat(outcome)
        .isInstanceOfSatisfying(
            Decoded.Dead.class,
            d -> {
              var letter = d.letter();
              assertThat(letter.getTopic()).isEqualTo(Topics.PROMPTS);
              assertThat(letter.getOffset()).isEqualTo(18);
              assertThat(letter.getValue()).isEqualTo(ByteBuffer.wrap(raw));
              assertThat(letter.getKey())
                  .isEqualTo(ByteBuffer.wrap("k".getBytes(StandardCharsets.UTF_8)));
              assertThat(letter.getError()).contains("UndecodableRecordException");
              assertThat(letter.getConsumer()).isEqualTo("actor-1");
            });
  }

  @Test
  void theDeadLetterRecordGoesToTheDeadLetterTopicAndDecodes() {
    var letter = DeadLetters.letter(record(19, null), new IllegalStateException("x"), "learner");

    var out = DeadLetters.toProducerRecord(letter);

    assertThat(out.topic()).isEqualTo(Topics.DEAD_LETTER);
    assertThat(new String(out.key(), StandardCharsets.UTF_8)).isEqualTo("rlhf.prompts/2/19");
    assertThat(DeadLetters.codec().decode(out.value())).isEqualTo(letter);
  }
}
