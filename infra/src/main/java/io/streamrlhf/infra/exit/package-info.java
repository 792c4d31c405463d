/** The JVM's exit hooks: removing one when a run ends by itself, and knowing a signal came. */
package io.streamrlhf.infra.exit;
