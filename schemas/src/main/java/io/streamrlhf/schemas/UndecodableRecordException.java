package io.streamrlhf.schemas;

/** A message that is not a readable single-object Avro record of the expected type. */
public final class UndecodableRecordException extends RuntimeException {
  public UndecodableRecordException(String message) {
    super(message);
  }

  public UndecodableRecordException(String message, Throwable cause) {
    super(message, cause);
  }
}
