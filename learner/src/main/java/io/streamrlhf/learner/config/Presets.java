package io.streamrlhf.learner.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Named sets of settings for every stage, one YAML file each in this package's {@code presets/}
 * resources, with a section per stage ({@code pretrain:}, {@code sft:}, {@code reward:}, {@code
 * ppo:}, {@code reward-trainer:}) that overrides the stage's defaults. Every stage command takes
 * {@code --preset NAME}.
 */
public final class Presets {
  private Presets() {}

  /**
   * {@code tiny}: the defaults, the demo's 15 minutes; {@code full}: the small model and longer
   * schedules.
   */
  public static final List<String> NAMES = List.of("tiny", "full");

  /** The preset's settings for {@code stage}, empty when it changes none of them. */
  static ObjectNode section(String preset, String stage) {
    if (!NAMES.contains(preset)) {
      throw new IllegalArgumentException(
          "unknown preset '" + preset + "'; the presets are " + String.join(", ", NAMES));
    }
    var resource = "presets/" + preset + ".yaml";
    try (var in = Presets.class.getResourceAsStream(resource)) {
      if (in == null)
        throw new IllegalStateException(
            "preset " + preset + " is missing its resource " + resource);
      JsonNode root = new YAMLMapper().readTree(in);
      var section = root == null ? null : root.get(stage);
      if (section == null || section.isNull()) return new YAMLMapper().createObjectNode();
      if (!section.isObject()) {
        throw new IllegalStateException(
            "preset " + preset + ": section " + stage + " must hold key: value pairs");
      }
      return (ObjectNode) section;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read preset " + resource, e);
    }
  }
}
