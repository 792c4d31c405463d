package io.streamrlhf.tasks;

import java.util.List;

/**
 * Which side of the held-out line a prompt is drawn for (TASKS.md): the color and insult families
 * ask about disjoint objects and names on each side; the other families share the generator and are
 * kept apart by dropping every evaluation prompt string from training.
 */
public enum Split {
  TRAIN(Lexicon.TRAIN_OBJECTS, Lexicon.TRAIN_NAMES),
  EVAL(Lexicon.EVAL_OBJECTS, Lexicon.EVAL_NAMES);

  private final List<String> objects;
  private final List<String> names;

  Split(List<String> objects, List<String> names) {
    this.objects = objects;
    this.names = names;
  }

  public List<String> objects() {
    return objects;
  }

  public List<String> names() {
    return names;
  }
}
