package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a stopped stage goes on, as its notice says: on its own by --resume, in the demo not. */
class StopNoticeTest {
  @Test
  void aStageTheDemoRunsIsContinuedByTheDemoRunAgainNotByResume(@TempDir Path dir)
      throws IOException {
    var base = ClearErrorsCliTest.checkpoint(dir.resolve("base"), "pretrain");
    var alone =
        base
            + " holds the checkpoint of step 1 (or a later one, written as it stopped): the same"
            + " command with --resume continues from the last";
    assertThat(StopNotice.whereFrom(base, "step")).isEqualTo(alone);
    try (var demo = StopNotice.goOnBy("the same demo command run again")) {
      assertThat(StopNotice.whereFrom(base, "step"))
          .isEqualTo(
              base
                  + " holds the checkpoint of step 1 (or a later one, written as it stopped): the"
                  + " same demo command run again continues from the last");
    }
    assertThat(StopNotice.whereFrom(base, "step")).as("after the demo").isEqualTo(alone);
  }
}
