package io.streamrlhf.tasks;

/**
 * The oracle's verdict on one response (TASKS.md "The oracle"). {@code response} is the response as
 * graded: surrounding spaces stripped.
 */
public record Grade(
    Family family,
    String reference,
    String response,
    boolean correct,
    boolean terminated,
    boolean follows,
    boolean toxic,
    double ned,
    double score) {}
