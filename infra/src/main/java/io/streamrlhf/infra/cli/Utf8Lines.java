package io.streamrlhf.infra.cli;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The lines of a text file a user hands a command (prompts, responses to grade), each decoded on
 * its own as strict UTF-8, so a file that is not UTF-8 is reported at the line and byte where it
 * stops being so, not as a stack trace from deep inside a reader that decodes ahead in blocks. A
 * leading byte-order mark is dropped; lines end at '\n', with a '\r' before it dropped.
 */
final class Utf8Lines {
  private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

  private Utf8Lines() {}

  /** One line, numbered from 1, as read. */
  record Line(int number, byte[] bytes) {
    /**
     * The line's text.
     *
     * @throws IllegalArgumentException saying which byte is not UTF-8
     */
    String text() {
      var decoder =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT);
      var in = ByteBuffer.wrap(bytes);
      var out = CharBuffer.allocate(bytes.length);
      var result = decoder.decode(in, out, true);
      if (result.isError()) {
        int at = in.position();
        throw new IllegalArgumentException(
            String.format(
                Locale.ROOT,
                "not UTF-8: byte 0x%02X at byte %d of the line; save the file as UTF-8",
                bytes[at] & 0xff,
                at + 1));
      }
      decoder.flush(out);
      return out.flip().toString();
    }
  }

  /** Calls {@code each} with every line of {@code file}, in order. */
  static void forEach(Path file, Consumer<Line> each) throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
      var line = new ByteArrayOutputStream();
      int number = 0;
      for (int b; (b = in.read()) != -1; ) {
        if (b != '\n') {
          line.write(b);
          continue;
        }
        each.accept(line(++number, line.toByteArray()));
        line.reset();
      }
      if (line.size() > 0) each.accept(line(++number, line.toByteArray()));
    }
  }

  /**
   * Where {@code file} stops being UTF-8, as "line N: byte 0x.. at byte B of the line; save the
   * file as UTF-8", or null when every line decodes: for a command that read the file whole and
   * only learned that it is not.
   */
  static String firstNotUtf8(Path file) throws IOException {
    var found = new String[1];
    forEach(
        file,
        line -> {
          if (found[0] != null) return;
          try {
            line.text();
          } catch (IllegalArgumentException e) {
            found[0] =
                "line " + line.number() + ": " + e.getMessage().replaceFirst("^not UTF-8: ", "");
          }
        });
    return found[0];
  }

  private static Line line(int number, byte[] bytes) {
    int from = number == 1 && startsWithBom(bytes) ? BOM.length : 0;
    int to =
        bytes.length > from && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
    return new Line(
        number, from == 0 && to == bytes.length ? bytes : Arrays.copyOfRange(bytes, from, to));
  }

  private static boolean startsWithBom(byte[] bytes) {
    return bytes.length >= BOM.length && Arrays.equals(bytes, 0, BOM.length, BOM, 0, BOM.length);
  }
}
