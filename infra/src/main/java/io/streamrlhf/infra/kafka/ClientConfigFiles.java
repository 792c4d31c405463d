package io.streamrlhf.infra.kafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.TreeMap;

/**
 * Writes the {@code --kafka-config} file with which a user of a broker with {@link BrokerUsers}
 * logs in: {@code DIR/NAME.properties}, readable by its owner only (it holds the password).
 */
public final class ClientConfigFiles {
  private ClientConfigFiles() {}

  /** Writes (or replaces) {@code user}'s file in {@code dir} and returns its path. */
  public static Path write(Path dir, BrokerUsers.User user) {
    var file = dir.resolve(user.name() + ".properties");
    var text = new StringBuilder();
    text.append("# Kafka client settings of ")
        .append(user)
        .append(": rlhf <command> --kafka-config ")
        .append(file.getFileName())
        .append('\n');
    // values need no escaping: BrokerUsers refuses backslashes and control characters
    new TreeMap<>(EmbeddedKafka.clientSettings(user))
        .forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
    try {
      Files.createDirectories(dir);
      Files.deleteIfExists(file);
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, text, StandardCharsets.UTF_8);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
