package io.streamrlhf.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/**
 * Rollout v1 (history/Rollout-v1.avsc) lacks the fields rewardVersion and sampleIndex, Rollout v2
 * lacks tokenVersions, which the current Rollout added with defaults. Prompt v1 (main resource
 * history/Prompt-v1.avsc, shipped so actors read prompts queued before the change) lacks
 * minPolicyVersion and samplingSeed.
 */
class SchemaEvolutionTest {
  private static final Schema V1 = AvroCodec.history("Rollout").get(0);

  private static GenericRecord v1Rollout() {
    var r = new GenericData.Record(V1);
    r.put("rolloutId", "r-old");
    r.put("promptId", "p-1");
    r.put("promptTokens", List.of(1, 2, 3));
    r.put("responseTokens", List.of(4, 5));
    r.put("behaviourLogProbs", List.of(-0.5f, -0.25f));
    r.put("refLogProbs", List.of(-0.75f, -0.125f));
    r.put("rmScore", 1.5f);
    r.put("policyVersion", 9L);
    r.put("actorId", "actor-1");
    r.put("terminated", false);
    r.put("startedAt", 1000L);
    r.put("producedAt", 1040L);
    return r;
  }

  /**
   * Every shape the project shipped is in the history (the Rollout as first written and after its
   * reward statistics were added among them), and a record of each, with every field set, reads
   * under the current schema.
   */
  @Test
  void everyEarlierSchemaInTheHistoryReadsUnderTheCurrentOne() {
    Map<String, Class<? extends SpecificRecord>> types =
        Map.of(
            "Rollout", Rollout.class,
            "Prompt", Prompt.class,
            "Comparison", Comparison.class,
            "LabelRequest", LabelRequest.class);
    assertThat(AvroCodec.history("Rollout")).hasSize(4);
    assertThat(AvroCodec.history("Comparison")).hasSize(1);
    assertThat(AvroCodec.history("LabelRequest")).hasSize(1);
    types.forEach(
        (name, type) -> {
          var current = SchemaNormalization.parsingFingerprint64(AvroCodec.of(type).schema());
          for (var old : AvroCodec.history(name)) {
            assertThat(SchemaNormalization.parsingFingerprint64(old))
                .as(name + ": a history entry that is the current schema proves nothing")
                .isNotEqualTo(current);
            var bytes = AvroCodec.generic(old).encode(filled(old));
            assertThatCode(() -> AvroCodec.of(type).decode(bytes))
                .as(name + " written as " + old.getFields().size() + " fields")
                .doesNotThrowAnyException();
          }
        });
  }

  /** A record of {@code schema} with every field holding a value of its type. */
  private static GenericRecord filled(Schema schema) {
    var record = new GenericData.Record(schema);
    for (var field : schema.getFields()) record.put(field.name(), valueOf(field.schema()));
    return record;
  }

  private static Object valueOf(Schema schema) {
    return switch (schema.getType()) {
      case RECORD -> filled(schema);
      case ARRAY -> List.of(valueOf(schema.getElementType()));
      case MAP -> Map.of("k", valueOf(schema.getValueType()));
      case UNION ->
          valueOf(
              schema.getTypes().stream()
                  .filter(t -> t.getType() != Schema.Type.NULL)
                  .findFirst()
                  .orElse(schema.getTypes().get(0)));
      case STRING -> "s";
      case BYTES -> ByteBuffer.wrap(new byte[] {1});
      case INT -> 1;
      case LONG -> 1L;
      case FLOAT -> 1f;
      case DOUBLE -> 1d;
      case BOOLEAN -> true;
      case ENUM -> new GenericData.EnumSymbol(schema, schema.getEnumSymbols().get(0));
      case FIXED -> new GenericData.Fixed(schema, new byte[schema.getFixedSize()]);
      case NULL -> null;
    };
  }

  @Test
  void theHistoryHoldsAnOlderRolloutWithDifferentFingerprint() {
    assertThat(V1.getField("sampleIndex")).isNull();
    assertThat(Rollout.getClassSchema().getField("sampleIndex").defaultVal()).isEqualTo(0);
  }

  @Test
  void aRolloutWrittenWithTheOldSchemaReadsUnderTheNewOneWithDefaults() {
    var oldBytes = AvroCodec.generic(V1).encode(v1Rollout());

    var read = AvroCodec.of(Rollout.class).decode(oldBytes);

    assertThat(read.getRolloutId()).isEqualTo("r-old");
    assertThat(read.getResponseTokens()).containsExactly(4, 5);
    assertThat(read.getBehaviourLogProbs()).containsExactly(-0.5f, -0.25f);
    assertThat(read.getRefLogProbs()).containsExactly(-0.75f, -0.125f);
    assertThat(read.getPolicyVersion()).isEqualTo(9L);
    assertThat(read.getTerminated()).isFalse();
    assertThat(read.getProducedAt().toEpochMilli()).isEqualTo(1040L);
    assertThat(read.getSampleIndex()).isZero();
    assertThat(read.getRewardVersion()).isZero();
    assertThat(read.getTokenVersions()).isEmpty();
  }

  @Test
  void aRolloutWrittenBeforePerTokenVersionsReadsAsAllTokensByItsPolicyVersion() {
    var v2 = AvroCodec.history("Rollout").get(1);
    assertThat(v2.getField("tokenVersions")).isNull();
    var old = new GenericData.Record(v2);
    v1Rollout().getSchema().getFields().forEach(f -> old.put(f.name(), v1Rollout().get(f.name())));
    old.put("rewardVersion", 2L);
    old.put("sampleIndex", 1);

    var read = AvroCodec.of(Rollout.class).decode(AvroCodec.generic(v2).encode(old));

    assertThat(read.getTokenVersions()).isEmpty();
    assertThat(RecordChecks.ROLLOUT.problem(read)).isEmpty();
    assertThat(
            RolloutRecords.tokenVersions(
                read.getTokenVersions(), read.getResponseTokens().size(), read.getPolicyVersion()))
        .containsExactly(9L, 9L);
  }

  @Test
  void aRolloutWrittenWithTheNewSchemaReadsUnderTheOldOne() {
    var rollout = Fixtures.rollout();
    var newBytes = AvroCodec.of(Rollout.class).encode(rollout);
    // An old reader needs the new writer schema by fingerprint (a registry, or a shipped copy).
    var oldReader = AvroCodec.generic(V1).addWriterSchema(Rollout.getClassSchema());

    var read = oldReader.decode(newBytes);

    assertThat(read.getSchema()).isEqualTo(V1);
    assertThat(read.get("rolloutId").toString()).isEqualTo(rollout.getRolloutId());
    assertThat(read.get("responseTokens"))
        .asList()
        .containsExactlyElementsOf(rollout.getResponseTokens());
    assertThat(read.get("refLogProbs"))
        .asList()
        .containsExactlyElementsOf(rollout.getRefLogProbs());
    assertThat(read.get("policyVersion")).isEqualTo(rollout.getPolicyVersion());
    assertThat(read.get("producedAt")).isEqualTo(rollout.getProducedAt().toEpochMilli());
    assertThat(read.hasField("sampleIndex")).isFalse();
  }

  @Test
  void anOldReaderThatDoesNotKnowTheNewWriterSchemaFailsLoudly() {
    var newBytes = AvroCodec.of(Rollout.class).encode(Fixtures.rollout());

    assertThatThrownBy(() -> AvroCodec.generic(V1).decode(newBytes))
        .isInstanceOf(UndecodableRecordException.class)
        .hasMessageContaining("MissingSchemaException");
  }

  private static final Schema PROMPT_V1 = AvroCodec.history("Prompt").get(0);

  @Test
  void aPromptWrittenBeforeFlowControlReadsWithMinPolicyVersionZero() {
    assertThat(PROMPT_V1.getField("minPolicyVersion")).isNull();
    var old = new GenericData.Record(PROMPT_V1);
    old.put("promptId", "p-old");
    old.put("text", "Count to three\n");
    old.put("createdAt", 7L);
    var oldBytes = AvroCodec.generic(PROMPT_V1).encode(old);

    var read = AvroCodec.of(Prompt.class).decode(oldBytes);

    assertThat(read.getPromptId()).isEqualTo("p-old");
    assertThat(read.getText()).isEqualTo("Count to three\n");
    assertThat(read.getMinPolicyVersion()).isZero();
    assertThat(read.getSamplingSeed()).isZero();
  }

  @Test
  void aPromptWithFlowControlReadsUnderTheOldSchema() {
    var prompt = Fixtures.prompt();
    assertThat(prompt.getMinPolicyVersion()).isEqualTo(3L);
    var oldReader = AvroCodec.generic(PROMPT_V1).addWriterSchema(Prompt.getClassSchema());

    var read = oldReader.decode(AvroCodec.of(Prompt.class).encode(prompt));

    assertThat(read.get("promptId").toString()).isEqualTo("p-1");
    assertThat(read.get("text").toString()).isEqualTo(prompt.getText());
    assertThat(read.hasField("minPolicyVersion")).isFalse();
  }
}
