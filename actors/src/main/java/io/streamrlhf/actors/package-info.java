/** streamrlhf actors module: see the module table in the README. */
package io.streamrlhf.actors;
