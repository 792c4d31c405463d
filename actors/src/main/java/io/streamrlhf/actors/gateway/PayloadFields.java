package io.streamrlhf.actors.gateway;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Reading the fields of a tool's JSON payload, where every missing or mistyped field is a 400 that
 * names its path, instead of a ClassCastException.
 */
final class PayloadFields {
  private PayloadFields() {}

  static JsonObject object(JsonObject parent, String field, String path) {
    var v = parent.getValue(field);
    if (v instanceof JsonObject o) return o;
    throw missing(path, "an object", v);
  }

  static JsonArray array(JsonObject parent, String field, String path) {
    var v = parent.getValue(field);
    if (v instanceof JsonArray a) return a;
    throw missing(path, "an array", v);
  }

  static String text(JsonObject parent, String field, String path) {
    var v = parent.getValue(field);
    if (v instanceof String s && !s.isBlank()) return s;
    throw missing(path, "a string", v);
  }

  /** A string or a number, as text (tools' ids are either). */
  static String id(Object v, String path) {
    if (v instanceof String s && !s.isBlank()) return s;
    if (v instanceof Number n) return n.toString();
    throw missing(path, "an id", v);
  }

  private static Rejection missing(String path, String what, Object got) {
    return Rejection.badRequest(
        path
            + " must be "
            + what
            + (got == null ? " (missing)" : " (got " + Submission.clip(String.valueOf(got)) + ")"));
  }
}
