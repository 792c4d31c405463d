package io.streamrlhf.learner.config;

import static io.streamrlhf.learner.config.StageConfig.require;

import io.streamrlhf.tasks.EvalSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * PPO against the reward model (InstructGPT §3.5; the math is in {@code learner.ppo.Ppo}).
 *
 * @param updates PPO iterations: sample a batch, then {@code epochsPerBatch} passes over it
 * @param tokensPerMinibatch real (prompt + response) tokens per minibatch; whole responses are
 *     packed until the budget is reached
 * @param clipRatio ε of the clipped surrogate (Schulman et al. 2017: 0.2)
 * @param valueClipRange how far a value prediction may move from its rollout value per batch
 * @param valueLossCoef c_V: the value head shares the policy's trunk, so trl's 0.1 rather than
 *     CleanRL's 0.5 keeps value regression from dominating the policy gradient
 * @param valueHeadLearningRate AdamW's step size for the value head alone (constant): the head is a
 *     zeroed linear read-out that must fit returns far faster than the trunk may move
 * @param valueWarmupUpdates the first updates train the value head only (the policy stays SFT), so
 *     the first policy steps already have a baseline
 * @param referenceShaping how much of the reward model's likelihood term w·log π_SFT(y|x) is paid
 *     token by token (Ppo#shapedTokenRewards): each token earns this times w per nat of its SFT
 *     log-likelihood (in normalised units) and the last token gives the sum back, so returns are
 *     unchanged; 0, a head-only reward model or the oracle put the whole score on the last token
 * @param initKlCoef β, fixed unless adaptive_kl (InstructGPT: 0.02, fixed)
 * @param targetKl KL(π‖π_SFT) per response, in nats, the adaptive controller steers to
 * @param klHorizon Ziegler's horizon in responses; 10,000 there, scaled down to this world's runs
 *     of a few thousand responses so the controller can act within a run
 * @param ptxCoef γ_ptx of PPO-ptx; 0 turns it off
 * @param importanceWeightCap c̄ of the decoupled-PPO behaviour weight (≥ 1, see Ppo)
 * @param logEveryUpdates period of the progress line, in updates (the last update prints too); the
 *     learner's "checkpoint vN written" and "published policy vN" lines follow it, and the actors
 *     it runs in process say "policy vN applied" for every N-th version
 * @param evalEveryUpdates period of the gold-vs-proxy evaluation, in updates
 * @param evalPrompts size of the fixed held-out subset it scores
 * @param checkpointEveryUpdates checkpoint period of the in-process loop; the streaming learner
 *     checkpoints after every update whatever this says, because it publishes only weights a
 *     checkpoint holds (exactly-once across restarts), and says so at start
 * @param maxLag the streaming loop's staleness bound: a rollout sampled by policy version v is used
 *     by the learner at version u only if u − v ≤ max_lag (older ones are dropped and counted), and
 *     prompts of batch b ask actors for a policy of at least b − max_lag; 0 is on-policy (actors
 *     wait for every new version)
 * @param promptPartitions how many partitions {@code rlhf.prompts} gets when the learner creates
 *     it: the most actors that can sample at once (a topic that exists keeps its own)
 * @param reward what the actors score with: {@code model}, the reward model (InstructGPT), {@code
 *     oracle}, the gold reward, or {@code live}, the versions an online reward trainer publishes
 *     while PPO runs (RewardSource)
 */
public record PpoConfig(
    long seed,
    int updates,
    int promptsPerBatch,
    int responsesPerPrompt,
    int epochsPerBatch,
    int tokensPerMinibatch,
    double samplingTemperature,
    OptimizerConfig optimizer,
    double clipRatio,
    double valueClipRange,
    double valueLossCoef,
    double valueHeadLearningRate,
    int valueWarmupUpdates,
    double entropyCoef,
    double gamma,
    double gaeLambda,
    double referenceShaping,
    double initKlCoef,
    boolean adaptiveKl,
    double targetKl,
    long klHorizon,
    double ptxCoef,
    int ptxTokensPerMinibatch,
    double importanceWeightCap,
    int evalEveryUpdates,
    int evalPrompts,
    int logEveryUpdates,
    int checkpointEveryUpdates,
    int maxLag,
    int promptPartitions,
    String reward)
    implements StageConfig {

  public PpoConfig {
    require(updates > 0, "updates", "> 0", updates);
    require(promptsPerBatch > 0, "prompts_per_batch", "> 0", promptsPerBatch);
    require(responsesPerPrompt > 0, "responses_per_prompt", "> 0", responsesPerPrompt);
    require(epochsPerBatch > 0, "epochs_per_batch", "> 0", epochsPerBatch);
    require(tokensPerMinibatch > 0, "tokens_per_minibatch", "> 0", tokensPerMinibatch);
    require(samplingTemperature > 0, "sampling_temperature", "> 0", samplingTemperature);
    require(optimizer != null, "optimizer", "given", optimizer);
    require(clipRatio > 0 && clipRatio < 1, "clip_ratio", "in (0, 1)", clipRatio);
    require(valueClipRange > 0, "value_clip_range", "> 0", valueClipRange);
    require(valueLossCoef >= 0, "value_loss_coef", ">= 0", valueLossCoef);
    require(valueHeadLearningRate >= 0, "value_head_learning_rate", ">= 0", valueHeadLearningRate);
    require(valueWarmupUpdates >= 0, "value_warmup_updates", ">= 0", valueWarmupUpdates);
    if (valueWarmupUpdates >= updates) {
      throw new IllegalArgumentException(
          "value_warmup_updates ("
              + valueWarmupUpdates
              + ") must be less than updates ("
              + updates
              + "), or the policy never trains: set value_warmup_updates=0 for a short run");
    }
    require(entropyCoef >= 0, "entropy_coef", ">= 0", entropyCoef);
    require(gamma > 0 && gamma <= 1, "gamma", "in (0, 1]", gamma);
    require(gaeLambda >= 0 && gaeLambda <= 1, "gae_lambda", "in [0, 1]", gaeLambda);
    require(referenceShaping >= 0, "reference_shaping", ">= 0", referenceShaping);
    require(initKlCoef >= 0, "init_kl_coef", ">= 0", initKlCoef);
    require(targetKl > 0, "target_kl", "> 0", targetKl);
    require(klHorizon > 0, "kl_horizon", "> 0", klHorizon);
    long responsesPerBatch = (long) promptsPerBatch * responsesPerPrompt;
    if (adaptiveKl && 0.2 * responsesPerBatch >= klHorizon) {
      // β ← β·(1 + e·n/horizon), e down to −0.2: at n/horizon ≥ 5 one update ends at β ≤ 0
      throw new IllegalArgumentException(
          "kl_horizon ("
              + klHorizon
              + ") must exceed 0.2 x the "
              + responsesPerBatch
              + " responses of a batch with adaptive_kl, or one update of the controller takes"
              + " the KL coefficient to 0 or below: raise kl_horizon above "
              + (long) Math.floor(0.2 * responsesPerBatch));
    }
    require(ptxCoef >= 0, "ptx_coef", ">= 0", ptxCoef);
    require(ptxTokensPerMinibatch > 0, "ptx_tokens_per_minibatch", "> 0", ptxTokensPerMinibatch);
    require(
        importanceWeightCap >= 1,
        "importance_weight_cap",
        ">= 1 (on-policy tokens keep weight 1)",
        importanceWeightCap);
    require(evalEveryUpdates > 0, "eval_every_updates", "> 0", evalEveryUpdates);
    require(
        evalPrompts > 0 && evalPrompts <= EvalSet.SIZE,
        "eval_prompts",
        "between 1 and the " + EvalSet.SIZE + " held-out prompts",
        evalPrompts);
    require(logEveryUpdates > 0, "log_every_updates", "> 0", logEveryUpdates);
    require(checkpointEveryUpdates > 0, "checkpoint_every_updates", "> 0", checkpointEveryUpdates);
    require(maxLag >= 0, "max_lag", ">= 0", maxLag);
    // a partition per actor that may get prompts; Kafka refuses a topic of ten thousand at once
    require(
        promptPartitions >= 1 && promptPartitions <= MAX_PROMPT_PARTITIONS,
        "prompt_partitions",
        "in [1, " + MAX_PROMPT_PARTITIONS + "]",
        promptPartitions);
    require(
        REWARD_MODEL.equals(reward) || REWARD_ORACLE.equals(reward) || REWARD_LIVE.equals(reward),
        "reward",
        "model, oracle or live",
        reward);
    if (gamma < 1 && referenceShaping > 0) {
      throw new IllegalArgumentException(
          "reference_shaping is potential-based (it keeps every return) only at"
              + " gamma = 1: set gamma=1 or reference_shaping=0, got gamma "
              + gamma);
    }
  }

  /** Partitions of the prompt topic at most: Kafka refuses a topic of ten thousand at once. */
  public static final int MAX_PROMPT_PARTITIONS = 1024;

  /** The values of {@code reward}. */
  public static final String REWARD_MODEL = "model";

  public static final String REWARD_ORACLE = "oracle";
  public static final String REWARD_LIVE = "live";

  public static PpoConfig defaults() {
    return new PpoConfig(
        4, // seed
        // fresh rollouts beat more passes over old ones: at equal learner work 800 updates of 1
        // epoch won 0.589-0.596 against SFT, 400 of 2 0.582-0.585, 200 of 4 0.527-0.548
        // (docs/EXPERIMENTS.md)
        800, // updates: the first value_warmup_updates train the critic alone
        // one sequence-level score per response is a noisy signal per token: 64 responses a batch
        64, // prompts_per_batch
        1, // responses_per_prompt
        1, // epochs_per_batch
        512, // tokens_per_minibatch: 64 responses of about 24 tokens make 3 minibatches
        1.0, // sampling_temperature
        // Adam moves every weight by about its step size whatever the gradient's signal-to-noise,
        // so the rate bounds how far noise alone carries the policy from SFT in a run
        OptimizerConfig.of(5e-5, 5e-5, 10, 0.0), // optimizer: constant after warm-up
        0.2, // clip_ratio
        0.2, // value_clip_range
        0.1, // value_loss_coef
        // the value head is a zeroed read-out that must fit the returns' scale long before the
        // trunk may move: its own rate, and a few updates of critic only, give the first policy
        // steps a baseline
        1e-2, // value_head_learning_rate
        20, // value_warmup_updates
        0.0, // entropy_coef
        1.0, // gamma
        0.95, // gae_lambda
        // the likelihood term is known token by token: paying it there is the same objective with
        // less noise per token for the critic
        1.0, // reference_shaping
        0.05, // init_kl_coef: β fixed, as in InstructGPT
        false, // adaptive_kl: true steers β to target_kl
        1.5, // target_kl: a KL runs of this world reach
        1000, // kl_horizon
        // PPO-ptx off: SFT leaves the policy far from the corpus, so γ_ptx pulls it back towards
        // continuing text rather than answering; set it to study the alignment tax
        0.0, // ptx_coef
        256, // ptx_tokens_per_minibatch
        2.0, // importance_weight_cap
        40, // eval_every_updates
        64, // eval_prompts
        10, // log_every_updates: 80 progress lines for the demo's 800 updates
        20, // checkpoint_every_updates
        4, // max_lag
        // Kafka gives each partition to one actor of the group: more actors than this sit idle
        4, // prompt_partitions
        REWARD_MODEL); // reward
  }

  @Override
  public Optional<Length> length() {
    return Optional.of(new Length("updates", updates, updates));
  }

  @Override
  public String stageName() {
    return "ppo";
  }

  @Override
  public Map<String, Object> derivedSizes() {
    var sizes = new LinkedHashMap<String, Object>();
    long responsesPerBatch = (long) promptsPerBatch * responsesPerPrompt;
    sizes.put("responses_per_batch", responsesPerBatch);
    sizes.put("responses_in_run", responsesPerBatch * updates);
    sizes.put("max_kl_coef_change_per_update", 0.2 * responsesPerBatch / klHorizon);
    // of an uninterrupted run: at the start, every eval_every_updates and after the last update;
    // none with a live reward (the learner holds no reward model to score the proxy with)
    sizes.put(
        "gold_proxy_evaluations",
        REWARD_LIVE.equals(reward)
            ? 0L
            : 1L + updates / evalEveryUpdates + (updates % evalEveryUpdates == 0 ? 0 : 1));
    return sizes;
  }
}
