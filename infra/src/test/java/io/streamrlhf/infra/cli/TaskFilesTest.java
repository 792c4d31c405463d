package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskFilesTest {
  /** A long write says how far it is (tasks sample and demos were silent for minutes). */
  @Test
  void aLongWriteReportsItsProgressAndWritesEveryLine(@TempDir Path dir) throws Exception {
    var out = dir.resolve("lines.jsonl");
    var progress = new StringWriter();
    var lines = IntStream.range(0, 7).mapToObj(i -> "line " + i).toList();
    TaskFiles.writeLines(out, lines, new PrintWriter(progress), "sample: prompts", 7, 3);
    assertThat(Files.readAllLines(out)).isEqualTo(lines);
    // none after the last line: the summary that follows says it
    assertThat(progress.toString().lines().toList())
        .isEqualTo(List.of("sample: prompts: 3 / 7", "sample: prompts: 6 / 7"));
  }
}
