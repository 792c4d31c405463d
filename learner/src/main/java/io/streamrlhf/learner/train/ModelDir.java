package io.streamrlhf.learner.train;

import io.streamrlhf.model.ComputeDevice;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.WeightSnapshot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A model checkpoint directory as the RL stages read and write it: {@code gpt-config.json} (the
 * shape, {@link GptConfig#toJson}) and {@code weights.bin} (a checksummed {@link WeightSnapshot}).
 * Each file is written to a temp name and renamed, so a reader never sees half a file.
 *
 * <p>Stop-gap until the shared checkpoint layout of the pretrain/SFT stages lands: keep the two
 * file names in step with it.
 */
public final class ModelDir {
  public static final String CONFIG_FILE = "gpt-config.json";
  public static final String WEIGHTS_FILE = "weights.bin";

  private ModelDir() {}

  public static void save(Gpt model, long version, Path dir) throws IOException {
    Files.createDirectories(dir);
    write(dir.resolve(CONFIG_FILE), model.config().toJson().getBytes(StandardCharsets.UTF_8));
    write(dir.resolve(WEIGHTS_FILE), model.snapshot(version).encode());
  }

  /** The model saved in {@code dir}, float32 on the CPU. */
  public static Gpt load(Path dir) throws IOException {
    var configFile = dir.resolve(CONFIG_FILE);
    var weightsFile = dir.resolve(WEIGHTS_FILE);
    if (!Files.isRegularFile(configFile) || !Files.isRegularFile(weightsFile)) {
      throw new IllegalArgumentException(
          dir + " is not a model checkpoint: it needs " + CONFIG_FILE + " and " + WEIGHTS_FILE);
    }
    var config = GptConfig.fromJson(Files.readString(configFile, StandardCharsets.UTF_8));
    return Gpt.fromSnapshot(config, WeightSnapshot.decode(Files.readAllBytes(weightsFile)), ComputeDevice.CPU);
  }

  private static void write(Path file, byte[] bytes) throws IOException {
    var tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, bytes);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
