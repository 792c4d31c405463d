package io.streamrlhf.learner.ppo;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.reward.Moments;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Generator;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardFunction;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.RewardStats;
import io.streamrlhf.tasks.Completion;
import io.streamrlhf.tasks.TrainingPrompts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;

/**
 * Where PPO's reward comes from (config key {@code reward}): the reward model in {@code --rm}
 * (InstructGPT), the oracle itself (the gold reward), or the versions a reward trainer publishes
 * while PPO runs (live). Either is normalised by its mean and standard deviation on SFT samples, so
 * β and the learning rate mean the same with both.
 */
public sealed interface RewardSource {
  /**
   * The reward function an actor or the in-process sampler scores with, the caller's frozen SFT
   * {@code reference} serving a reward model's likelihood term; the caller closes it.
   */
  RewardFunction load(Gpt reference) throws IOException;

  /** {@link #load} where no IOException can be declared (an actor loads on its worker thread). */
  default RewardFunction loadUnchecked(Gpt reference) {
    try {
      return load(reference);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load " + describe(), e);
    }
  }

  /** Mean and standard deviation of the raw reward on SFT samples. */
  Normalisation normalisation(Gpt sft) throws IOException;

  /** A short description for the log. */
  String describe();

  /**
   * (raw − mean) / std is the reward PPO sees; {@code likelihoodWeight} is w of a reward model's
   * likelihood term head + w·log π_SFT(y|x) (0 for the head alone and for the oracle), which the
   * reference shaping pays token by token.
   */
  record Normalisation(double mean, double std, double likelihoodWeight) {}

  /**
   * The source the config names; {@code rmDir} is needed for (and only read by) the reward model.
   */
  static RewardSource of(String reward, Path rmDir) {
    return switch (reward) {
      case PpoConfig.REWARD_MODEL -> {
        if (rmDir == null) {
          throw new IllegalArgumentException(
              "PPO against the reward model needs --rm DIR (or --reward oracle)");
        }
        yield new ModelReward(rmDir);
      }
      case PpoConfig.REWARD_ORACLE -> new GoldReward();
      case PpoConfig.REWARD_LIVE -> new LiveReward();
      default ->
          throw new IllegalArgumentException(
              "reward must be model, oracle or live, got '" + reward + "'");
    };
  }

  /** The reward model of a reward-stage checkpoint, normalised by the statistics stored with it. */
  record ModelReward(Path dir) implements RewardSource {
    @Override
    public RewardFunction load(Gpt reference) throws IOException {
      return Checkpoint.loadRewardModel(dir, reference);
    }

    @Override
    public Normalisation normalisation(Gpt sft) throws IOException {
      var stats = RewardStats.read(dir);
      return new Normalisation(stats.scoreMean(), stats.scoreStd(), stats.likelihoodWeight());
    }

    @Override
    public String describe() {
      return "the reward model in " + dir;
    }
  }

  /**
   * The oracle, normalised by its scores of SFT samples of {@value #NORMALISATION_PROMPTS} training
   * prompts drawn from a stream of their own.
   */
  record GoldReward() implements RewardSource {
    static final int NORMALISATION_PROMPTS = 256;

    @Override
    public RewardFunction load(Gpt reference) {
      return new OracleReward();
    }

    @Override
    public Normalisation normalisation(Gpt sft) {
      var prompts = new TrainingPrompts(0x901dL); // a seed of its own: not the run's PPO prompts
      var tasks = new ArrayList<io.streamrlhf.tasks.Task>();
      var tokens = new ArrayList<int[]>();
      for (int i = 0; i < NORMALISATION_PROMPTS; i++) {
        tasks.add(prompts.next());
        tokens.add(ByteTokenizer.encode(tasks.get(i).prompt()));
      }
      var completions =
          Gpt.withoutGradient(
              () ->
                  new Generator(sft)
                      .generate(
                          tokens,
                          new Generator.Sampling(Completion.MAX_NEW_TOKENS, 1f, 0, 0x901dL)));
      var scores = new ArrayList<Double>(tasks.size());
      for (int i = 0; i < tasks.size(); i++) {
        var c = completions.get(i);
        scores.add(
            OracleReward.score(
                tasks.get(i).prompt(), ByteTokenizer.decode(c.tokens()), c.terminated()));
      }
      var moments =
          Moments.of(scores); // as the reward stage measures its reward model's statistics
      return new Normalisation(moments.mean(), moments.std(), 0);
    }

    @Override
    public String describe() {
      return "the oracle (gold reward)";
    }
  }

  /**
   * The reward model the online reward trainer keeps publishing on {@code rlhf.reward-weights}:
   * actors score with its newest version and send that version's statistics with every rollout, so
   * the learner loads no reward model and has no statistics of its own.
   */
  record LiveReward() implements RewardSource {
    /** None in the learner: only actors score, with the versions they receive. */
    @Override
    public RewardFunction load(Gpt reference) {
      return null;
    }

    /** A placeholder (mean 0, std 1, w 0): every live rollout carries its own. */
    @Override
    public Normalisation normalisation(Gpt sft) {
      return new Normalisation(0, 1, 0);
    }

    @Override
    public String describe() {
      return "the live reward model on rlhf.reward-weights (each rollout carries its version's"
          + " statistics; the figures below are placeholders)";
    }
  }
}
