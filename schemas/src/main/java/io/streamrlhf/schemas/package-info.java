/**
 * The wire: Avro records, their codec and their Kafka transport, i.e. everything that travels
 * between the processes of the loop and how. This package holds the records (generated from
 * src/main/avro), their single-object codec, the topics, and weight snapshots as checksummed
 * chunks; {@link io.streamrlhf.schemas.transport} moves them through Kafka.
 */
package io.streamrlhf.schemas;
