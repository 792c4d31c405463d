package io.streamrlhf.actors.gateway;

/** What a labeling tool's webhook delivery means for the gateway. */
sealed interface ToolEvent {
  /**
   * A ranking: it becomes a comparison.
   *
   * @param revision a tool's later version of a response it may have delivered before (Argilla's
   *     {@code response.updated}): the first version counted stands, and a different later one is
   *     acknowledged and left alone rather than refused (the tool would only retry it)
   * @param shown the answers' texts as the tool showed them, in the order the ranks number them, or
   *     null when its payload does not carry them: they must be the request's
   */
  record Ranked(Submission submission, boolean revision, java.util.List<String> shown)
      implements ToolEvent {
    Ranked(Submission submission) {
      this(submission, false, null);
    }

    Ranked(Submission submission, boolean revision) {
      this(submission, revision, null);
    }
  }

  /** The tool needs no more answers for this request. */
  record Completed(String requestId) implements ToolEvent {}

  /**
   * An event that carries no ranking (a dataset change, a skipped task, a draft): acknowledged so
   * the tool does not retry it, and otherwise left alone.
   */
  record Ignored(String why) implements ToolEvent {}
}
