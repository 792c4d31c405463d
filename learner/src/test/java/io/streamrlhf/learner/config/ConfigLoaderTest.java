package io.streamrlhf.learner.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.learner.ppo.Ppo;
import io.streamrlhf.learner.ppo.PpoLearner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir Path dir;

  @Test
  void unknownKeySuggestsTheNearestValidName() {
    assertThatThrownBy(
            () -> ConfigLoader.load(PretrainConfig.defaults(), null, List.of("lerning_rate=1e-3")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "unknown key 'lerning_rate' in --set lerning_rate=1e-3; did you mean 'learning_rate'?");
    // camelCase is one edit per capital away from snake_case: still found
    assertThatThrownBy(
            () -> ConfigLoader.load(PpoConfig.defaults(), null, List.of("clipRatio=0.1")))
        .hasMessageContaining("did you mean 'clip_ratio'?");
    // nothing close: list the keys instead
    assertThatThrownBy(() -> ConfigLoader.load(SftConfig.defaults(), null, List.of("zzz=1")))
        .hasMessageContaining("unknown key 'zzz'")
        .hasMessageContaining("valid keys: seed, steps, demonstrations_per_batch");
  }

  @Test
  void unknownKeyInAFileIsRejectedToo() throws Exception {
    var file = dir.resolve("reward.yaml");
    Files.writeString(file, "responses_per_prompt: 6\nprompts_per_bach: 8\n");
    assertThatThrownBy(() -> ConfigLoader.load(RewardConfig.defaults(), file, List.of()))
        .hasMessage(
            "unknown key 'prompts_per_bach' in " + file + "; did you mean 'prompts_per_batch'?");
  }

  @Test
  void aYamlFileOfTwoDocumentsIsRefusedRatherThanItsSecondIgnored() throws Exception {
    var file = dir.resolve("sft.yaml");
    Files.writeString(file, "steps: 3\n---\nsteps: 5\n");
    assertThatThrownBy(() -> ConfigLoader.load(SftConfig.defaults(), file, List.of()))
        .hasMessage(
            "config file "
                + file
                + " holds more than one YAML document (a --- line): give the settings in one");

    // one document, with its optional start marker, is read as before
    Files.writeString(file, "---\nsteps: 3\n");
    assertThat(ConfigLoader.load(SftConfig.defaults(), file, List.of()).steps()).isEqualTo(3);
  }

  @Test
  void anEmptyFileIsRefusedRatherThanReadAsNoSettings() throws Exception {
    // cut short, it would run every default; a resumed run's empty config.json among them
    var json = Files.writeString(dir.resolve("sft.json"), "");
    assertThatThrownBy(() -> ConfigLoader.load(SftConfig.defaults(), json, List.of()))
        .hasMessage("config file " + json + " is empty: give its settings, or {} for none");
    var yaml = Files.writeString(dir.resolve("sft.yaml"), " \n");
    assertThatThrownBy(() -> ConfigLoader.load(SftConfig.defaults(), yaml, List.of()))
        .hasMessage(
            "config file " + yaml + " is empty: give its settings, or a comment line for none");

    // no settings, said so
    Files.writeString(json, "{}");
    Files.writeString(yaml, "# the defaults\n");
    for (var file : List.of(json, yaml))
      assertThat(ConfigLoader.load(SftConfig.defaults(), file, List.of()))
          .isEqualTo(SftConfig.defaults());
  }

  @Test
  void aYamlIntegerWithALeadingZeroIsRefusedRatherThanReadAsOctal() throws Exception {
    var file = dir.resolve("ppo.yaml");
    // YAML 1.1 reads 030 as 24, while 08 (no octal) would be read as 8
    Files.writeString(file, "seed: 0\nupdates: 030\n");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), file, List.of()))
        .hasMessage(
            "config file "
                + file
                + ", line 2: updates: 030 is octal in YAML (24): write it without the leading zero");

    Files.writeString(file, "seed: 0\nupdates: 30\n");
    assertThat(ConfigLoader.load(PpoConfig.defaults(), file, List.of()).updates()).isEqualTo(30);
  }

  @Test
  void overridesAreParsedByTheTypeOfTheirDefaultAndWinOverTheFile() throws Exception {
    var file = dir.resolve("ppo.yaml");
    Files.writeString(file, "learning_rate: 3e-4\nupdates: 50\nadaptive_kl: false\n");
    var config =
        ConfigLoader.load(
            PpoConfig.defaults(),
            file,
            List.of("updates=7", "clip-ratio=0.1", "init_kl_coef=0.05", "value_warmup_updates=2"));
    assertThat(config.optimizer().learningRate())
        .isEqualTo(3e-4); // from the file, written without a dot
    assertThat(config.updates()).isEqualTo(7); // --set wins over the file
    assertThat(config.clipRatio()).isEqualTo(0.1); // dashes accepted for underscores
    assertThat(config.adaptiveKl()).isFalse();
    assertThat(PpoLearner.klController(config, config.initKlCoef()))
        .isEqualTo(new Ppo.FixedKl(0.05));
    assertThat(config.gaeLambda()).isEqualTo(0.95); // untouched keys keep their defaults

    var pretrain =
        ConfigLoader.load(PretrainConfig.defaults(), null, List.of("shape=small", "seed=9"));
    assertThat(pretrain.shape()).isEqualTo("small");
    assertThat(pretrain.seed()).isEqualTo(9L);
  }

  @Test
  void illTypedOrOutOfRangeValuesFailWithTheKeyNamed() {
    assertThatThrownBy(
            () -> ConfigLoader.load(PpoConfig.defaults(), null, List.of("learning_rate=fast")))
        .hasMessage("invalid value \"fast\" for learning_rate: expected a finite number");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), null, List.of("updates=2.5")))
        .hasMessage("invalid value 2.5 for updates: expected an integer");
    assertThatThrownBy(
            () -> ConfigLoader.load(PpoConfig.defaults(), null, List.of("adaptive_kl=yes")))
        .hasMessage("invalid value \"yes\" for adaptive_kl: expected true or false");
    assertThatThrownBy(
            () ->
                ConfigLoader.load(
                    RewardConfig.defaults(), null, List.of("responses_per_prompt=12")))
        .hasMessage("responses_per_prompt must be in [2, 9] (K), got 12");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), null, List.of("clip_ratio")))
        .hasMessage("--set expects key=value, got 'clip_ratio'");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), null, List.of("reward=human")))
        .hasMessage("reward must be model, oracle or live, got human");
  }

  @Test
  void numbersTooLargeForADoubleAreRejectedNotReadAsInfinity() throws Exception {
    // Jackson reads 1e400 as Infinity, which would train to NaN and save a config no resume reads
    assertThatThrownBy(
            () -> ConfigLoader.load(SftConfig.defaults(), null, List.of("learning_rate=1e400")))
        .hasMessage("invalid value for learning_rate: not a finite number (it reads as Infinity)");
    var json = dir.resolve("sft.json");
    Files.writeString(json, "{\"optimizer\": {\"learning_rate\": 1e400}}");
    assertThatThrownBy(() -> ConfigLoader.load(SftConfig.defaults(), json, List.of()))
        .hasMessageContaining("not a finite number (it reads as");
    var yaml = dir.resolve("sft.yaml");
    Files.writeString(yaml, "learning_rate: -1.0e+400\n");
    assertThatThrownBy(() -> ConfigLoader.load(SftConfig.defaults(), yaml, List.of()))
        .hasMessageContaining("not a finite number (it reads as");
  }

  @Test
  void aMalformedFileIsReportedInOneLineWithWhereItBroke() throws Exception {
    var yaml = dir.resolve("ppo.yaml");
    Files.writeString(yaml, "updates: 5\n  clip_ratio: [0.1\n");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), yaml, List.of()))
        .hasMessageStartingWith("cannot parse config file " + yaml + " at line ")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    var json = dir.resolve("ppo.json");
    Files.writeString(json, "{\"updates\": 5,,}");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), json, List.of()))
        .hasMessageStartingWith("cannot parse config file " + json + " at line 1, column ")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void aKeyWrittenTwiceIsNamedNotSilentlyTheLastOne() throws Exception {
    var yaml = dir.resolve("ppo.yaml");
    Files.writeString(yaml, "updates: 5\nclip_ratio: 0.1\nupdates: 7\n");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), yaml, List.of()))
        .hasMessage(
            "cannot parse config file " + yaml + " at line 3, column 8: Duplicate field 'updates'");
    var json = dir.resolve("ppo.json");
    Files.writeString(json, "{\"optimizer\": {\"learning_rate\": 1e-4, \"learning_rate\": 1e-3}}");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), json, List.of()))
        .hasMessageEndingWith("Duplicate field 'learning_rate'");
    // the same setting by its bare name and by its path
    var both = dir.resolve("both.yaml");
    Files.writeString(both, "learning_rate: 1e-3\noptimizer:\n  learning_rate: 1e-4\n");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), both, List.of()))
        .hasMessage(
            "'learning_rate' and 'optimizer.learning_rate' in "
                + both
                + " both set optimizer.learning_rate: keep one");
    var twice = dir.resolve("twice.json");
    Files.writeString(
        twice, "{\"optimizer.learning_rate\": 1e-3, \"optimizer\": {\"learning_rate\": 1e-4}}");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), twice, List.of()))
        .hasMessage(
            "'optimizer.learning_rate' in "
                + twice
                + " is set twice (nested and dotted): keep one");
  }

  @Test
  void aByteThatIsNotUtf8IsNamedByItsLineAndABomIsDropped() throws Exception {
    // Latin-1's é in a comment on line 3: the YAML parser decodes ahead and put it at line 1
    var yaml = dir.resolve("latin1.yaml");
    Files.write(
        yaml, "updates: 5\nclip_ratio: 0.1\n# caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), yaml, List.of()))
        .hasMessage(
            "config file "
                + yaml
                + " is not UTF-8: byte 0xE9 at line 3, byte 6 of the line; save the file as UTF-8");
    var bom = dir.resolve("bom.yaml");
    Files.write(bom, "\uFEFFupdates: 70\n".getBytes(StandardCharsets.UTF_8));
    assertThat(ConfigLoader.load(PpoConfig.defaults(), bom, List.of()).updates()).isEqualTo(70);
    // the mark is not counted in its line's bytes
    Files.write(
        bom, new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, 'a', ':', ' ', (byte) 0xFF});
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), bom, List.of()))
        .hasMessageContaining("byte 0xFF at line 1, byte 4 of the line");
  }

  /**
   * The adaptive controller multiplies β by 1 + e·n/horizon with e down to −0.2: a horizon of 0.2 n
   * or less takes β to 0 or below in one update (it used to crash there, with a stack trace).
   */
  @Test
  void anAdaptiveKlHorizonOneUpdateCouldOvershootIsRefused() {
    // 64 responses a batch: 12.8 is the least horizon
    assertThatThrownBy(
            () -> ConfigLoader.with(PpoConfig.defaults(), "adaptive_kl=true", "kl_horizon=12"))
        .hasMessage(
            "kl_horizon (12) must exceed 0.2 x the 64 responses of a batch with adaptive_kl, or one"
                + " update of the controller takes the KL coefficient to 0 or below: raise"
                + " kl_horizon above 12");
    assertThat(ConfigLoader.with(PpoConfig.defaults(), "adaptive_kl=true", "kl_horizon=13"))
        .isNotNull();
    // β fixed: the horizon is not used
    assertThat(ConfigLoader.with(PpoConfig.defaults(), "kl_horizon=12")).isNotNull();
  }

  @Test
  void decimalsAsUsersWriteThemAndIntegersPastTheirRangeNameTheKey() {
    assertThat(
            ConfigLoader.with(PretrainConfig.defaults(), "learning_rate=.001")
                .optimizer()
                .learningRate())
        .isEqualTo(0.001);
    assertThat(
            ConfigLoader.with(PretrainConfig.defaults(), "learning_rate=1.")
                .optimizer()
                .learningRate())
        .isEqualTo(1.0);
    assertThatThrownBy(() -> ConfigLoader.with(PretrainConfig.defaults(), "steps=99999999999"))
        .hasMessage(
            "invalid value 99999999999 for steps: out of range (-2147483648 to 2147483647)");
    assertThatThrownBy(
            () -> ConfigLoader.with(PretrainConfig.defaults(), "seed=9999999999999999999999"))
        .hasMessageContaining(
            "for seed: out of range (" + Long.MIN_VALUE + " to " + Long.MAX_VALUE + ")");
    assertThatThrownBy(() -> ConfigLoader.with(PretrainConfig.defaults(), "learning_rate=."))
        .hasMessageContaining("expected a finite number");
  }

  /** A bad value in a run's own config.json was refused without naming the file it is in. */
  @Test
  void aBadValueInTheSavedSettingsNamesTheirFile() throws Exception {
    var saved = dir.resolve("config.json");
    Files.writeString(saved, "{\"steps\": -5}");
    assertThatThrownBy(
            () -> ConfigLoader.load(PretrainConfig.defaults(), saved, null, null, List.of()))
        .hasMessage("in " + saved + ", the run's saved settings: steps must be > 0, got -5");
    // the command line's own mistake is its own
    Files.writeString(saved, "{\"steps\": 5}");
    assertThatThrownBy(
            () ->
                ConfigLoader.load(
                    PretrainConfig.defaults(), saved, null, null, List.of("steps=-1")))
        .hasMessage("steps must be > 0, got -1");
  }

  @Test
  void aWarmUpAsLongAsTheRunIsSaidAtStart() {
    var shortRun = ConfigLoader.with(PretrainConfig.defaults(), "steps=3", "warmup_steps=1000");
    assertThat(ConfigLoader.describe(shortRun).lines().toList())
        .contains(
            "pretrain note: warmup_steps 1000 is not less than the run's 3 steps: the learning"
                + " rate stays below learning_rate 0.003");
    var exact = ConfigLoader.with(PretrainConfig.defaults(), "steps=1", "warmup_steps=1");
    assertThat(ConfigLoader.describe(exact).lines().toList())
        .contains(
            "pretrain note: warmup_steps 1 is not less than the run's 1 step: the learning rate"
                + " reaches learning_rate 0.003 only at the last step");
    assertThat(ConfigLoader.describe(PretrainConfig.defaults())).doesNotContain("note:");
    // a stage that runs until stopped has no length to compare with
    assertThat(ConfigLoader.describe(OnlineRewardConfig.defaults())).doesNotContain("note:");
  }

  /** Ten thousand prompt partitions failed a minute into the run, at the broker. */
  @Test
  void promptPartitionsAreBoundedBeforeTheBrokerIsAsked() {
    assertThatThrownBy(() -> ConfigLoader.with(PpoConfig.defaults(), "prompt_partitions=10000"))
        .hasMessageContaining("prompt_partitions must be in [1, 1024], got 10000");
    assertThat(ConfigLoader.with(PpoConfig.defaults(), "prompt_partitions=1024")).isNotNull();
  }

  /**
   * Prompts whose sum overflowed an int sampled nothing and blamed the samples ("every prompt's K
   * SFT samples are identical"); a batch larger than the data printed sizes it never had.
   */
  @Test
  void theRewardStagesPromptsAreBoundedAndItsSizesTrue() {
    assertThatThrownBy(
            () ->
                ConfigLoader.with(
                    RewardConfig.defaults(), "training_prompts=8", "held_out_prompts=2147483647"))
        .hasMessage(
            "training_prompts (8) + held_out_prompts (2147483647) must be at most 10000000: the"
                + " stage holds every prompt's samples in memory");
    var small =
        ConfigLoader.with(RewardConfig.defaults(), "training_prompts=8", "prompts_per_batch=100");
    assertThat(small.derivedSizes())
        .containsEntry("responses_per_batch", 32L)
        .containsEntry("pairs_per_batch", 48L)
        .containsEntry("steps", 1L);
  }

  /** A replay ratio whose batch overflowed an int crashed the trainer at its first step. */
  @Test
  void aStepOfTheRewardTrainerHasABoundedBatch() {
    for (var ratio : List.of("1e300", "3e8")) {
      assertThatThrownBy(
              () -> ConfigLoader.with(OnlineRewardConfig.defaults(), "replay_ratio=" + ratio))
          .hasMessageStartingWith(
              "comparisons_per_step (8) x catch_up_factor (4) x (1 + replay_ratio (")
          .hasMessageEndingWith("makes a step of more than 65536 comparisons: lower one of them");
    }
    assertThat(ConfigLoader.with(OnlineRewardConfig.defaults(), "replay_ratio=100")).isNotNull();
  }

  @Test
  void discountingIsRejectedWithTheReferenceShapingWhichIsPotentialBasedOnlyAtGammaOne() {
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), null, List.of("gamma=0.99")))
        .hasMessageContaining("reference_shaping is potential-based")
        .hasMessageContaining("gamma 0.99");
    var discounted =
        ConfigLoader.load(PpoConfig.defaults(), null, List.of("gamma=0.99", "reference_shaping=0"));
    assertThat(discounted.gamma()).isEqualTo(0.99);
  }

  @Test
  void effectiveConfigRoundTripsThroughJson() throws Exception {
    for (StageConfig defaults :
        List.of(
            PretrainConfig.defaults(),
            SftConfig.defaults(),
            RewardConfig.defaults(),
            PpoConfig.defaults(),
            OnlineRewardConfig.defaults())) {
      var config = ConfigLoader.load(defaults, null, List.of("seed=123"));
      var stageDir = dir.resolve(config.stageName());
      ConfigLoader.save(config, stageDir);
      var json = Files.readString(stageDir.resolve(ConfigLoader.FILE_NAME));
      assertThat(json)
          .contains("\"seed\" : 123")
          .contains("\"learning_rate\"")
          .doesNotContain("learningRate");
      // loading the saved file on top of the defaults gives the same record back (this is --resume)
      var reloaded =
          ConfigLoader.load(defaults, stageDir.resolve(ConfigLoader.FILE_NAME), List.of());
      assertThat(reloaded).isEqualTo(config);
      assertThat(ConfigLoader.toJson(reloaded)).isEqualTo(json);
    }
  }

  @Test
  void describePrintsDerivedSizesAndTheFullConfig() {
    // K = 4: C(4,2) = 6 pairs per prompt; 16 prompts per batch → 64 responses, 96 pairs
    var reward = RewardConfig.defaults();
    var text = ConfigLoader.describe(reward);
    assertThat(text)
        .contains("pairs_per_prompt=6")
        .contains("responses_per_batch=64")
        .contains("pairs_per_batch=96")
        .contains("\"responses_per_prompt\" : 4");
    // 1000 prompts / 16 per batch = 62.5, so 63 steps per epoch (the last batch is partial)
    var thousand =
        ConfigLoader.load(reward, null, java.util.List.of("training_prompts=1000", "epochs=1"));
    assertThat(thousand.totalSteps()).isEqualTo(63);
    // a resume checks its checkpoint's step against this: two epochs end at step 126
    var twice =
        ConfigLoader.load(reward, null, java.util.List.of("training_prompts=1000", "epochs=2"));
    assertThat(twice.length()).contains(new StageConfig.Length("epochs", 2, 126));
  }

  @Test
  void presetsSitBetweenTheDefaultsAndTheFileAndEveryPresetLoadsForEveryStage() throws Exception {
    for (var preset : Presets.NAMES) {
      for (StageConfig defaults :
          List.of(
              PretrainConfig.defaults(),
              SftConfig.defaults(),
              RewardConfig.defaults(),
              PpoConfig.defaults(),
              OnlineRewardConfig.defaults())) {
        assertThat(ConfigLoader.load(defaults, preset, null, List.of())).isNotNull();
      }
    }
    assertThat(ConfigLoader.load(SftConfig.defaults(), "tiny", null, List.of()))
        .isEqualTo(SftConfig.defaults());
    var full = ConfigLoader.load(SftConfig.defaults(), "full", null, List.of());
    assertThat(full.steps()).isEqualTo(1500);
    assertThat(full.demonstrations()).isEqualTo(6000);
    assertThat(ConfigLoader.load(PretrainConfig.defaults(), "full", null, List.of()).shape())
        .isEqualTo("small");
    // the full preset keeps the schedule it was measured with when the tiny defaults move
    var fullPpo = ConfigLoader.load(PpoConfig.defaults(), "full", null, List.of());
    assertThat(List.of(fullPpo.updates(), fullPpo.epochsPerBatch(), fullPpo.evalEveryUpdates()))
        .containsExactly(600, 1, 20);
    assertThat(ConfigLoader.load(RewardConfig.defaults(), "full", null, List.of()).epochs())
        .isEqualTo(1);
    var file = dir.resolve("sft.yaml");
    Files.writeString(file, "steps: 20\n");
    var layered =
        ConfigLoader.load(SftConfig.defaults(), "full", file, List.of("demonstrations=640"));
    assertThat(layered.steps()).isEqualTo(20); // the file wins over the preset
    assertThat(layered.demonstrations()).isEqualTo(640); // --set wins over both
    assertThatThrownBy(() -> ConfigLoader.load(SftConfig.defaults(), "huge", null, List.of()))
        .hasMessage("unknown preset 'huge'; the presets are tiny, full");
  }

  /**
   * Over a run's own settings a preset stands for all it governs: --preset tiny on a full run's
   * config.json gives the tiny values (it used to change nothing, tiny being the defaults), while
   * what no preset sets keeps the run's own value.
   */
  @Test
  void onAResumeAPresetSetsEverySettingAnyPresetGovernsAndNoOther() throws Exception {
    var saved = dir.resolve("config.json");
    var fullRun =
        ConfigLoader.with(
            ConfigLoader.load(PretrainConfig.defaults(), "full", null, List.of()), "seed=7");
    ConfigLoader.save(fullRun, dir);

    var tiny = ConfigLoader.load(PretrainConfig.defaults(), saved, "tiny", null, List.of());
    assertThat(tiny.shape()).isEqualTo(PretrainConfig.defaults().shape());
    assertThat(tiny.steps()).isEqualTo(PretrainConfig.defaults().steps());
    assertThat(tiny.seed()).isEqualTo(7L);

    var again = ConfigLoader.load(PretrainConfig.defaults(), saved, "full", null, List.of());
    assertThat(again).isEqualTo(fullRun);
    var set = ConfigLoader.load(PretrainConfig.defaults(), saved, "tiny", null, List.of("steps=9"));
    assertThat(set.steps()).isEqualTo(9); // --set wins over the preset, on a resume too
    assertThat(ConfigLoader.load(PretrainConfig.defaults(), saved, null, null, List.of()))
        .isEqualTo(fullRun);
  }

  @Test
  void nestedSettingsAreNamedByPathOrByTheirOwnNameAndFilesMayNestThem() throws Exception {
    var byPath = ConfigLoader.with(PpoConfig.defaults(), "optimizer.learning_rate=2e-4");
    var byName = ConfigLoader.with(PpoConfig.defaults(), "learning_rate=2e-4");
    assertThat(byPath).isEqualTo(byName);
    assertThat(byPath.optimizer().learningRate()).isEqualTo(2e-4);
    var file = dir.resolve("ppo.yaml");
    Files.writeString(file, "optimizer:\n  warmup_steps: 3\n  adam_beta2: 0.99\n");
    var nested = ConfigLoader.load(PpoConfig.defaults(), file, List.of());
    assertThat(nested.optimizer().warmupSteps()).isEqualTo(3);
    assertThat(nested.optimizer().adamBeta2()).isEqualTo(0.99);
    assertThat(nested.optimizer().learningRate())
        .isEqualTo(PpoConfig.defaults().optimizer().learningRate());
    Files.writeString(file, "optimizer:\n  lerning_rate: 3\n");
    assertThatThrownBy(() -> ConfigLoader.load(PpoConfig.defaults(), file, List.of()))
        .hasMessageContaining("unknown key 'optimizer.lerning_rate'");
  }
}
