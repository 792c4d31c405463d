package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.config.PretrainConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A --set against a flag of the same command: refused where they disagree, and only there. */
class ConfigOptionsTest {
  private static ConfigOptions setting(String... sets) {
    var options = new ConfigOptions();
    options.overrides.addAll(List.of(sets));
    return options;
  }

  private static List<ConfigOptions.FlagSetting> flag(String flag, String setting) {
    return List.of(new ConfigOptions.FlagSetting(flag, setting));
  }

  @Test
  void aSetThatDisagreesWithAFlagIsRefused() {
    assertThatThrownBy(
            () ->
                setting("reward=model")
                    .load(PpoConfig.defaults(), null, flag("--reward", "reward=oracle")))
        .isInstanceOf(UserError.class)
        .hasMessage(
            "--set reward=model asks for another reward than --reward, which sets reward=oracle: give"
                + " one of them");
    assertThatThrownBy(
            () ->
                setting("optimizer.learning-rate=1e-3")
                    .load(PpoConfig.defaults(), null, flag("--lr", "learning_rate=2e-3")))
        .isInstanceOf(UserError.class);
  }

  @Test
  void aBadValueIsNamedAsSuchBeforeItIsComparedWithAFlag() {
    assertThatThrownBy(
            () ->
                setting("max_lag=abc")
                    .load(PpoConfig.defaults(), null, flag("--sync", "max_lag=0")))
        .isInstanceOf(UserError.class)
        .hasMessageContaining("max_lag")
        .hasMessageContaining("abc")
        .hasMessageNotContaining("asks for another");
  }

  @Test
  void theSameValueWrittenAnotherWayIsNoConflict() {
    var absolute = Path.of("corpus.txt").toAbsolutePath().normalize();
    assertThat(
            setting("corpus=corpus.txt")
                .load(PretrainConfig.defaults(), null, flag("--corpus", "corpus=" + absolute))
                .corpus())
        .isEqualTo(absolute.toString());
    // another dotted key is not this setting: the loader names it as unknown
    assertThatThrownBy(
            () ->
                setting("ppo.reward=model")
                    .load(PpoConfig.defaults(), null, flag("--reward", "reward=oracle")))
        .hasMessageContaining("unknown key 'ppo.reward'");
  }
}
