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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One writer per output directory: an exclusive lock ({@link FileChannel#tryLock}, an OS lock the
 * kernel releases when the process dies, however it dies) on {@value #FILE} in the directory, held
 * while a run writes its checkpoints there. The file names the holder's process id; it stays behind
 * when the lock is released (removing it would race a second process locking it).
 */
public final class OutputLock implements AutoCloseable {
  public static final String FILE = ".lock";

  /**
   * The lock files this process holds. Linux's file locks belong to the process, and closing any
   * channel on a locked file drops its lock: a second acquire in this process must not so much as
   * open the file, or the first holder would silently lose it to another process.
   */
  private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private OutputLock(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
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
    var file = dir.toRealPath().resolve(FILE);
    if (!HELD.add(file)) throw new HeldException(file, "this process");
    try {
      var channel =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      try {
        FileLock lock;
        try {
          lock = channel.tryLock();
        } catch (OverlappingFileLockException sameProcess) {
          lock = null; // held through a path HELD did not see as the same
        }
        if (lock == null) {
          var holder = Files.readString(file, StandardCharsets.UTF_8).strip();
          throw new HeldException(file, holder.isEmpty() ? "another process" : "process " + holder);
        }
        var pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8);
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(pid), 0);
        channel.force(true);
        return new OutputLock(file, channel, lock);
      } catch (IOException | RuntimeException e) {
        channel.close(); // releases the lock if it was taken (a full disk refused the pid)
        throw e;
      }
    } catch (IOException | RuntimeException e) {
      HELD.remove(file);
      throw e;
    }
  }

  @Override
  public void close() throws IOException {
    try (channel) {
      lock.release();
    } finally {
      HELD.remove(file);
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
