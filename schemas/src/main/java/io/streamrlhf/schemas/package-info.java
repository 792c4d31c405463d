/** streamrlhf schemas module: see the module table in the README. */
package io.streamrlhf.schemas;
