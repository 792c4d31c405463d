package io.streamrlhf.infra.cli;

/**
 * The check of an option that becomes a child JVM's {@code -Xmx}: a value the JVM would refuse is
 * refused here, before any child starts (the child's own refusal comes as a failed run).
 */
final class HeapSize {
  /** Below this a child cannot load PyTorch, a model and Kafka's clients (the JVM needs 3m). */
  static final long MIN_BYTES = 64L << 20;

  private HeapSize() {}

  /**
   * @throws UserError unless {@code size} is a heap size such as 2g or 1536m, of at least 64m
   */
  static void require(String flag, String size) {
    if (!size.matches("[1-9][0-9]*[kKmMgG]?"))
      throw new UserError(
          flag + " must be a JVM heap size such as 2g or 1536m, got '" + size + "'");
    if (bytes(size) < MIN_BYTES)
      throw new UserError(
          flag
              + " "
              + size
              + " is too small for a child that loads PyTorch, a model and Kafka's clients:"
              + " give 64m or more");
  }

  /** The bytes {@code size} names (saturating: a size past {@code Long.MAX_VALUE} is that). */
  static long bytes(String size) {
    char unit = Character.toLowerCase(size.charAt(size.length() - 1));
    int shift =
        switch (unit) {
          case 'k' -> 10;
          case 'm' -> 20;
          case 'g' -> 30;
          default -> 0;
        };
    var digits = shift == 0 ? size : size.substring(0, size.length() - 1);
    try {
      long n = Long.parseLong(digits);
      return n > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : n << shift;
    } catch (NumberFormatException e) {
      return Long.MAX_VALUE; // more digits than a long: no heap too small
    }
  }
}
