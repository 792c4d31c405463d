package io.streamrlhf.actors.gateway;

/** What a labeling tool's webhook delivery means for the gateway. */
sealed interface ToolEvent {
  /** A ranking: it becomes a comparison. */
  record Ranked(Submission submission) implements ToolEvent {}

  /** The tool needs no more answers for this request. */
  record Completed(String requestId) implements ToolEvent {}

  /**
   * An event that carries no ranking (a dataset change, a skipped task, a draft): acknowledged so
   * the tool does not retry it, and otherwise left alone.
   */
  record Ignored(String why) implements ToolEvent {}
}
