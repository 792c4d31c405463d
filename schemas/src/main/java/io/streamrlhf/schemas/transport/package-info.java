/**
 * The Kafka transport of the wire records, shared by actors and learner (neither may depend on
 * infra): client configs, waiting for the broker's acknowledgements, the decoding path that turns
 * bad records into dead letters, and the weight publisher and feed.
 */
package io.streamrlhf.schemas.transport;
