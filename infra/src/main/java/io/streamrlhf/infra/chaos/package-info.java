/**
 * The fault suite ({@code rlhf chaos}): scenarios that run the streaming loop as real processes
 * (broker, actors, learner, each a child JVM on loopback), inject faults (SIGKILLs, a broker
 * outage, poison records, mangled and forged weight chunks, a second learner, a long soak), and
 * report figures with PASS only when the loop kept its guarantees.
 */
package io.streamrlhf.infra.chaos;
