package io.streamrlhf.model.checkpoint;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The one JSON mapping of streamrlhf's own files (checkpoint pointers and train state, stage
 * configs): snake_case keys, strict about types, pretty-printed so a person can read and edit them.
 */
public final class Json {
  private Json() {}

  public static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
          .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
          .enable(SerializationFeature.INDENT_OUTPUT)
          .build();

  /** {@code value} as pretty JSON. */
  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes {@code value} to {@code file} atomically: a reader (or a resume after a crash) sees the
   * old file or the new one, never half of one. Temp file in the same directory, fsync, rename,
   * fsync of the directory (so the rename itself survives a power loss).
   */
  public static void writeAtomically(Object value, Path file) throws IOException {
    var bytes = MAPPER.writeValueAsBytes(value);
    var dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    var tmp = dir.resolve(file.getFileName() + ".tmp");
    try {
      writeSynced(tmp, bytes);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      try {
        Files.deleteIfExists(tmp); // a full disk gets the partial file's space back
      } catch (IOException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
    syncDirectory(dir);
  }

  /**
   * Forces a directory's entries (names created, renamed, removed) to the device: on Linux a rename
   * is durable only once its directory is fsynced.
   */
  static void syncDirectory(Path dir) throws IOException {
    try (var channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  /** Writes {@code bytes} to {@code file} and forces them to the device before returning. */
  static void writeSynced(Path file, byte[] bytes) throws IOException {
    writeSynced(
        file,
        channel -> {
          // in slices: a heap array handed whole to a channel is first copied into a direct buffer
          // of its size, which the thread then keeps
          for (int at = 0; at < bytes.length; ) {
            var slice = ByteBuffer.wrap(bytes, at, Math.min(1 << 20, bytes.length - at));
            while (slice.hasRemaining()) at += channel.write(slice);
          }
          return null;
        });
  }

  /** What writes a file's content into its channel, and what it says of it. */
  interface Content<T> {
    T writeTo(FileChannel channel) throws IOException;
  }

  /**
   * Creates or truncates {@code file}, has {@code content} write it, and forces it to the device
   * before returning what the content returned.
   */
  static <T> T writeSynced(Path file, Content<T> content) throws IOException {
    try (var channel =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      var said = content.writeTo(channel);
      channel.force(true);
      return said;
    }
  }
}
