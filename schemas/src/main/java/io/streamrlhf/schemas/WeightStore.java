package io.streamrlhf.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Weight versions' bytes in a directory every process of a run can read (a shared filesystem),
 * while the weight topic carries only a pointer: the version with no bytes and three meta entries,
 * the object's name under the store, its length and its SHA-256 ({@link #META_OBJECT}, {@link
 * #META_BYTES}, {@link #META_SHA256}). A signed pointer's signature covers its meta, so an actor
 * that fetches, checks length and SHA-256 and verifies keeps the guarantee that only the learner's
 * versions apply; the topic keeps ordering, late joiners and the compacted newest version.
 *
 * <p>Objects are written to a temporary file and renamed into place, so a reader never sees a torn
 * one; the newest {@link #KEPT} per model are kept and older ones deleted (a reader that still asks
 * for one finds it gone, is told why and keeps its weights until the next version). Names are
 * relative ({@code policy/v12-<16 hex>.weights}), so each machine may mount the store at its own
 * path, and a reader resolves only names of that form under its own root.
 */
public final class WeightStore {
  /** Meta entries of a pointer version (see the class comment). */
  public static final String META_OBJECT = "store_object";

  public static final String META_BYTES = "store_bytes";
  public static final String META_SHA256 = "store_sha256";

  /** Versions kept per model: more than a reader falls behind by under the loop's max_lag. */
  public static final int KEPT = 6;

  private static final Pattern NAME =
      Pattern.compile("(policy|reward)/v(\\d{1,19})-[0-9a-f]{16}\\.weights");
  private static final int READ_BLOCK = 1 << 20;

  private final Path root;

  private WeightStore(Path root) {
    this.root = root;
  }

  /**
   * The store at {@code root}, which must be a directory (created when missing).
   *
   * @throws UncheckedIOException when it cannot be created or is not a directory
   */
  public static WeightStore at(Path root) {
    if (Files.exists(root) && !Files.isDirectory(root))
      throw new UncheckedIOException(
          root + " exists and is not a directory",
          new java.nio.file.NotDirectoryException("" + root));
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      var reason =
          e instanceof java.nio.file.FileSystemException f && f.getReason() != null
              ? f.getReason()
              : e.getClass().getSimpleName();
      throw new UncheckedIOException(
          "cannot create the directory " + root + " (" + reason + ")", e);
    }
    return new WeightStore(root.toAbsolutePath().normalize());
  }

  public Path root() {
    return root;
  }

  /** Whether {@code weights} is a pointer to an object in a store rather than the bytes. */
  public static boolean isPointer(PublishedWeights weights) {
    return weights.meta().containsKey(META_OBJECT);
  }

  /**
   * Writes {@code weights}' bytes as an object and returns the pointer to publish in its place (the
   * same version, model, meta and publish time, no bytes), then deletes what is older than the
   * newest {@link #KEPT} objects of the model.
   *
   * @param sha256 the SHA-256 of {@code weights.bytes()}, as {@link WeightChunker#sha256} computes
   *     it (a publisher hashes the bytes once for the store and the signature alike)
   */
  public PublishedWeights put(PublishedWeights weights, byte[] sha256) {
    var hex = HexFormat.of().formatHex(sha256);
    var name =
        modelDir(weights.model())
            + "/v"
            + weights.version()
            + "-"
            + hex.substring(0, 16)
            + ".weights";
    var target = root.resolve(name);
    try {
      Files.createDirectories(target.getParent());
      var tmp = Files.createTempFile(target.getParent(), ".writing-", ".tmp");
      try {
        try (var out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
          var buffer = ByteBuffer.wrap(weights.bytes());
          while (buffer.hasRemaining()) out.write(buffer);
        }
        move(tmp, target);
      } finally {
        Files.deleteIfExists(tmp);
      }
      prune(weights.model());
    } catch (IOException e) {
      throw new UncheckedIOException("weight store: writing " + target + ": " + e.getMessage(), e);
    }
    var meta = new HashMap<>(weights.meta());
    meta.put(META_OBJECT, name);
    meta.put(META_BYTES, Long.toString(weights.bytes().length));
    meta.put(META_SHA256, hex);
    return new PublishedWeights(
        weights.model(), weights.version(), new byte[0], meta, weights.publishedAt());
  }

  private static void move(Path tmp, Path target) throws IOException {
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private void prune(WeightModel model) throws IOException {
    var objects = newestFirst(root.resolve(modelDir(model)));
    for (var old : objects.subList(Math.min(KEPT, objects.size()), objects.size())) {
      Files.deleteIfExists(old);
    }
  }

  /**
   * The newest version of {@code model} this store holds an object of; empty when it holds none (or
   * cannot be listed).
   */
  public OptionalLong newestVersion(WeightModel model) {
    var dir = root.resolve(modelDir(model));
    if (!Files.isDirectory(dir)) return OptionalLong.empty();
    try {
      var objects = newestFirst(dir);
      return objects.isEmpty()
          ? OptionalLong.empty()
          : OptionalLong.of(version(objects.get(0)).orElseThrow());
    } catch (IOException | UncheckedIOException e) {
      return OptionalLong.empty();
    }
  }

  /** The store's objects in {@code dir} (files named like ours), newest version first. */
  private List<Path> newestFirst(Path dir) throws IOException {
    var objects = new ArrayList<Path>();
    try (Stream<Path> files = Files.list(dir)) {
      files.filter(p -> version(p).isPresent()).forEach(objects::add);
    }
    objects.sort(Comparator.comparingLong((Path p) -> version(p).orElseThrow()).reversed());
    return objects;
  }

  private Optional<Long> version(Path object) {
    var m = NAME.matcher(root.relativize(object).toString().replace('\\', '/'));
    if (!m.matches()) return Optional.empty();
    try {
      return Optional.of(Long.parseLong(m.group(2)));
    } catch (NumberFormatException e) {
      return Optional.empty(); // 19 digits past Long.MAX_VALUE: not one of ours
    }
  }

  /**
   * The version {@code pointer} points to, with its bytes read from this store, checked against the
   * pointer's length and SHA-256 (hashed as they are read), and its meta without the pointer's
   * entries.
   *
   * @throws StoreException when the pointer is malformed, or the object is missing, unreadable, of
   *     another length or another SHA-256; the message says which in one line
   */
  public PublishedWeights fetch(PublishedWeights pointer, long maxBytes) {
    var meta = pointer.meta();
    var name = meta.get(META_OBJECT);
    if (name == null || !NAME.matcher(name).matches())
      throw new StoreException(
          "pointer names no store object of the form model/vN-hash.weights: " + name);
    if (!name.startsWith(modelDir(pointer.model()) + "/"))
      throw new StoreException("a " + pointer.model() + " pointer names " + name);
    long length;
    byte[] expected;
    try {
      length = Long.parseLong(meta.getOrDefault(META_BYTES, ""));
      expected = HexFormat.of().parseHex(meta.getOrDefault(META_SHA256, ""));
    } catch (IllegalArgumentException e) {
      throw new StoreException(
          "pointer to " + name + " has no valid length or SHA-256: " + e.getMessage());
    }
    if (length < 0 || length > maxBytes || expected.length != 32)
      throw new StoreException(
          "pointer to "
              + name
              + " claims "
              + length
              + " bytes (at most "
              + maxBytes
              + ") or a SHA-256 of "
              + expected.length
              + " bytes");
    var file = root.resolve(name);
    var bytes = new byte[(int) length];
    var digest = WeightChunker.newSha256();
    try (var in = FileChannel.open(file, StandardOpenOption.READ)) {
      if (in.size() != length)
        throw new StoreException(
            name + " in " + root + " has " + in.size() + " bytes, the pointer says " + length);
      // hashed block by block while the block is still in cache
      int offset = 0;
      while (offset < length) {
        int n =
            in.read(ByteBuffer.wrap(bytes, offset, (int) Math.min(READ_BLOCK, length - offset)));
        if (n < 0)
          throw new StoreException(name + " ended after " + offset + " of " + length + " bytes");
        digest.update(bytes, offset, n);
        offset += n;
      }
    } catch (java.nio.file.NoSuchFileException e) {
      throw new MissingObjectException(
          name + " is not in the weight store " + root + " (pruned, or another store)");
    } catch (IOException e) {
      throw new StoreException("reading " + name + " from " + root + ": " + e.getMessage());
    }
    if (!MessageDigest.isEqual(digest.digest(), expected))
      throw new StoreException(
          name + " in " + root + " does not have the SHA-256 its pointer gives");
    var rest = new HashMap<>(meta);
    List.of(META_OBJECT, META_BYTES, META_SHA256).forEach(rest::remove);
    return new PublishedWeights(
        pointer.model(), pointer.version(), bytes, rest, pointer.publishedAt());
  }

  private static String modelDir(WeightModel model) {
    return model.name().toLowerCase(Locale.ROOT);
  }

  /** Why a pointer could not be resolved: one line for the log; the reader keeps its weights. */
  public static class StoreException extends RuntimeException {
    public StoreException(String message) {
      super(message);
    }
  }

  /** The pointer's object is not in the store: pruned for newer versions, or another store. */
  public static final class MissingObjectException extends StoreException {
    public MissingObjectException(String message) {
      super(message);
    }
  }

  @Override
  public String toString() {
    return "WeightStore[" + root + "]";
  }
}
