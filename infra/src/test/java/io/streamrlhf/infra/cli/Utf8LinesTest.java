package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Utf8LinesTest {

  private static List<Utf8Lines.Line> lines(Path file) throws IOException {
    var out = new ArrayList<Utf8Lines.Line>();
    Utf8Lines.forEach(file, out::add);
    return out;
  }

  @Test
  void aByteOrderMarkCarriageReturnsAndAMissingLastNewlineAreWhatEditorsWrite(@TempDir Path dir)
      throws IOException {
    var file = dir.resolve("p.txt");
    Files.write(
        file, "\uFEFFReverse cat.\r\n\nSort fig ab\u00e9.".getBytes(StandardCharsets.UTF_8));

    var lines = lines(file);

    assertThat(lines).extracting(Utf8Lines.Line::number).containsExactly(1, 2, 3);
    assertThat(lines)
        .extracting(Utf8Lines.Line::text)
        .containsExactly("Reverse cat.", "", "Sort fig ab\u00e9.");
  }

  @Test
  void aLineThatIsNotUtf8SaysWhichByteAndTheOthersStillRead(@TempDir Path dir) throws IOException {
    var file = dir.resolve("p.txt");
    Files.write(file, new byte[] {'o', 'k', '\n', 'a', (byte) 0xC3, '(', '\n', 'b', '\n'});

    var lines = lines(file);

    assertThat(lines).hasSize(3);
    assertThat(lines.get(0).text()).isEqualTo("ok");
    assertThatThrownBy(() -> lines.get(1).text())
        .hasMessage("not UTF-8: byte 0xC3 at byte 2 of the line; save the file as UTF-8");
    assertThat(lines.get(2).text()).isEqualTo("b");
  }
}
