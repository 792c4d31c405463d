package io.streamrlhf.model.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One writer per output directory: an exclusive lock ({@link FileChannel#tryLock}, an OS lock the
 * kernel releases when the process dies, however it dies) on {@value #FILE} in the directory, held
 * while a run writes its checkpoints there. The file names the holder's process id; it stays behind
 * when the lock is released (removing it would race a second process locking it).
 */
public final class OutputLock implements AutoCloseable {
  public static final String FILE = ".lock";

  private final FileChannel channel;
  private final FileLock lock;

  private OutputLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Locks {@code dir} (creating it) for this process.
   *
   * @throws HeldException when another process, or another run in this one, holds it
   */
  public static OutputLock acquire(Path dir) throws IOException {
    Files.createDirectories(dir);
    var file = dir.resolve(FILE);
    var channel =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException sameProcess) {
      lock = null;
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
    if (lock == null) {
      channel.close();
      var holder = Files.readString(file, StandardCharsets.UTF_8).strip();
      throw new HeldException(file, holder.isEmpty() ? "another process" : "process " + holder);
    }
    var pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8);
    channel.truncate(0);
    channel.write(ByteBuffer.wrap(pid), 0);
    channel.force(true);
    return new OutputLock(channel, lock);
  }

  @Override
  public void close() throws IOException {
    try (channel) {
      lock.release();
    }
  }

  /** The directory is locked by someone else. */
  public static final class HeldException extends IOException {
    private final String holder;

    HeldException(Path file, String holder) {
      super(file + " is locked by " + holder);
      this.holder = holder;
    }

    /** Who holds the lock, e.g. {@code process 4711}. */
    public String holder() {
      return holder;
    }
  }
}
