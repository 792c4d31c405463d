package io.streamrlhf.schemas.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.DeadLetter;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.RecordChecks;
import io.streamrlhf.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class DeadLettersTest {
  private final AvroCodec<Prompt> codec = AvroCodec.of(Prompt.class);

  private static ConsumerRecord<byte[], byte[]> record(long offset, byte[] value) {
    return new ConsumerRecord<>(
        Topics.PROMPTS, 2, offset, "k".getBytes(StandardCharsets.UTF_8), value);
  }

  private static DeadLetter deadLetter(Decoded<?> outcome) {
    assertThat(outcome).isInstanceOf(Decoded.Dead.class);
    return ((Decoded.Dead<?>) outcome).letter();
  }

  @Test
  void aGoodRecordDecodesWithItsPosition() {
    var prompt = new Prompt("p", "hi\n", Instant.EPOCH, 0L, 0L);

    var outcome =
        DeadLetters.decode(codec, RecordChecks.PROMPT, record(17, codec.encode(prompt)), "actor-1");

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

    var letter =
        deadLetter(DeadLetters.decode(codec, RecordChecks.PROMPT, record(18, raw), "actor-1"));

    assertThat(letter.getTopic()).isEqualTo(Topics.PROMPTS);
    assertThat(letter.getOffset()).isEqualTo(18);
    assertThat(letter.getValue()).isEqualTo(ByteBuffer.wrap(raw));
    assertThat(letter.getKey()).isEqualTo(ByteBuffer.wrap("k".getBytes(StandardCharsets.UTF_8)));
    assertThat(letter.getError()).startsWith("io.streamrlhf.schemas.UndecodableRecordException: ");
    assertThat(letter.getConsumer()).isEqualTo("actor-1");
  }

  @Test
  void aRecordThatDecodesButFailsItsCheckBecomesADeadLetterWithTheReason() {
    var raw = codec.encode(new Prompt("p", "", Instant.EPOCH, 0L, 0L));

    var letter =
        deadLetter(DeadLetters.decode(codec, RecordChecks.PROMPT, record(19, raw), "actor-1"));

    assertThat(letter.getError()).isEqualTo("invalid Prompt: empty text");
    assertThat(letter.getValue()).isEqualTo(ByteBuffer.wrap(raw));
    assertThat(letter.getOffset()).isEqualTo(19);
  }

  @Test
  void aForgedHugeLengthIsDeadLetteredNotAnOutOfMemoryError() throws Exception {
    var out = new ByteArrayOutputStream();
    out.write(Arrays.copyOf(codec.encode(new Prompt("p", "hi\n", Instant.EPOCH, 0L, 0L)), 10));
    var body = EncoderFactory.get().directBinaryEncoder(out, null);
    body.writeLong(Integer.MAX_VALUE - 16L); // promptId claims 2 GiB
    body.flush();
    out.write(new byte[8]);

    var letter =
        deadLetter(
            DeadLetters.decode(
                codec, RecordChecks.PROMPT, record(22, out.toByteArray()), "actor-1"));

    assertThat(letter.getError())
        .startsWith("io.streamrlhf.schemas.UndecodableRecordException: cannot decode Prompt")
        .contains("SystemLimitException");
    assertThat(letter.getValue()).isEqualTo(ByteBuffer.wrap(out.toByteArray()));
  }

  @Test
  void aCheckThatThrowsDeadLettersTheRecordInsteadOfThrowing() {
    var raw = codec.encode(new Prompt("p", "hi\n", Instant.EPOCH, 0L, 0L));

    var letter =
        deadLetter(
            DeadLetters.decode(
                codec,
                p -> {
                  throw new IllegalStateException("boom");
                },
                record(20, raw),
                "actor-1"));

    assertThat(letter.getError())
        .isEqualTo("invalid Prompt: check failed: java.lang.IllegalStateException: boom");
  }

  @Test
  void aRecordTooLargeForALetterIsCutAndTheLetterStillFitsTheTopic() {
    var raw = new byte[Topics.MAX_RECORD_BYTES];
    raw[0] = (byte) 0xC3;

    var letter =
        deadLetter(DeadLetters.decode(codec, RecordChecks.PROMPT, record(21, raw), "actor-1"));

    assertThat(letter.getValue().remaining()).isEqualTo(DeadLetters.MAX_VALUE_BYTES);
    assertThat(letter.getError())
        .endsWith(
            "(value cut to its first "
                + DeadLetters.MAX_VALUE_BYTES
                + " of "
                + Topics.MAX_RECORD_BYTES
                + " bytes)");
    assertThat(DeadLetters.toProducerRecord(letter).value().length)
        .isLessThan(Topics.MAX_RECORD_BYTES - 1024);
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
