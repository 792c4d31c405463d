/**
 * What travels between the processes of the loop: the Avro records (generated from
 * src/main/avro), their single-object codec, the topics, and weight snapshots as checksummed chunks.
 */
package io.streamrlhf.schemas;
