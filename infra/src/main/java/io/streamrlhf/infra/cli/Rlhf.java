package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.exit.ExitHooks;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code rlhf} command line: one subcommand per stage of the pipeline and per tool.
 *
 * <p>Every subcommand is a small class that parses its own flags (picocli) and hands off to the
 * module that owns the work. User mistakes (unknown flags, bad values, missing files) are refused
 * at this boundary with a one-line message and exit code 2; any other failure is ours, exit code 1
 * ({@link UserErrors}).
 */
@Command(
    name = "rlhf",
    mixinStandardHelpOptions = true,
    versionProvider = Rlhf.Version.class,
    description =
        "InstructGPT-style RLHF (SFT -> reward model -> PPO) as a streaming actor-learner loop.",
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {
      "0:done",
      "1:failed: an internal error (a one-line summary, then the stack trace), a run that gave up waiting"
          + " (the message says for what) or one that ran out of memory (one line: what to ask less of, or"
          + " how to give the JVM more)",
      "2:usage mistake: a bad flag, config key or value (a learning rate the run diverges at), a missing, unreadable or non-UTF-8 input file"
          + " (named with its line), a checkpoint, --out or --resume that does not fit, a Kafka login or"
          + " permission the cluster refused, a --bootstrap no Kafka broker answers on within "
          + BrokerCheck.WAIT_SECONDS
          + " s; the one-line message says what to fix",
      "3:grade and tasks calibrate: some input lines were malformed and skipped",
      "4:the machine refused: a full disk or quota, a read-only file system, a device (I/O)"
          + " error; the one-line message names the file or the embedded broker's directory (a"
          + " stage's checkpoint: the one still in force, which --resume continues from)",
      "130/143:stopped by Ctrl-C or SIGTERM (a training command says where --resume continues from)"
    },
    // In pipeline order, then the tools; one per line.
    subcommands = {
      HelpCommand.class,
      DemoCommand.class,
      PretrainCommand.class,
      SftCommand.class,
      RewardCommand.class,
      PpoCommand.class,
      LearnerCommand.class,
      RewardTrainerCommand.class,
      ActorCommand.class,
      LabelersCommand.class,
      GatewayCommand.class,
      EvalCommand.class,
      GenerateCommand.class,
      ExportGpt2Command.class,
      TasksCommand.class,
      GradeCommand.class,
      BrokerCommand.class,
      DashboardCommand.class,
      BenchCommand.class,
      ScaleModelCommand.class,
      RaceCommand.class,
      ChaosCommand.class,
    })
public final class Rlhf implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Without a command there is nothing to do: a usage mistake (exit 2) that names the commands. */
  @Override
  public void run() {
    throw UserErrors.missingCommand(spec.commandLine());
  }

  public static void main(String[] args) {
    // a child of chaos (or race, scale-model) stops with its parent, even one killed by SIGKILL
    ParentWatch.start(args, System.err);
    int code;
    try {
      code = commandLine().execute(args);
    } catch (OutOfMemoryError e) {
      // an Error passes picocli's handler by; a setting asked for more than the JVM holds
      var what = String.valueOf(e.getMessage());
      var more =
          what.toLowerCase(java.util.Locale.ROOT).contains("direct buffer memory")
              ? "-XX:MaxDirectMemorySize=<size> (model weights and activations live there)"
              : what.contains("native thread")
                  ? "fewer threads or a higher ulimit -u"
                  : "-Xmx<size>";
      System.err.println(
          who(args)
              + ": out of memory ("
              + what
              + "): a setting asks for more than this JVM holds (samples, prompts per batch, the"
              + " model's size); ask for less, or give it more with RLHF_JAVA_OPTS="
              + more);
      code = UserErrors.INTERNAL;
    } catch (Error e) {
      // a signal's exit hooks can fail a class still initialising ("Shutdown in progress"): the
      // stop is what happened, and its notice says so
      if (!ExitHooks.exiting()) throw e;
      code = UserErrors.INTERNAL;
    }
    System.exit(code);
  }

  /**
   * The command {@code args} run, as its messages name it ("rlhf tasks calibrate"): for a failure
   * that reaches {@link #main} past the command's own handler.
   */
  static String who(String[] args) {
    var name = new StringBuilder("rlhf");
    var cli = commandLine();
    for (var arg : args) {
      var sub = cli.getSubcommands().get(arg);
      if (sub == null) break;
      name.append(' ').append(arg);
      cli = sub;
    }
    return name.toString();
  }

  /** The configured command line, shared by {@link #main} and the tests. */
  public static CommandLine commandLine() {
    var cli = new CommandLine(new Rlhf());
    cli.setExecutionExceptionHandler(new UserErrors());
    cli.setParameterExceptionHandler(UserErrors::onBadParameters);
    // after the subcommands exist, so that it reaches every one of them
    cli.registerConverter(Path.class, Rlhf::path);
    cli.registerConverter(java.time.Duration.class, Rlhf::duration);
    giveVersion(cli, new Version()); // every -V, not only rlhf's, prints it
    return cli;
  }

  private static void giveVersion(CommandLine cli, CommandLine.IVersionProvider version) {
    for (var sub : cli.getSubcommands().values()) {
      if (sub.getCommandSpec().versionProvider() == null
          && sub.getCommandSpec().version().length == 0)
        sub.getCommandSpec().versionProvider(version);
      giveVersion(sub, version);
    }
  }

  /**
   * A path option's value. An empty one would resolve to the working directory, and an {@code --out
   * ""} would write a checkpoint among whatever files are there.
   */
  static Path path(String text) {
    if (text.isBlank())
      throw new CommandLine.TypeConversionException(
          "an empty path, which would mean the working directory: give one");
    return Path.of(text);
  }

  /** A duration option's value, ISO-8601 as the help says; a miss shows how one is written. */
  static java.time.Duration duration(String text) {
    try {
      return java.time.Duration.parse(text.strip());
    } catch (java.time.format.DateTimeParseException e) {
      throw new CommandLine.TypeConversionException(
          "'"
              + text
              + "' is not an ISO-8601 duration: write e.g. PT5S (5 seconds), PT10M or PT1H30M");
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      var v = Rlhf.class.getPackage().getImplementationVersion();
      return new String[] {"rlhf " + (v == null ? "dev" : v)};
    }
  }
}
