/** streamrlhf model module: see the module table in the README. */
package io.streamrlhf.model;
