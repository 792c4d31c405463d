package io.streamrlhf.infra.cli;

/**
 * The check of an option that becomes a child JVM's {@code -Xmx}: a value the JVM would refuse is
 * refused here, before any child starts (the child's own refusal comes as a failed run).
 */
final class HeapSize {
  private HeapSize() {}

  /**
   * @throws UserError unless {@code size} is a heap size such as 2g or 1536m
   */
  static void require(String flag, String size) {
    if (!size.matches("[1-9][0-9]*[kKmMgG]?"))
      throw new UserError(
          flag + " must be a JVM heap size such as 2g or 1536m, got '" + size + "'");
  }
}
