package io.streamrlhf.tasks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The JSON-lines formats of the task world, one object per line, UTF-8:
 *
 * <ul>
 *   <li>tasks (eval set, training prompts): {@code {"prompt","family","reference"}};
 *   <li>demonstrations: the same plus {@code "response"} (what the labeler wrote; end-of-sequence
 *       follows it), {@code "terminated": true}, so a demonstration file is also a valid grade
 *       input, and {@code "kind"}: {@code clean}, {@code chatter} or {@code slip};
 *   <li>responses to grade: {@code {"prompt","response","terminated"}}, any other fields kept;
 *       graded, they gain {@code family, reference, correct, follows, toxic, ned, score}.
 * </ul>
 *
 * {@code "prompt"} holds the full prompt, trailing newline included ({@code "Reverse cat.\n"});
 * readers accept it without the newline too.
 */
public final class Jsonl {
  /**
   * Trailing tokens fail: "{...} junk" on one line is malformed, not silently half-read; so does a
   * field given twice, of which Jackson would keep the last unseen.
   */
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private Jsonl() {}

  public static String taskLine(Task task) {
    return write(taskNode(task));
  }

  public static String demonstrationLine(Demonstration demo) {
    var node = taskNode(demo.task());
    node.put("response", demo.response());
    node.put("terminated", true);
    node.put("kind", demo.kind().id());
    return write(node);
  }

  /** A response line as read: its fields (all kept for writing back) and the three graded ones. */
  public record ResponseLine(
      ObjectNode fields, String prompt, String response, boolean terminated) {}

  /**
   * Reads one {@code {"prompt","response","terminated"}} line.
   *
   * @throws IllegalArgumentException saying what is wrong: not JSON, not an object, or a field
   *     missing or of the wrong type
   */
  public static ResponseLine readResponse(String line) {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      // Jackson appends "(start marker at [Source: ...])" locations: the line number says where.
      var reason = e.getOriginalMessage().replaceFirst("\\s*\\(start marker at .*", "");
      if (reason.startsWith("Duplicate field "))
        throw new IllegalArgumentException(
            "field " + reason.substring("Duplicate field ".length()) + " given twice");
      throw new IllegalArgumentException("not JSON: " + reason);
    }
    if (!(node instanceof ObjectNode fields)) {
      throw new IllegalArgumentException("not a JSON object");
    }
    var prompt = fields.get("prompt");
    var response = fields.get("response");
    var terminated = fields.get("terminated");
    if (prompt == null || !prompt.isTextual()) {
      throw new IllegalArgumentException("\"prompt\" missing or not a string");
    }
    if (response == null || !response.isTextual()) {
      throw new IllegalArgumentException("\"response\" missing or not a string");
    }
    if (terminated == null || !terminated.isBoolean()) {
      throw new IllegalArgumentException("\"terminated\" missing or not true/false");
    }
    return new ResponseLine(fields, prompt.asText(), response.asText(), terminated.asBoolean());
  }

  /** The response line with the grade's fields added (replacing any of the same name). */
  public static String gradedLine(ResponseLine line, Grade grade) {
    var node = line.fields().deepCopy();
    node.put("family", grade.family().id());
    node.put("reference", grade.reference());
    node.put("correct", grade.correct());
    node.put("follows", grade.follows());
    node.put("toxic", grade.toxic());
    node.put("ned", grade.ned());
    node.put("score", grade.score());
    return write(node);
  }

  private static ObjectNode taskNode(Task task) {
    var node = JSON.createObjectNode();
    node.put("prompt", task.prompt());
    node.put("family", task.family().id());
    node.put("reference", task.reference());
    return node;
  }

  private static String write(ObjectNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new AssertionError("an ObjectNode always serialises", e);
    }
  }
}
