package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.exit.ExitHooks;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.model.AdamW;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.transport.KafkaRefusal;
import io.streamrlhf.schemas.transport.WeightPublisher;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import picocli.CommandLine;

/**
 * Turns failures into exit codes and what a user should see. Exit code 2 is the user's mistake, and
 * only what says so: picocli's parameter errors, a {@link UserError}, which commands raise at the
 * boundary (flags, config keys and values, input files, output directories), and the learner's
 * {@link InputError} (a checkpoint or cluster a run cannot use), a checkpoint found corrupt as it
 * is read, a file this user may not access, a Kafka login refused or a user not allowed what the
 * command does (the credentials of another role), and a run that diverged (a gradient not finite:
 * its learning rate is the setting to fix). Any other exception, an {@link
 * IllegalArgumentException} from deep in the code included, is our failure: exit code 1, a one-line
 * summary first, then where to look (the stack trace). An I/O failure that is the machine's, a full
 * disk or quota, a read-only file system, a device error, is neither: exit code 4, one line that
 * says what could not be written and why (a stage's checkpoint says which one stays in force), and
 * so is a refusal at the boundary caused by one (an --out on a full disk). The system's words are
 * English: the launcher runs Java with {@code LC_MESSAGES=C}.
 */
final class UserErrors implements CommandLine.IExecutionExceptionHandler {
  static final int INTERNAL = 1;
  static final int USAGE = 2;
  static final int MACHINE = 4;

  /**
   * The operating system's words (strerror, as the JDK passes them on) for failures no code can
   * mend: ENOSPC, EDQUOT, EROFS, EIO.
   */
  private static final List<String> MACHINE_FAILURES =
      List.of(
          "No space left on device",
          "Disk quota exceeded",
          "Read-only file system",
          "Input/output error");

  @Override
  public int handleExecutionException(
      Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
    var err = cli.getErr();
    var machine = machineFailure(e);
    if (e instanceof UserError || e instanceof InputError) {
      // an --out refused because its disk is full is the machine's doing, whatever the message
      err.println(prefix(cli) + e.getMessage());
      err.flush();
      return machine != null ? MACHINE : USAGE;
    }
    if (machine != null) {
      err.println(prefix(cli) + machine);
      err.flush();
      return MACHINE;
    }
    var denied = accessDenied(e);
    if (denied != null) {
      // a file this user may not read or write: the user's to mend (access, or another path)
      err.println(
          prefix(cli)
              + denied.getFile()
              + ": permission denied: give the user running rlhf access to it, or choose another"
              + " path");
      err.flush();
      return USAGE;
    }
    var kafka = kafkaRefusal(e);
    if (kafka != null) {
      err.println(prefix(cli) + kafka);
      err.flush();
      return USAGE;
    }
    var corrupt = corruptCheckpoint(e);
    if (corrupt != null) {
      // found as the checkpoint is read, past the boundary's checks: a checkpoint that does not fit
      err.println(prefix(cli) + corrupt.getMessage() + ": restore the checkpoint from a copy");
      err.flush();
      return USAGE;
    }
    var diverged = nonFiniteGradient(e);
    if (diverged != null) {
      // the run's settings, not the code: a learning rate too high for the model and data
      err.println(
          prefix(cli)
              + "the run diverged ("
              + diverged.getMessage()
              + "): lower "
              + (PPO_COMMANDS.contains(cli.getCommandName())
                  ? "learning_rate, value_head_learning_rate or init_kl_coef (--set KEY=...)"
                  : "learning_rate (--set learning_rate=...)")
              + " and run again");
      err.flush();
      return USAGE; // a setting to fix, as a bad value is
    }
    var allocation = nativeOutOfMemory(e);
    if (allocation != null) {
      // PyTorch's allocator, not the JVM's: the same advice as an OutOfMemoryError (Rlhf.main)
      err.println(
          prefix(cli)
              + "out of memory: PyTorch could not allocate "
              + allocation
              + ": a setting asks for more than this machine holds (samples, prompts or sequences"
              + " per batch, the model's size); ask for less");
      err.flush();
      return INTERNAL;
    }
    if (ExitHooks.exiting()) {
      // a signal stopped the JVM and its exit hooks closed what the command was using (a broker,
      // a file): one line says what failed as it stopped; the stack trace would blame the code
      err.println(
          prefix(cli)
              + (ParentWatch.fired()
                  ? "stopped as its parent process ended"
                  : "stopped by a signal")
              + " as it failed: "
              + summary(e));
      err.flush();
      return INTERNAL;
    }
    var gone = brokerGaveOut(e);
    if (gone != null) {
      // the cluster's failure, not the code's: one line, and how to go on
      boolean resumable = cli.getCommandSpec().findOption("--resume") != null;
      err.println(
          prefix(cli)
              + "gave up waiting for the Kafka cluster: "
              + gone
              + (resumable
                  ? "; --out keeps the last checkpoint: once the cluster answers again, run the"
                      + " same command with --resume to continue"
                  : "; run the command again once the cluster answers again"));
      err.flush();
      return INTERNAL; // a run that gave up waiting, as the help says
    }
    err.println(prefix(cli) + "internal error: " + summary(e));
    err.println(prefix(cli) + "not a usage mistake; the stack trace below shows where it failed:");
    e.printStackTrace(err);
    err.flush();
    return INTERNAL;
  }

  /**
   * One line for a failure whose cause is the machine's (null when it is not): the first message in
   * the chain that says more than its cause's class and words, with the system's reason when it
   * does not already give it.
   */
  static String machineFailure(Throwable e) {
    String reason = null;
    for (Throwable t = e; t != null && reason == null; t = t.getCause()) {
      if (!(t instanceof IOException io)) continue;
      var words = io instanceof FileSystemException fs ? fs.getReason() : io.getMessage();
      if (words == null) continue;
      reason = MACHINE_FAILURES.stream().filter(words::contains).findFirst().orElse(null);
    }
    if (reason == null) return null;
    for (Throwable t = e; t != null; t = t.getCause()) {
      var message = t.getMessage();
      if (message == null || (t.getCause() != null && message.equals(t.getCause().toString())))
        continue;
      return message.contains(reason) ? message : message + ": " + reason;
    }
    return reason;
  }

  /**
   * The size PyTorch's CPU allocator was refused, e.g. "26.2 GB", when that ended the command (its
   * message: "DefaultCPUAllocator: can't allocate memory: you tried to allocate N bytes"), else
   * null.
   */
  static String nativeOutOfMemory(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      var message = t.getMessage();
      if (message == null || !message.contains("can't allocate memory")) continue;
      var bytes = ALLOCATION.matcher(message);
      return bytes.find()
          ? String.format(java.util.Locale.ROOT, "%.1f GB", Long.parseLong(bytes.group(1)) / 1e9)
          : "the memory asked for";
    }
    return null;
  }

  private static final java.util.regex.Pattern ALLOCATION =
      java.util.regex.Pattern.compile("tried to allocate (\\d+) bytes");

  /** The commands that run PPO's learner, whose divergence may come from three settings. */
  private static final List<String> PPO_COMMANDS = List.of("ppo", "learner");

  /**
   * What a failure that is the Kafka cluster not answering in time says, on one line (null for any
   * other failure, a weight version the broker refused included): the publish that was never
   * acknowledged when there is one, else the client's own timeout (metadata, a transaction's end).
   */
  static String brokerGaveOut(Throwable e) {
    String publish = null;
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof WeightPublisher.WeightPublishException && publish == null)
        publish = firstLine(t);
      if (t instanceof org.apache.kafka.common.errors.TimeoutException
          || t instanceof java.util.concurrent.TimeoutException)
        return publish != null ? publish : firstLine(t);
    }
    return null;
  }

  private static String firstLine(Throwable t) {
    var message = t.getMessage();
    return message == null
        ? t.getClass().getSimpleName()
        : message.lines().findFirst().orElse("").strip();
  }

  /** The non-finite gradient a failure comes from (null when it does not). */
  private static AdamW.NonFiniteGradientException nonFiniteGradient(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause())
      if (t instanceof AdamW.NonFiniteGradientException nonFinite) return nonFinite;
    return null;
  }

  /** The file access denied to this process that a failure comes from (null when none was). */
  private static AccessDeniedException accessDenied(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause())
      if (t instanceof AccessDeniedException denied && denied.getFile() != null) return denied;
    return null;
  }

  /**
   * What to tell a user the cluster refused (null when it did not): a login (user or password), or
   * an operation the user's ACLs do not allow, as when a process logs in with another role's file.
   */
  static String kafkaRefusal(Throwable e) {
    var t = KafkaRefusal.in(e);
    if (t instanceof SslAuthenticationException) {
      // Kafka's own words are always "SSL handshake failed": the reason is in its causes
      var root = (Throwable) t;
      while (root.getCause() != null) root = root.getCause();
      return "the TLS handshake with the Kafka cluster failed: "
          + t.getMessage()
          + (root != t && root.getMessage() != null ? " (" + root.getMessage() + ")" : "")
          + ": check the trust store, the client's certificate and the broker's host name in"
          + " the --kafka-config file, and that --bootstrap names a TLS listener";
    }
    if (t instanceof AuthenticationException) {
      return "the Kafka cluster refused the login: "
          + t.getMessage()
          + ": check the user and password in the --kafka-config file";
    }
    if (t instanceof AuthorizationException) {
      var what =
          t instanceof TopicAuthorizationException topics && !topics.unauthorizedTopics().isEmpty()
              ? "topics " + String.join(", ", new java.util.TreeSet<>(topics.unauthorizedTopics()))
              : t.getMessage();
      return "the Kafka cluster does not allow this user what this command needs ("
          + what
          + "): log in with the --kafka-config file of a user of this command's role (rlhf broker"
          + " --users grants each role its topics, consumer groups and transactional id; an"
          + " admin creates the loop's topics, as rlhf broker does)";
    }
    return null;
  }

  /** The corrupt checkpoint a failure comes from (null when it does not), found by reading it. */
  private static Checkpoint.CorruptCheckpointException corruptCheckpoint(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause())
      if (t instanceof Checkpoint.CorruptCheckpointException corrupt) return corrupt;
    return null;
  }

  static int onBadParameters(CommandLine.ParameterException e, String[] args) {
    var cli = e.getCommandLine();
    var err = cli.getErr();
    err.println(prefix(cli) + e.getMessage());
    var nested = nestedCommand(e);
    if (nested != null) err.println("Did you mean: " + nested + "?");
    else CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
    err.println(("Try 'rlhf " + qualifiedName(cli)).stripTrailing() + " --help' for usage.");
    return USAGE;
  }

  /**
   * The full name of the command one level down that an unknown command word names ("rlhf tasks
   * sample" for {@code rlhf sample}): spelling suggestions would offer the top level's look-alikes.
   * Null for any other mistake.
   */
  private static String nestedCommand(CommandLine.ParameterException e) {
    if (!(e instanceof CommandLine.UnmatchedArgumentException unmatched)) return null;
    var cli = e.getCommandLine();
    var words = unmatched.getUnmatched();
    if (words.isEmpty() || cli.getParent() != null) return null;
    for (var child : cli.getSubcommands().values()) {
      var grandchild = child.getSubcommands().get(words.get(0));
      if (grandchild != null && !words.get(0).equals("help"))
        return grandchild.getCommandSpec().qualifiedName(" ");
    }
    return null;
  }

  /** A command with subcommands run without one, for {@link #onBadParameters} to report. */
  static CommandLine.ParameterException missingCommand(CommandLine cli) {
    var names = new ArrayList<>(cli.getSubcommands().keySet());
    names.remove("help");
    return new CommandLine.ParameterException(
        cli, "a command is needed, one of: " + String.join(", ", names));
  }

  /** "rlhf tasks sample: " for a subcommand, "rlhf: " at the top. */
  static String prefix(CommandLine cli) {
    return cli.getCommandSpec().qualifiedName(" ") + ": ";
  }

  /**
   * The exception's own message on one line, with its type (a bare NullPointerException has no
   * message).
   */
  private static String summary(Throwable e) {
    var message = e.getMessage();
    var firstLine = message == null ? "" : message.lines().findFirst().orElse("");
    return firstLine.isBlank()
        ? e.getClass().getName()
        : firstLine + " (" + e.getClass().getSimpleName() + ")";
  }

  private static String qualifiedName(CommandLine cli) {
    var name = cli.getCommandSpec().qualifiedName(" ");
    return name.startsWith("rlhf ") ? name.substring(5) : name.equals("rlhf") ? "" : name;
  }
}
