package io.streamrlhf.schemas;

import java.lang.reflect.Method;
import org.apache.avro.SystemLimitException;

/**
 * Avro's reader limits, sized to what a topic can hold. A binary Avro body states the length of
 * every string, bytes and array before its content, and Avro allocates that length before reading:
 * by default up to about 2^31 bytes or items, so a forged 10-byte record could ask for gigabytes
 * and end in an {@link OutOfMemoryError} in whichever process reads it. No field of a record on our
 * topics can be longer than the record ({@link Topics#MAX_RECORD_BYTES}), nor hold more items (each
 * item of our arrays and maps takes at least one byte), so that is the limit; a longer claim fails
 * with Avro's {@link SystemLimitException}, which the codec reports as an undecodable record.
 *
 * <p>Avro reads the limits from system properties once, when {@link SystemLimitException} is first
 * initialised; {@link AvroCodec} applies them in its static initialiser, before any of its decoders
 * runs. A property the user set on the command line is left as given.
 */
final class AvroLimits {
  /** Longest string or bytes field, and most items of an array or map, a reader accepts. */
  static final int MAX_LENGTH = Topics.MAX_RECORD_BYTES;

  private static final String[] PROPERTIES = {
    SystemLimitException.MAX_BYTES_LENGTH_PROPERTY,
    SystemLimitException.MAX_STRING_LENGTH_PROPERTY,
    SystemLimitException.MAX_COLLECTION_LENGTH_PROPERTY,
  };

  private AvroLimits() {}

  static synchronized void apply() {
    boolean changed = false;
    for (var property : PROPERTIES) {
      if (System.getProperty(property) == null) {
        System.setProperty(property, Integer.toString(MAX_LENGTH));
        changed = true;
      }
    }
    if (changed && !inEffect()) {
      // Something decoded Avro before this class ran (a generated record's own decoder, in a
      // tool or test): Avro has read its defaults already and must read the properties again.
      reread();
    }
  }

  /** Whether a field of {@link #MAX_LENGTH} + 1 bytes is refused. */
  static boolean inEffect() {
    try {
      SystemLimitException.checkMaxBytesLength(MAX_LENGTH + 1L);
      return false;
    } catch (SystemLimitException refused) {
      return true;
    }
  }

  private static void reread() {
    try {
      Method reset = SystemLimitException.class.getDeclaredMethod("resetLimits");
      reset.setAccessible(true);
      reset.invoke(null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException(
          "Avro's reader limits could not be applied (Avro read its defaults before the codec"
              + " loaded); set -D"
              + SystemLimitException.MAX_BYTES_LENGTH_PROPERTY
              + "="
              + MAX_LENGTH
              + " and the other org.apache.avro.limits properties",
          e);
    }
  }
}
