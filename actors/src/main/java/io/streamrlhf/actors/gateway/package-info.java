/**
 * The feedback side of the loop: {@link io.streamrlhf.actors.gateway.FeedbackGateway} serves the
 * labeling page, the JSON API and the labeling tools' webhooks, and writes each ranking of a label
 * request to {@code rlhf.comparisons}; {@link io.streamrlhf.actors.gateway.FeedbackFeed} reads the
 * requests and the comparisons already written and hands them over by local messages; {@link
 * io.streamrlhf.actors.gateway.GatewayNode} deploys the pair. The rest are values and pure
 * functions: how rankings are checked ({@code Ranks}), what Label Studio's and Argilla's payloads
 * mean, how Standard Webhooks signatures are verified, and what the gateway remembers ({@code
 * RequestBook}).
 */
package io.streamrlhf.actors.gateway;
