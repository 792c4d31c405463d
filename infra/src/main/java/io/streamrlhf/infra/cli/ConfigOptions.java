package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.StageConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code --preset}, {@code --config} and {@code --set} (a picocli mixin): the settings {@link
 * ConfigLoader} layers over a stage's defaults. The one place the command line loads a config, so
 * the one place where ConfigLoader's one-line {@link IllegalArgumentException} (a bad key, value or
 * file, named in its message) becomes the user's mistake, a {@link UserError}.
 */
final class ConfigOptions {
  @Option(
      names = "--preset",
      paramLabel = "NAME",
      description =
          "Named settings for every stage, from the project's presets: tiny (the defaults, the demo's)"
              + " or full (the small model, longer schedules); --config and --set win over it. On a"
              + " --resume it sets all that any preset sets (tiny: back to the defaults).")
  String preset;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description =
          "Settings file (JSON, or YAML for .yaml/.yml) of key: value pairs; see the defaults printed at start.")
  Path file;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description =
          "Override one setting (repeatable; wins over --config), e.g. --set learning_rate=3e-3.")
  List<String> overrides = new ArrayList<>();

  /**
   * A setting another flag of the command stands for, as {@code key=value}: --sync for max_lag=0.
   */
  record FlagSetting(String flag, String setting) {
    FlagSetting {
      if (setting.indexOf('=') <= 0)
        throw new IllegalArgumentException("a flag's setting is key=value, got " + setting);
    }
  }

  /**
   * The effective config: {@code defaults}, then {@code savedFile} (a resumed run's config.json;
   * null for a fresh run), then --preset, then --config, then --set, then {@code flagOverrides}
   * (what other flags stand for).
   */
  <T extends StageConfig> T load(T defaults, Path savedFile, List<FlagSetting> flagOverrides) {
    var all = new ArrayList<>(overrides);
    flagOverrides.forEach(f -> all.add(f.setting()));
    T config;
    try {
      config = ConfigLoader.load(defaults, savedFile, preset, file, all);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage(), e); // a bad key or value first, as the loader names it
    }
    requireNoConflict(flagOverrides);
    return config;
  }

  /**
   * A flag and a --set that name one setting with two values: the flag would win unseen (as it does
   * over a --config file, which it is meant to override).
   */
  private void requireNoConflict(List<FlagSetting> flagOverrides) {
    for (var flag : flagOverrides) {
      var setting = flag.setting();
      int fe = setting.indexOf('=');
      var key = settingOf(setting.substring(0, fe));
      var value = setting.substring(fe + 1).strip();
      for (var set : overrides) {
        int eq = set.indexOf('=');
        if (eq <= 0 || !settingOf(set.substring(0, eq)).equals(key)) continue;
        var given = set.substring(eq + 1).strip();
        if (given.equals(value) || sameNumber(given, value) || samePath(given, value)) continue;
        throw new UserError(
            "--set "
                + set
                + " asks for another "
                + key
                + " than "
                + flag.flag()
                + ", which sets "
                + setting
                + ": give one of them");
      }
    }
  }

  /** The keys given with --set that are not among {@code used}, in the order given, once each. */
  List<String> setKeysOutside(java.util.Set<String> used) {
    var outside = new java.util.LinkedHashSet<String>();
    for (var set : overrides) {
      int eq = set.indexOf('=');
      if (eq <= 0) continue; // the loader has refused it already
      var key = settingOf(set.substring(0, eq));
      if (!used.contains(key)) outside.add(key);
    }
    return List.copyOf(outside);
  }

  /**
   * The setting a --set key names, however written: max-lag, max_lag; optimizer.x is x (another
   * dotted key is the loader's to refuse).
   */
  private static String settingOf(String key) {
    var name = key.strip().replace('-', '_');
    return name.startsWith("optimizer.") ? name.substring("optimizer.".length()) : name;
  }

  /** A flag gives a file as an absolute path: the same file written relative is no conflict. */
  private static boolean samePath(String given, String value) {
    try {
      return Path.of(given).toAbsolutePath().normalize().toString().equals(value);
    } catch (java.nio.file.InvalidPathException notAPath) {
      return false;
    }
  }

  private static boolean sameNumber(String a, String b) {
    try {
      return Double.parseDouble(a) == Double.parseDouble(b);
    } catch (NumberFormatException notNumbers) {
      return false;
    }
  }
}
