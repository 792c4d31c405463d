package io.streamrlhf.learner.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.tasks.Oracle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Builds a stage's effective config in three layers, later ones winning: the record's defaults,
 * an optional config file (JSON, or YAML for {@code .yaml}/{@code .yml}), then {@code --set
 * key=value} overrides. Every key is checked against the record's keys — an unknown one is
 * rejected with the nearest valid name — and every value against the type of its default, so
 * a typo fails at start with one line instead of silently training with a default.
 */
public final class ConfigLoader {
  private ConfigLoader() {}

  private static final ObjectMapper YAML = new YAMLMapper();

  /** The name of the effective config saved in a stage's output directory. */
  public static final String FILE_NAME = "config.json";

  /**
   * The effective config.
   *
   * @param defaults the stage record's {@code defaults()}
   * @param file a JSON or YAML file of key: value pairs, or null
   * @param overrides {@code key=value} strings, applied in order
   * @throws IllegalArgumentException for an unknown key, an ill-typed or out-of-range value, or an
   *     unreadable file: a one-line message a user can act on
   */
  public static <T extends StageConfig> T load(T defaults, Path file, List<String> overrides) {
    var tree = (ObjectNode) Json.MAPPER.valueToTree(defaults);
    // values are checked against the default's type, not an earlier override's (0 then 0.5 is fine)
    var defaultsTree = tree.deepCopy();
    var keys = new ArrayList<String>();
    tree.fieldNames().forEachRemaining(keys::add);
    if (file != null) {
      var fromFile = readFile(file);
      for (var entry : fromFile.properties()) {
        var key = entry.getKey();
        checkKey(key, keys, "in " + file);
        var current = defaultsTree.get(key);
        var value = entry.getValue();
        // YAML 1.1 reads 3e-4 (no dot) as text; numbers written as strings are read like --set values
        tree.set(key, checkType(key, current, value.isTextual() ? parseScalar(current, value.asText()) : value));
      }
    }
    for (var override : overrides) {
      int eq = override.indexOf('=');
      if (eq <= 0) throw new IllegalArgumentException("--set expects key=value, got '" + override + "'");
      var key = override.substring(0, eq).trim().replace('-', '_');
      var text = override.substring(eq + 1).trim();
      checkKey(key, keys, "in --set " + override);
      var current = defaultsTree.get(key);
      tree.set(key, checkType(key, current, parseScalar(current, text)));
    }
    @SuppressWarnings("unchecked")
    var type = (Class<T>) defaults.getClass();
    try {
      return Json.MAPPER.treeToValue(tree, type);
    } catch (ValueInstantiationException e) {
      // a range check in the record's constructor: its message already names the key
      var cause = e.getCause();
      throw new IllegalArgumentException(cause != null ? cause.getMessage() : e.getOriginalMessage(), e);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("invalid " + defaults.stageName() + " config: " + e.getOriginalMessage(), e);
    }
  }

  /** The config as the pretty JSON that is printed at start and saved. */
  public static String toJson(StageConfig config) {
    return Json.write(config);
  }

  /** What a stage prints at start: its derived sizes, then the full effective config. */
  public static String describe(StageConfig config) {
    var text = new StringBuilder(config.stageName()).append(" derived sizes:");
    config.derivedSizes().forEach((k, v) -> text.append(' ').append(k).append('=').append(v));
    return text.append('\n').append(config.stageName()).append(" config: ").append(toJson(config)).toString();
  }

  /** Saves the effective config as {@code dir/config.json}, atomically. */
  public static void save(StageConfig config, Path dir) throws IOException {
    Json.writeAtomically(config, dir.resolve(FILE_NAME));
  }

  /** The valid key nearest to {@code key} by Levenshtein distance, or null if none is close. */
  public static String nearest(String key, Collection<String> validKeys) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (var candidate : validKeys) {
      int d = Oracle.levenshtein(key, candidate); // the one edit distance of the project
      if (d < bestDistance) {
        bestDistance = d;
        best = candidate;
      }
    }
    // beyond a third of the name it is a different word, not a typo
    return best != null && bestDistance <= Math.max(2, key.length() / 3) ? best : null;
  }

  private static void checkKey(String key, List<String> keys, String where) {
    if (keys.contains(key)) return;
    var suggestion = nearest(key, keys);
    throw new IllegalArgumentException(
        suggestion != null
            ? "unknown key '" + key + "' " + where + "; did you mean '" + suggestion + "'?"
            : "unknown key '" + key + "' " + where + "; valid keys: " + String.join(", ", keys));
  }

  /** A --set value as the JSON scalar it spells, except for text settings, which take it verbatim. */
  private static JsonNode parseScalar(JsonNode current, String text) {
    if (current.isTextual()) return TextNode.valueOf(text);
    try {
      var node = Json.MAPPER.readTree(text);
      return node != null && node.isValueNode() ? node : TextNode.valueOf(text);
    } catch (JsonProcessingException e) {
      return TextNode.valueOf(text);
    }
  }

  private static JsonNode checkType(String key, JsonNode current, JsonNode value) {
    String expected;
    boolean ok;
    if (current.isBoolean()) {
      expected = "true or false";
      ok = value.isBoolean();
    } else if (current.isIntegralNumber()) {
      expected = "an integer";
      ok = value.isIntegralNumber();
    } else if (current.isNumber()) {
      expected = "a number";
      ok = value.isNumber();
    } else {
      expected = "text";
      ok = value.isTextual();
    }
    if (!ok) {
      throw new IllegalArgumentException("invalid value " + value + " for " + key + ": expected " + expected);
    }
    return value;
  }

  private static ObjectNode readFile(Path file) {
    if (!Files.isRegularFile(file)) throw new IllegalArgumentException("config file not found: " + file);
    var name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    var mapper = name.endsWith(".yaml") || name.endsWith(".yml") ? YAML : Json.MAPPER;
    JsonNode node;
    try {
      node = mapper.readTree(file.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read config file " + file + ": " + e.getMessage(), e);
    }
    if (node == null || node.isMissingNode()) return Json.MAPPER.createObjectNode();
    if (!node.isObject()) throw new IllegalArgumentException("config file " + file + " must hold key: value pairs");
    return (ObjectNode) node;
  }
}
