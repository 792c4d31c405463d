/** streamrlhf tasks module: see the module table in the README. */
package io.streamrlhf.tasks;
