/** streamrlhf learner module: see the module table in the README. */
package io.streamrlhf.learner;
