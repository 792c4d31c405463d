package io.streamrlhf.learner.ppo;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.Completion;
import io.streamrlhf.tasks.SplitMix64;
import io.streamrlhf.tasks.TrainingPrompts;
import java.util.ArrayList;

/**
 * The in-process rollout source: a {@link RolloutSampler} that shares the learner's policy, so
 * every rollout is on-policy (behaviour = proximal). Its position is the prompts drawn and the
 * sampling stream, so a resumed run samples exactly what an uninterrupted one would.
 */
public final class SampledRollouts implements RolloutSource {
  private final PpoConfig config;
  private final RolloutSampler sampler;
  private final TrainingPrompts prompts;
  private SplitMix64 rng;
  private long promptsDrawn;

  public SampledRollouts(PpoConfig config, PpoLoop.Models models) {
    if (models.reward() == null) {
      throw new InputError(
          "--reward live scores with the versions a reward trainer publishes on Kafka: run ppo"
              + " through Kafka (without --inproc)");
    }
    this.config = config;
    this.sampler =
        new RolloutSampler(
            models.policy(),
            models.reference(),
            models.reward(),
            Completion.MAX_NEW_TOKENS,
            config.samplingTemperature());
    this.prompts = new TrainingPrompts(config.seed());
    this.rng = new SplitMix64(config.seed());
  }

  @Override
  public String name() {
    return "ppo";
  }

  @Override
  public String open(Checkpoint.Saved<TrainState> saved) {
    if (saved == null) return "sampling in process from training prompt 0";
    rng = SplitMix64.restore(saved.state().rng());
    promptsDrawn = saved.state().dataPosition();
    for (long i = 0; i < promptsDrawn; i++)
      prompts.next(); // the prompt stream is a function of its seed
    return "sampling in process from training prompt " + promptsDrawn;
  }

  @Override
  public RolloutBatch next(long version) {
    var batchPrompts = new ArrayList<int[]>(config.promptsPerBatch());
    for (int i = 0; i < config.promptsPerBatch(); i++)
      batchPrompts.add(ByteTokenizer.encode(prompts.next().prompt()));
    promptsDrawn += config.promptsPerBatch();
    return sampler.sample(batchPrompts, config.responsesPerPrompt(), rng.nextLong(), version);
  }

  @Override
  public Position position() {
    return new Position(promptsDrawn, rng.state(), null);
  }
}
