package io.streamrlhf.actors;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A process killed before it closes Vert.x leaves no vertx-cache-* directory behind. */
class VertxFileSystemTest {
  @Test
  void theProjectsVertxMakesNoCacheDirectoryWhereVertxsDefaultDoes(@TempDir Path dir)
      throws IOException {
    // Vert.x names its cache directory by this prefix and a random suffix
    var plain = dir.resolve("default");
    var ours = dir.resolve("ours");
    Files.createDirectories(plain);
    Files.createDirectories(ours);

    var byDefault =
        open(new FileSystemOptions().setFileCacheDir(plain.resolve("vertx-cache").toString()));
    var project =
        open(ActorNode.fileSystemOptions().setFileCacheDir(ours.resolve("vertx-cache").toString()));
    try {
      // the control: the default makes its directory as it starts, and removes it only on close
      assertThat(entries(plain)).singleElement().asString().startsWith("vertx-cache-");
      assertThat(entries(ours)).isEmpty();
    } finally {
      byDefault.close().await();
      project.close().await();
    }
  }

  private static Vertx open(FileSystemOptions options) {
    return Vertx.vertx(new VertxOptions().setFileSystemOptions(options));
  }

  private static List<String> entries(Path dir) throws IOException {
    try (var files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).toList();
    }
  }
}
