/** The embedded KRaft broker and the provisioning of the loop's topics. */
package io.streamrlhf.infra.kafka;
