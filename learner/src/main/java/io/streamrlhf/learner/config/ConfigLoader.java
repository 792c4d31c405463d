package io.streamrlhf.learner.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.tasks.Oracle;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Builds a stage's effective config in layers, later ones winning: the record's defaults, an
 * optional preset ({@link Presets}), an optional config file (JSON, or YAML for {@code
 * .yaml}/{@code .yml}), then {@code --set key=value} overrides. A nested setting is named by its
 * path ({@code optimizer.learning_rate}) or, where that is unambiguous, by its own name. Every key
 * is checked against the record's keys — an unknown one is rejected with the nearest valid name —
 * and every value against the type of its default, so a typo fails at start with one line instead
 * of silently training with a default.
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
    return load(defaults, null, file, overrides);
  }

  /**
   * The same with a preset's section for this stage ({@link Presets}) between the defaults and the
   * file; {@code preset} null is none.
   */
  public static <T extends StageConfig> T load(
      T defaults, String preset, Path file, List<String> overrides) {
    return load(defaults, null, preset, file, overrides);
  }

  /**
   * The same over a resumed run's saved config.json ({@code resumed}, null for a fresh run): the
   * saved settings first, so that what the command line gives explicitly (the preset too) changes
   * them rather than being outranked by them.
   */
  public static <T extends StageConfig> T load(
      T defaults, Path resumed, String preset, Path file, List<String> overrides) {
    var tree = (ObjectNode) Json.MAPPER.valueToTree(defaults);
    // values are checked against the default's type, not an earlier override's (0 then 0.5 is fine)
    var keys = new Keys(tree.deepCopy());
    if (resumed != null) apply(tree, keys, "", readFile(resumed), "in " + resumed);
    var saved = resumed == null ? null : tree.deepCopy();
    if (preset != null) {
      var stage = defaults.stageName();
      if (resumed == null)
        apply(tree, keys, "", Presets.section(preset, stage), "in preset " + preset);
      // over a run's own settings a preset names all it governs: what another preset sets goes to
      // this one's value, the default where it sets none (tiny, the defaults, sets none at all)
      else
        presetWhole(keys, preset, stage)
            .forEach((path, value) -> keys.set(tree, path, path, value));
    }
    if (file != null) apply(tree, keys, "", readFile(file), "in " + file);
    for (var override : overrides) {
      int eq = override.indexOf('=');
      if (eq <= 0)
        throw new IllegalArgumentException("--set expects key=value, got '" + override + "'");
      var key = override.substring(0, eq).trim().replace('-', '_');
      var path = keys.resolve(key, "in --set " + override);
      keys.set(
          tree, path, key, parseScalar(keys.defaultOf(path), override.substring(eq + 1).trim()));
    }
    try {
      return build(defaults, tree);
    } catch (IllegalArgumentException e) {
      if (saved != null) {
        try {
          build(defaults, saved);
        } catch (IllegalArgumentException savedAlone) {
          // a hand-edited config.json: its file, not the command line, holds the bad value
          throw new IllegalArgumentException(
              "in " + resumed + ", the run's saved settings: " + savedAlone.getMessage(),
              savedAlone);
        }
      }
      throw e;
    }
  }

  /**
   * {@code defaults} with {@code key=value} overrides, as {@code --set} gives them: how tests build
   * a config.
   */
  public static <T extends StageConfig> T with(T defaults, String... overrides) {
    return load(defaults, null, null, List.of(overrides));
  }

  private static <T extends StageConfig> T build(T defaults, ObjectNode tree) {
    @SuppressWarnings("unchecked")
    var type = (Class<T>) defaults.getClass();
    try {
      return Json.MAPPER.treeToValue(tree, type);
    } catch (ValueInstantiationException e) {
      // a range check in the record's constructor: its message already names the key
      var cause = e.getCause();
      throw new IllegalArgumentException(
          cause != null ? cause.getMessage() : e.getOriginalMessage(), e);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "invalid " + defaults.stageName() + " config: " + e.getOriginalMessage(), e);
    }
  }

  /**
   * The settings of {@code stage} any preset sets, by path, at {@code preset}'s value: what {@code
   * --preset} means on a resume, where the base is a run's own settings rather than the defaults.
   */
  private static Map<String, JsonNode> presetWhole(Keys keys, String preset, String stage) {
    var defaultsTree = keys.defaultsTree();
    var chosen = defaultsTree.deepCopy();
    apply(chosen, keys, "", Presets.section(preset, stage), "in preset " + preset);
    var whole = new LinkedHashMap<String, JsonNode>();
    for (var other : Presets.NAMES) {
      var tree = defaultsTree.deepCopy();
      apply(tree, keys, "", Presets.section(other, stage), "in preset " + other);
      for (var path : keys.paths()) {
        if (!at(tree, path).equals(keys.defaultOf(path))) whole.put(path, at(chosen, path));
      }
    }
    return whole;
  }

  private static JsonNode at(JsonNode tree, String path) {
    var node = tree;
    for (var part : path.split("\\.")) node = node.get(part);
    return node;
  }

  /**
   * Writes a file's or preset's key: value pairs, nested ({@code optimizer: {...}}) or flat, into
   * the tree.
   */
  private static void apply(
      ObjectNode tree, Keys keys, String prefix, ObjectNode values, String where) {
    apply(tree, keys, prefix, values, where, new HashMap<>());
  }

  /** {@code given}: the settings this file or preset set so far, by path, each by its name. */
  private static void apply(
      ObjectNode tree,
      Keys keys,
      String prefix,
      ObjectNode values,
      String where,
      Map<String, String> given) {
    for (var entry : values.properties()) {
      var name = prefix + entry.getKey();
      var value = entry.getValue();
      if (value.isObject() && keys.isGroup(name)) {
        apply(tree, keys, name + ".", (ObjectNode) value, where, given);
        continue;
      }
      var path = keys.resolve(name, where);
      // learning_rate beside optimizer.learning_rate: one would silently win over the other
      var earlier = given.put(path, name);
      if (earlier != null)
        throw new IllegalArgumentException(
            earlier.equals(name)
                ? "'" + name + "' " + where + " is set twice (nested and dotted): keep one"
                : "'"
                    + earlier
                    + "' and '"
                    + name
                    + "' "
                    + where
                    + " both set "
                    + path
                    + ": keep one");
      // YAML 1.1 reads 3e-4 (no dot) as text; numbers written as strings are read like --set values
      keys.set(
          tree,
          path,
          name,
          value.isTextual() ? parseScalar(keys.defaultOf(path), value.asText()) : value);
    }
  }

  /**
   * A stage's settings by dotted path ({@code optimizer.learning_rate}), in the record's order, and
   * the bare name of each nested one ({@code learning_rate}) where it names one setting only.
   */
  private static final class Keys {
    private final Map<String, JsonNode> defaults = new LinkedHashMap<>();
    private final Map<String, String> bare = new LinkedHashMap<>();
    private final ObjectNode defaultsTree;

    Keys(ObjectNode tree) {
      defaultsTree = tree.deepCopy();
      collect(tree, "");
      var repeated = new java.util.HashSet<String>();
      for (var path : defaults.keySet()) {
        int dot = path.lastIndexOf('.');
        if (dot < 0) continue;
        var leaf = path.substring(dot + 1);
        if (defaults.containsKey(leaf) || bare.put(leaf, path) != null) repeated.add(leaf);
      }
      repeated.forEach(bare::remove);
    }

    private void collect(ObjectNode node, String prefix) {
      for (var entry : node.properties()) {
        if (entry.getValue().isObject()) {
          collect((ObjectNode) entry.getValue(), prefix + entry.getKey() + ".");
        } else {
          defaults.put(prefix + entry.getKey(), entry.getValue());
        }
      }
    }

    boolean isGroup(String name) {
      return defaults.keySet().stream().anyMatch(path -> path.startsWith(name + "."));
    }

    String resolve(String key, String where) {
      if (defaults.containsKey(key)) return key;
      if (bare.containsKey(key)) return bare.get(key);
      var names = new ArrayList<>(defaults.keySet());
      names.addAll(bare.keySet());
      var suggestion = nearest(key, names);
      throw new IllegalArgumentException(
          suggestion != null
              ? "unknown key '" + key + "' " + where + "; did you mean '" + suggestion + "'?"
              : "unknown key '"
                  + key
                  + "' "
                  + where
                  + "; valid keys: "
                  + String.join(", ", defaults.keySet()));
    }

    JsonNode defaultOf(String path) {
      return defaults.get(path);
    }

    ObjectNode defaultsTree() {
      return defaultsTree.deepCopy();
    }

    java.util.Set<String> paths() {
      return defaults.keySet();
    }

    /**
     * Sets one value, checked against its default's type; {@code key} is the name as written, for
     * the message.
     */
    void set(ObjectNode tree, String path, String key, JsonNode value) {
      var node = tree;
      var parts = path.split("\\.");
      for (int i = 0; i < parts.length - 1; i++) node = (ObjectNode) node.get(parts[i]);
      node.set(parts[parts.length - 1], checkType(key, defaults.get(path), value));
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
    text.append('\n');
    scheduleNote(config).ifPresent(note -> text.append(note).append('\n'));
    return text.append(config.stageName()).append(" config: ").append(toJson(config)).toString();
  }

  /**
   * A warm-up as long as the run: allowed (a short trial run keeps the real run's warm-up), and
   * said, since the learning rate then never reaches the one configured.
   */
  static Optional<String> scheduleNote(StageConfig config) {
    int warmup = config.optimizer().warmupSteps();
    return config
        .length()
        .filter(length -> warmup >= length.steps())
        .map(
            length ->
                String.format(
                    Locale.ROOT,
                    "%s note: warmup_steps %d is not less than the run's %d step%s: the learning rate"
                        + " %s",
                    config.stageName(),
                    warmup,
                    length.steps(),
                    length.steps() == 1 ? "" : "s",
                    // the warm-up reaches the peak at its last step: (s + 1) / W
                    (warmup == length.steps()
                            ? "reaches learning_rate %s only at the last step"
                            : "stays below learning_rate %s")
                        .formatted(config.optimizer().learningRate())));
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

  /**
   * A --set value as the JSON scalar it spells, except for text settings, which take it verbatim.
   */
  private static JsonNode parseScalar(JsonNode current, String text) {
    if (current.isTextual()) return TextNode.valueOf(text);
    if (current.isFloatingPointNumber() && DECIMAL.matcher(text).matches()) {
      return com.fasterxml.jackson.databind.node.DoubleNode.valueOf(Double.parseDouble(text));
    }
    try {
      var node = Json.MAPPER.readTree(text);
      return node != null && node.isValueNode() ? node : TextNode.valueOf(text);
    } catch (JsonProcessingException e) {
      return TextNode.valueOf(text);
    }
  }

  /** A decimal JSON does not take but a user writes: .001, 1., -.5. */
  private static final java.util.regex.Pattern DECIMAL =
      java.util.regex.Pattern.compile("[+-]?(\\d+\\.\\d*|\\.\\d+)([eE][+-]?\\d+)?");

  private static JsonNode checkType(String key, JsonNode current, JsonNode value) {
    String expected;
    boolean ok;
    if (current.isBoolean()) {
      expected = "true or false";
      ok = value.isBoolean();
    } else if (current.isIntegralNumber()) {
      expected = "an integer";
      ok = value.isIntegralNumber();
      if (ok && (current.isInt() ? !value.canConvertToInt() : !value.canConvertToLong()))
        throw new IllegalArgumentException(
            "invalid value "
                + value
                + " for "
                + key
                + ": out of range ("
                + (current.isInt()
                    ? Integer.MIN_VALUE + " to " + Integer.MAX_VALUE
                    : Long.MIN_VALUE + " to " + Long.MAX_VALUE)
                + ")");
    } else if (current.isNumber()) {
      expected = "a finite number";
      ok = value.isNumber();
      // 1e400 parses as Infinity, which no setting means
      if (ok && !Double.isFinite(value.doubleValue()))
        throw new IllegalArgumentException(
            "invalid value for "
                + key
                + ": not a finite number (it reads as "
                + value.doubleValue()
                + ")");
    } else {
      expected = "text";
      ok = value.isTextual();
    }
    if (!ok) {
      throw new IllegalArgumentException(
          "invalid value " + value + " for " + key + ": expected " + expected);
    }
    return value;
  }

  /**
   * Refuses an integer YAML reads as octal, written with a leading zero ({@code updates: 010} is 8,
   * and {@code 07} is refused too, for one rule); {@code 08}, no octal, YAML keeps as text, which
   * the loader reads as 8 like a --set value.
   */
  private static void refuseOctal(Path file, String text) throws IOException {
    try (var parser = YAML.getFactory().createParser(text)) {
      for (var token = parser.nextToken(); token != null; token = parser.nextToken()) {
        if (token != com.fasterxml.jackson.core.JsonToken.VALUE_NUMBER_INT) continue;
        var written = parser.getText();
        if (!written.matches("[-+]?0[0-9_]+")) continue;
        throw new IllegalArgumentException(
            String.format(
                Locale.ROOT,
                "config file %s, line %d: %s: %s is octal in YAML (%d): write it without the"
                    + " leading zero",
                file,
                parser.currentTokenLocation().getLineNr(),
                // in a list the name is its key's
                parser.currentName() != null
                    ? parser.currentName()
                    : parser.getParsingContext().getParent().getCurrentName(),
                written,
                parser.getLongValue()));
      }
    }
  }

  /**
   * The text of a config file, decoded as strict UTF-8 (a leading byte-order mark dropped); a byte
   * that is not UTF-8 is named with its line, which a parser decoding ahead in blocks misplaces.
   */
  private static String utf8(Path file) throws IOException {
    var bytes = Files.readAllBytes(file);
    var in = ByteBuffer.wrap(bytes);
    if (bytes.length >= 3
        && (bytes[0] & 0xff) == 0xEF
        && (bytes[1] & 0xff) == 0xBB
        && (bytes[2] & 0xff) == 0xBF) in.position(3);
    int start = in.position();
    var out = CharBuffer.allocate(bytes.length);
    var decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    var result = decoder.decode(in, out, true);
    if (result.isError()) {
      int at = in.position();
      int line = 1;
      int lineStart = start; // past a byte-order mark: the line's bytes as an editor shows them
      for (int i = 0; i < at; i++)
        if (bytes[i] == '\n') {
          line++;
          lineStart = i + 1;
        }
      throw new IllegalArgumentException(
          String.format(
              Locale.ROOT,
              "config file %s is not UTF-8: byte 0x%02X at line %d, byte %d of the line; save the"
                  + " file as UTF-8",
              file,
              bytes[at] & 0xff,
              line,
              at - lineStart + 1));
    }
    decoder.flush(out);
    return out.flip().toString();
  }

  private static boolean blank(Path file) {
    try {
      return utf8(file).isBlank();
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "cannot read config file " + file + ": " + e.getMessage(), e);
    }
  }

  private static ObjectNode readFile(Path file) {
    if (Files.isDirectory(file))
      throw new IllegalArgumentException("config file " + file + " is a directory: give a file");
    if (!Files.isRegularFile(file))
      throw new IllegalArgumentException("config file not found: " + file);
    var name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    var mapper = name.endsWith(".yaml") || name.endsWith(".yml") ? YAML : Json.MAPPER;
    JsonNode node;
    try {
      // a key written twice is a mistake to name, not a silent "the last one wins"
      var reader =
          mapper
              .readerFor(JsonNode.class)
              .with(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION);
      if (mapper == YAML) {
        // a second document (after ---) would be read by no one: name it rather than drop it
        var text = utf8(file);
        refuseOctal(file, text);
        try (MappingIterator<JsonNode> documents = reader.readValues(text)) {
          node = documents.hasNextValue() ? documents.nextValue() : null;
          if (documents.hasNextValue())
            throw new IllegalArgumentException(
                "config file "
                    + file
                    + " holds more than one YAML document (a --- line): give the settings in one");
        }
      } else {
        node = reader.readTree(utf8(file));
      }
    } catch (JsonProcessingException e) {
      // the parser's own message runs to a dozen lines of context: its first line and where
      var where = e.getLocation();
      throw new IllegalArgumentException(
          "cannot parse config file "
              + file
              + (where != null
                  ? " at line " + where.getLineNr() + ", column " + where.getColumnNr()
                  : "")
              + ": "
              + e.getOriginalMessage().lines().findFirst().orElse("malformed"),
          e);
    } catch (AccessDeniedException e) {
      throw new IllegalArgumentException(
          "cannot read config file " + file + ": permission denied", e);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "cannot read config file " + file + ": " + e.getMessage(), e);
    }
    if (node == null || node.isMissingNode()) {
      // a YAML file of comments alone says "no settings"; an empty file is more likely cut short
      // (a resumed run's config.json among them) than meant, and would run on every default
      if (mapper == Json.MAPPER || blank(file))
        throw new IllegalArgumentException(
            "config file "
                + file
                + " is empty: give its settings"
                + (mapper == Json.MAPPER ? ", or {} for none" : ", or a comment line for none"));
      return Json.MAPPER.createObjectNode();
    }
    if (!node.isObject())
      throw new IllegalArgumentException("config file " + file + " must hold key: value pairs");
    return (ObjectNode) node;
  }
}
