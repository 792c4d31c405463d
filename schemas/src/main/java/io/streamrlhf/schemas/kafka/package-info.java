/**
 * The Kafka side of the schemas, shared by actors and learner: client configs, the decoding path
 * that turns bad records into dead letters, and the weight publisher and feed.
 */
package io.streamrlhf.schemas.kafka;
