package io.streamrlhf.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamrlhf.model.ComputeDevice;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.WeightSnapshot;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * A stage's output directory, which is also its checkpoint:
 *
 * <pre>
 *   DIR/config.json          the effective stage config (the learner's ConfigLoader.save)
 *   DIR/latest.json          {"step": 300, "directory": "step-000300", "previous": "step-000299"}:
 *                            the checkpoint in force and the one it replaced
 *   DIR/step-000300/         the checkpoint in force
 *       model.json           the GptConfig (shape) of the weights
 *       weights.bin          WeightSnapshot of the parameters (version = step)
 *       optimizer.bin        WeightSnapshots of AdamW's moments (version = updates taken): the
 *       optimizer-1.bin      first moments, then the second (a checkpoint written before the
 *                            split holds both in optimizer.bin and no optimizer-1.bin)
 *       train-state.json     the trainer's {@link State} (the learner's TrainState: step, data
 *                            position, RNG, schedule step, extras)
 *       manifest.json        size and SHA-256 of each file above, written last
 *   DIR/step-000299/         the previous checkpoint, the fallback
 * </pre>
 *
 * Weights, optimizer state, schedule position, RNG and data position are saved together and
 * atomically: a step directory is written under a temporary name, each file and the directory
 * fsynced, renamed into place, the parent directory fsynced, and only then does {@code latest.json}
 * (itself written by rename, then its directory fsynced) point at it. A crash at any moment leaves
 * the previous checkpoint in force. The checkpoint it replaced is kept as {@code previous} until
 * the next one is in force, and every directory older than that is removed.
 *
 * <p>Reading verifies the manifest: a checkpoint in force whose files do not match it (a torn or
 * overwritten file, a disk that lied about fsync) gives way to the previous one, with a warning on
 * standard error; a pointer that does not parse gives way to the newest intact step directory. A
 * step directory found intact is not hashed again by the same process while each of its files keeps
 * its size, inode, modification and status-change times (a GPT-2-sized checkpoint is 1 GB to hash,
 * and a stage reads its inputs several times as it starts). Everything a stage resumes from is in
 * one step directory, so falling back is consistent: a streaming trainer's offsets and applied-id
 * log length come from the same checkpoint (the log is cut back to the length it records).
 *
 * <p>Anything that needs "the model of stage X" calls {@link #loadModel(Path)}, and a reward model
 * with the scoring its stage chose {@link #loadRewardModel(Path, Gpt)}: an actor loads its own
 * models from here, with no learner code.
 *
 * <p>Fault injection for the chaos scenarios: the system property {@value #HALT_PROPERTY}{@code =N}
 * halts the JVM (as SIGKILL would: no hooks, no flush) midway through writing the checkpoint of
 * step N, after its weights and before its optimizer state. Read once, at class load.
 */
public final class Checkpoint {
  public static final String LATEST = "latest.json";
  public static final String MODEL_CONFIG = "model.json";
  public static final String WEIGHTS = "weights.bin";
  public static final String OPTIMIZER = "optimizer.bin";
  public static final String TRAIN_STATE = "train-state.json";
  public static final String MANIFEST = "manifest.json";

  /** The fault-injection property: halt midway through writing the checkpoint of this step. */
  public static final String HALT_PROPERTY = "rlhf.fault.haltInCheckpointWrite";

  private static final long HALT_IN_WRITE = Long.getLong(HALT_PROPERTY, -1);

  /** Directories whose fallback was already reported on standard error (once per process). */
  private static final Set<Path> WARNED = ConcurrentHashMap.newKeySet();

  /**
   * The step directory this process last wrote into each directory: known intact, not re-hashed.
   */
  private static final Map<Path, String> WRITTEN = new ConcurrentHashMap<>();

  /**
   * Step directories this process found intact, with what each of their files looked like then:
   * while nothing has changed they are not hashed again.
   */
  private static final Map<Path, Map<String, Stamp>> VERIFIED = new ConcurrentHashMap<>();

  /**
   * How old a file's times must be for its stamp to stand for its content: a rewrite within the
   * filesystem's clock tick (a few ms) can leave them as they were. The JVM's clock is compared
   * with the filesystem's, which a network filesystem's skew could defeat.
   */
  private static final Duration SETTLED = Duration.ofSeconds(2);

  /** What "now" is for {@link #SETTLED}; tests set it to see the memo with no waiting. */
  private static volatile Clock clock = Clock.systemUTC();

  /** Files hashed by {@link #damage} in this process, for tests to see what the memo saved. */
  private static final AtomicLong FILES_HASHED = new AtomicLong();

  /**
   * What a file looks like without reading it. A write moves its modification and status-change
   * times; the modification time can be put back (as {@code cp -p} or {@code touch -r} do) but the
   * status-change time cannot, where the filesystem keeps one. A byte flipped by a failing disk,
   * with no write, changes none of these: within one process it goes unseen once checked.
   */
  private record Stamp(long bytes, FileTime modified, FileTime changed, Object inode) {
    static Stamp of(Path file) throws IOException {
      var attributes = Files.readAttributes(file, BasicFileAttributes.class);
      FileTime changed;
      try {
        changed = (FileTime) Files.getAttribute(file, "unix:ctime");
      } catch (UnsupportedOperationException | IllegalArgumentException notUnix) {
        changed = null;
      }
      return new Stamp(
          attributes.isRegularFile() ? attributes.size() : -1,
          attributes.lastModifiedTime(),
          changed,
          attributes.fileKey());
    }

    boolean settledBefore(Instant instant) {
      return modified.toInstant().isBefore(instant)
          && (changed == null || changed.toInstant().isBefore(instant));
    }
  }

  static void clock(Clock now) {
    clock = now;
  }

  /** How many files this process has hashed to check a step directory against its manifest. */
  static long filesHashed() {
    return FILES_HASHED.get();
  }

  private Checkpoint() {}

  /**
   * What a trainer saves beside weights and moments to resume (the learner's TrainState), stored as
   * JSON: the stage that wrote it, its step, and stage-specific extras under {@code extra} that
   * readers of the checkpoint may consult (e.g. {@link RewardStats}).
   */
  public interface State {
    String stage();

    long step();

    JsonNode extra();
  }

  /**
   * The pointer file's content.
   *
   * @param previous the step directory in force before this one (the fallback), or null
   */
  public record Latest(long step, String directory, String previous) {
    public Latest(long step, String directory) {
      this(step, directory, null);
    }

    /** Reads a pointer; {@code previous} is absent from pointers written before it existed. */
    static Latest read(Path file) throws IOException {
      JsonNode node;
      try (var in = Files.newInputStream(file)) {
        node = Json.MAPPER.readTree(in);
      }
      if (node == null
          || !node.path("step").canConvertToLong()
          || !node.path("directory").isTextual())
        throw new IOException(file + " is not a checkpoint pointer");
      var previous = node.path("previous");
      return new Latest(
          node.get("step").asLong(),
          node.get("directory").asText(),
          previous.isTextual() ? previous.asText() : null);
    }
  }

  /**
   * What a checkpoint holds, read back.
   *
   * @param optimizer AdamW's state, part by part, each file read as it is iterated (an unreadable
   *     one throws {@link UncheckedIOException}): iterate it once, before two more checkpoints
   *     replace this one
   */
  public record Saved<S extends State>(
      GptConfig modelConfig, WeightSnapshot weights, Iterable<WeightSnapshot> optimizer, S state) {}

  /**
   * The step directory read from {@code dir}, and why it is not the one {@code latest.json} names
   * (null when it is).
   */
  public record InForce(Path directory, String fallback) {}

  /**
   * Writes one checkpoint into {@code dir} and makes it the one in force. A write that fails (a
   * full disk, a read-only file system) removes what it wrote of the new step directory and leaves
   * the checkpoint in force as it was; every IOException it throws names the step, the directory
   * and which checkpoint is in force.
   */
  public static void write(
      Path dir,
      GptConfig modelConfig,
      WeightSnapshot weights,
      Iterable<WeightSnapshot> optimizer,
      State state)
      throws IOException {
    String current;
    Set<String> keep = new HashSet<>();
    try {
      Files.createDirectories(dir);
      var pointer = exists(dir) ? pointer(dir) : null;
      current = exists(dir) ? intactInForce(dir) : null;
      if (current != null) keep.add(current);
      if (pointer != null) {
        keep.add(pointer.directory());
        if (pointer.previous() != null) keep.add(pointer.previous());
      }
    } catch (IOException | UncheckedIOException failed) {
      var cause = ioCause(failed);
      throw new IOException(
          String.format(
              "cannot write the checkpoint of step %d in %s: %s; nothing of it was written",
              state.step(), dir, cause.getMessage()),
          cause);
    }
    // the directories in force and before it are never written over (a second checkpoint at the
    // same step, e.g. final statistics after the last periodic checkpoint, gets a name of its own)
    var base = String.format("step-%06d", state.step());
    var name = base;
    for (int again = 1; keep.contains(name); again++)
      name = base + "-again" + (again == 1 ? "" : again);
    var tmp = dir.resolve(name + ".tmp");
    var target = dir.resolve(name);
    try {
      deleteTree(tmp);
      Files.createDirectories(tmp);
      var manifest = new Manifest(new TreeMap<>());
      write(tmp, MODEL_CONFIG, modelConfig.toJson().getBytes(StandardCharsets.UTF_8), manifest);
      write(tmp, WEIGHTS, weights, manifest);
      if (state.step() == HALT_IN_WRITE) {
        System.err.printf(
            "checkpoint: %s=%d: halting midway through writing %s%n",
            HALT_PROPERTY, HALT_IN_WRITE, tmp);
        System.err.flush();
        Runtime.getRuntime().halt(137); // as SIGKILL: no shutdown hooks, nothing flushed
      }
      int part = 0;
      for (var snapshot : optimizer) write(tmp, optimizerFile(part++), snapshot, manifest);
      write(tmp, TRAIN_STATE, Json.MAPPER.writeValueAsBytes(state), manifest);
      Json.writeSynced(tmp.resolve(MANIFEST), Json.MAPPER.writeValueAsBytes(manifest));
      Json.syncDirectory(tmp);
      // a leftover of a run that crashed after this rename and before the switch
      deleteTree(target);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      Json.syncDirectory(dir); // the rename is durable before the pointer names it
      Json.writeAtomically(new Latest(state.step(), name, current), dir.resolve(LATEST));
    } catch (IOException | UncheckedIOException failed) {
      throw notWritten(dir, state.step(), name, current, failed);
    }
    var previous = current;
    WRITTEN.put(key(dir), name);
    // the new checkpoint is durable and in force: only the one it replaced is kept beside it
    try (Stream<Path> entries = Files.list(dir)) {
      for (var old :
          entries
              .filter(p -> p.getFileName().toString().startsWith("step-"))
              .filter(p -> !p.equals(target))
              .filter(p -> previous == null || !p.getFileName().toString().equals(previous))
              .toList()) {
        deleteTree(old);
      }
    } catch (IOException | UncheckedIOException failed) {
      var cause = ioCause(failed);
      throw new IOException(
          String.format(
              "the checkpoint of step %d in %s is written and in force (%s), but removing the"
                  + " older step directories failed: %s",
              state.step(), dir, name, cause.getMessage()),
          cause);
    }
  }

  /**
   * Why the checkpoint of {@code step} ({@code name}) was not written: the cause's own words, and
   * which checkpoint is in force. Unless the pointer already names it (only making that durable
   * failed), what was written of it is removed first, so a full disk gets its space back.
   */
  static IOException notWritten(Path dir, long step, String name, String before, Exception failed) {
    var cause = ioCause(failed);
    var now = pointer(dir);
    if (now != null && name.equals(now.directory())) {
      return new IOException(
          String.format(
              "the checkpoint of step %d in %s is in force (%s), but making that durable failed:"
                  + " %s; a crash before the disk syncs may bring back the one before it",
              step, dir, name, cause.getMessage()),
          cause);
    }
    for (var partial : List.of(dir.resolve(name + ".tmp"), dir.resolve(name))) {
      try {
        deleteTree(partial);
      } catch (IOException | UncheckedIOException cleanup) {
        cause.addSuppressed(cleanup);
      }
    }
    return new IOException(
        String.format(
            "cannot write the checkpoint of step %d in %s: %s; %s",
            step,
            dir,
            cause.getMessage(),
            before == null
                ? "no checkpoint was in force before it"
                : "the one in force is still " + before + ", which a resume continues from"),
        cause);
  }

  /** The IOException a failure stands for: itself, or the one an UncheckedIOException wraps. */
  private static IOException ioCause(Exception failed) {
    return failed instanceof UncheckedIOException unchecked
        ? unchecked.getCause()
        : (IOException) failed;
  }

  private static void write(Path step, String file, byte[] bytes, Manifest manifest)
      throws IOException {
    Json.writeSynced(step.resolve(file), bytes);
    manifest.files().put(file, new Manifest.Entry(bytes.length, sha256(bytes)));
  }

  /**
   * A snapshot's frame, hashed as it is written and never built whole: the learner publishes the
   * same bytes with the hash kept here, and an optimizer state (each part the weights' size) needs
   * no copy.
   */
  private static void write(Path step, String file, WeightSnapshot snapshot, Manifest manifest)
      throws IOException {
    byte[] sha256 = Json.writeSynced(step.resolve(file), snapshot::writeFrame);
    manifest
        .files()
        .put(file, new Manifest.Entry(snapshot.frameBytes(), HexFormat.of().formatHex(sha256)));
  }

  /**
   * A snapshot file read and verified with only its payload on the heap. Its own SHA-256 is the
   * only check a checkpoint without a manifest gets, and the last one for a file changed since its
   * manifest was checked: failing it is a corrupt checkpoint, as a manifest's mismatch is.
   */
  private static WeightSnapshot readSnapshot(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      // worded as a manifest's check words it
      throw new CorruptCheckpointException(
          file + (Files.exists(file) ? " is not a file" : " is missing"));
    }
    try (var channel = FileChannel.open(file, StandardOpenOption.READ)) {
      return WeightSnapshot.readFrame(channel, channel.size());
    } catch (IllegalArgumentException | EOFException notASnapshot) {
      throw new CorruptCheckpointException(
          file + " fails its own check (" + notASnapshot.getMessage() + ")");
    }
  }

  /**
   * The optimizer state's parts in {@code step}, as its manifest lists them (a checkpoint without a
   * manifest predates the split: one part), each read and checked against its own SHA-256 as it is
   * iterated: a large model's moments are gigabytes each, and a resume restores them one at a time.
   */
  private static Iterable<WeightSnapshot> optimizerParts(Path step) throws IOException {
    var manifest = manifest(step);
    int listed = 1;
    if (manifest != null) {
      listed = 0;
      while (manifest.files().containsKey(optimizerFile(listed))) listed++;
    }
    int parts = listed;
    return () ->
        IntStream.range(0, parts)
            .mapToObj(
                part -> {
                  try {
                    return readSnapshot(step.resolve(optimizerFile(part)));
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                })
            .iterator();
  }

  /** The file of the optimizer state's {@code part}: optimizer.bin, optimizer-1.bin, … */
  private static String optimizerFile(int part) {
    return part == 0 ? OPTIMIZER : OPTIMIZER.replace(".bin", "-" + part + ".bin");
  }

  /** Whether {@code dir} holds a checkpoint. */
  public static boolean exists(Path dir) {
    return Files.isRegularFile(dir.resolve(LATEST));
  }

  /** The checkpoint in force in {@code dir}, its train state read as {@code stateType}. */
  public static <S extends State> Saved<S> read(Path dir, String expectedStage, Class<S> stateType)
      throws IOException {
    var step = stepDirectory(dir);
    var modelConfig = GptConfig.fromJson(Files.readString(step.resolve(MODEL_CONFIG)));
    var weights = readSnapshot(step.resolve(WEIGHTS));
    return new Saved<>(
        modelConfig, weights, optimizerParts(step), readState(step, expectedStage, stateType));
  }

  /**
   * The SHA-256 (hex) of the weights in force in {@code dir}: which model it holds, wherever the
   * directory has moved; a run that trains from or against it records this to be resumed with the
   * same one.
   */
  public static String weightsSha256(Path dir) throws IOException {
    var step = stepDirectory(dir); // checked against its manifest, when it has one
    var manifest = manifest(step);
    var entry = manifest != null ? manifest.files().get(WEIGHTS) : null;
    return entry != null ? entry.sha256() : sha256(step.resolve(WEIGHTS));
  }

  /** The manifest of a step directory already checked against it, or null where it has none. */
  private static Manifest manifest(Path step) throws IOException {
    var file = step.resolve(MANIFEST);
    return Files.isRegularFile(file) ? Json.MAPPER.readValue(file.toFile(), Manifest.class) : null;
  }

  /** The shape of the model saved in {@code dir}. */
  public static GptConfig modelConfig(Path dir) throws IOException {
    return GptConfig.fromJson(Files.readString(stepDirectory(dir).resolve(MODEL_CONFIG)));
  }

  /** The train state in force in {@code dir} as {@code stateType}, whatever stage wrote it. */
  public static <S> S trainState(Path dir, Class<S> stateType) throws IOException {
    return readJson(stepDirectory(dir).resolve(TRAIN_STATE), stateType);
  }

  /** The extras of the train state in force in {@code dir} (e.g. an RM's score statistics). */
  public static JsonNode extras(Path dir) throws IOException {
    return trainState(dir, JsonNode.class).path("extra");
  }

  /** Writes {@code dir/train-state.json} atomically. */
  public static void writeState(Path dir, State state) throws IOException {
    Json.writeAtomically(state, dir.resolve(TRAIN_STATE));
  }

  /** Reads {@code dir/train-state.json} and checks it was written by {@code expectedStage}. */
  public static <S extends State> S readState(Path dir, String expectedStage, Class<S> stateType)
      throws IOException {
    var file = dir.resolve(TRAIN_STATE);
    var state = readJson(file, stateType);
    if (!state.stage().equals(expectedStage)) {
      throw new IllegalArgumentException(
          file
              + " belongs to stage '"
              + state.stage()
              + "', not '"
              + expectedStage
              + "': resume from a "
              + expectedStage
              + " checkpoint");
    }
    return state;
  }

  /**
   * A float32 model on this process's device with the weights saved in {@code dir}, ready to sample
   * or score.
   */
  public static Gpt loadModel(Path dir) throws IOException {
    var step = stepDirectory(dir);
    var config = GptConfig.fromJson(Files.readString(step.resolve(MODEL_CONFIG)));
    var weights = readSnapshot(step.resolve(WEIGHTS));
    return Gpt.fromSnapshot(config, weights, ComputeDevice.forModels());
  }

  /**
   * The reward model in {@code dir}, scoring as its reward stage chose: with the stored weight of
   * the likelihood term, read from {@code sft} (the frozen SFT model the caller holds; may be null
   * only when the weight is 0).
   */
  public static RewardModel loadRewardModel(Path dir, Gpt sft) throws IOException {
    double weight = RewardStats.read(dir).likelihoodWeight();
    if (weight != 0 && sft == null) {
      throw new IllegalArgumentException(
          "the reward model in "
              + dir
              + " adds "
              + weight
              + " x the SFT log-likelihood to its head: give the SFT model (--sft) too");
    }
    return new RewardModel(loadModel(dir), sft, weight);
  }

  /**
   * Which step directory of {@code dir} is read: the one {@code latest.json} names when its files
   * match its manifest, else the previous one (see the class comment); the first fallback in each
   * directory is reported on standard error.
   *
   * @throws CorruptCheckpointException when neither is intact
   */
  public static InForce inForce(Path dir) throws IOException {
    requireReadable(dir);
    var latest = dir.resolve(LATEST);
    if (!Files.isRegularFile(latest)) {
      throw new IllegalArgumentException(
          dir
              + " holds no checkpoint (no "
              + LATEST
              + "): pass a directory written by"
              + " rlhf pretrain, sft, reward or ppo");
    }
    requireReadable(latest);
    InForce chosen;
    Latest pointer;
    try {
      pointer = Latest.read(latest);
    } catch (AccessDeniedException denied) {
      throw denied;
    } catch (IOException unreadable) {
      pointer = null;
    }
    if (pointer != null) {
      var problem = damage(dir.resolve(pointer.directory()));
      if (problem == null) return new InForce(dir.resolve(pointer.directory()), null);
      var previous = pointer.previous() == null ? null : dir.resolve(pointer.previous());
      if (previous == null || damage(previous) != null) {
        throw new CorruptCheckpointException(
            dir
                + ": the checkpoint in force, "
                + pointer.directory()
                + ", is corrupt ("
                + problem
                + ") and no intact previous checkpoint is kept");
      }
      chosen =
          new InForce(
              previous,
              "the newest checkpoint in "
                  + dir
                  + ", "
                  + pointer.directory()
                  + ", is corrupt ("
                  + problem
                  + "): falling back to the previous one, "
                  + pointer.previous());
    } else {
      // the pointer itself is damaged: the newest step directory whose manifest holds
      Path newest = null;
      try (Stream<Path> entries = Files.list(dir)) {
        for (var step :
            entries
                .filter(p -> p.getFileName().toString().startsWith("step-"))
                .filter(p -> !p.getFileName().toString().endsWith(".tmp"))
                .sorted(Comparator.reverseOrder())
                .toList()) {
          if (Files.isRegularFile(step.resolve(MANIFEST)) && damage(step) == null) {
            newest = step;
            break;
          }
        }
      }
      if (newest == null) {
        throw new CorruptCheckpointException(
            latest + " does not parse and no step directory in " + dir + " is intact");
      }
      chosen =
          new InForce(
              newest,
              latest
                  + " does not parse: reading the newest intact checkpoint, "
                  + newest.getFileName());
    }
    WRITTEN.remove(key(dir)); // whatever this process wrote there is not what is read now
    if (WARNED.add(key(dir))) {
      System.err.println("checkpoint: warning: " + chosen.fallback());
      System.err.flush();
    }
    return chosen;
  }

  /**
   * What is wrong with the step directory's files against its manifest, or null when they match; a
   * directory without a manifest (written before manifests existed) cannot be checked and passes.
   *
   * @throws AccessDeniedException for a file this process may not read: that is not damage, and no
   *     copy of the checkpoint would mend it
   */
  static String damage(Path step) throws AccessDeniedException {
    requireReadable(step);
    var file = step.resolve(MANIFEST);
    requireReadable(file);
    if (!Files.exists(file)) {
      return Files.isDirectory(step) ? null : step.getFileName() + " is missing";
    }
    // each file's stamp is taken before it is read: a file changed after its stamp is hashed again
    var started = clock.instant();
    var stamps = new TreeMap<String, Stamp>();
    Manifest manifest;
    try {
      stamps.put(MANIFEST, Stamp.of(file));
      manifest = readJson(file, Manifest.class);
    } catch (AccessDeniedException denied) {
      throw denied;
    } catch (IOException | RuntimeException e) {
      return MANIFEST + " does not parse";
    }
    try {
      for (var name : manifest.files().keySet()) stamps.put(name, Stamp.of(step.resolve(name)));
    } catch (IOException missing) {
      stamps = null; // hashing below names the file
    }
    var key = key(step);
    if (stamps != null && stamps.equals(VERIFIED.get(key))) return null;
    VERIFIED.remove(key);
    for (var entry : manifest.files().entrySet()) {
      var path = step.resolve(entry.getKey());
      requireReadable(path);
      long bytes;
      String actual;
      try {
        var attributes = Files.readAttributes(path, BasicFileAttributes.class);
        if (!attributes.isRegularFile()) return entry.getKey() + " is not a file";
        bytes = attributes.size();
        if (bytes != entry.getValue().bytes()) {
          return entry.getKey()
              + " holds "
              + bytes
              + " bytes, the manifest "
              + entry.getValue().bytes();
        }
        actual = sha256(path);
        FILES_HASHED.incrementAndGet();
      } catch (AccessDeniedException denied) {
        throw denied;
      } catch (IOException e) {
        return entry.getKey() + " cannot be read";
      }
      if (!actual.equals(entry.getValue().sha256())) {
        return entry.getKey() + " fails its SHA-256";
      }
    }
    // a file written within a clock tick of now might change again without its times moving
    var settled = started.minus(SETTLED);
    if (stamps != null && stamps.values().stream().allMatch(s -> s.settledBefore(settled))) {
      VERIFIED.put(key, stamps);
    }
    return null;
  }

  /** The pointer {@code latest.json} of {@code dir} as written (not checked against its files). */
  public static Latest latest(Path dir) throws IOException {
    return Latest.read(dir.resolve(LATEST));
  }

  /**
   * The name of the intact checkpoint in force in {@code dir}, which a new checkpoint keeps as its
   * previous one, or null when none is intact.
   */
  private static String intactInForce(Path dir) throws IOException {
    var pointer = pointer(dir);
    if (pointer != null && pointer.directory().equals(WRITTEN.get(key(dir)))) {
      return pointer.directory();
    }
    try {
      return inForce(dir).directory().getFileName().toString();
    } catch (CorruptCheckpointException nothingIntact) {
      return null;
    }
  }

  private static Path key(Path dir) {
    return dir.toAbsolutePath().normalize();
  }

  private static Latest pointer(Path dir) {
    try {
      return Latest.read(dir.resolve(LATEST));
    } catch (IOException unreadable) {
      return null; // a damaged pointer is replaced by the next write
    }
  }

  private static Path stepDirectory(Path dir) throws IOException {
    return inForce(dir).directory();
  }

  /**
   * Refuses a file that exists but that this process may not read, or a directory it may not search
   * (reading its files by name needs no more; a listing, where one is needed, is refused as it is
   * tried). An open that fails anyway is refused the same way where it is caught.
   */
  private static void requireReadable(Path path) throws AccessDeniedException {
    boolean denied =
        Files.isDirectory(path)
            ? !Files.isExecutable(path)
            : Files.exists(path) && !Files.isReadable(path);
    if (denied) throw new AccessDeniedException(path.toString(), null, "permission denied");
  }

  /** A JSON file read as {@code type}, opened through NIO: a denied open says so. */
  private static <T> T readJson(Path file, Class<T> type) throws IOException {
    try (var in = Files.newInputStream(file)) {
      return Json.MAPPER.readValue(in, type);
    }
  }

  /** The SHA-256 (hex) of a file, read in blocks rather than held whole on the heap. */
  private static String sha256(Path file) throws IOException {
    var digest = sha256();
    var block = new byte[1 << 20];
    try (var in = Files.newInputStream(file)) {
      for (int n; (n = in.read(block)) > 0; ) digest.update(block, 0, n);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static String sha256(byte[] bytes) {
    return HexFormat.of().formatHex(sha256().digest(bytes));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java 17 runtime provides SHA-256", e);
    }
  }

  /** {@value #MANIFEST}: each file of a step directory with its size and SHA-256 (hex). */
  record Manifest(Map<String, Entry> files) {
    record Entry(long bytes, String sha256) {}
  }

  /**
   * Neither the checkpoint in force nor the one before it is intact, or a file of the one read
   * fails its own check as it is read.
   */
  public static final class CorruptCheckpointException extends IOException {
    public CorruptCheckpointException(String message) {
      super(message);
    }
  }

  private static void deleteTree(Path path) throws IOException {
    VERIFIED.remove(key(path)); // a directory made again under this name is hashed afresh
    if (!Files.exists(path)) return;
    try (Stream<Path> walk = Files.walk(path)) {
      for (var p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
    }
  }
}
