package io.streamrlhf.infra.cli;

import io.streamrlhf.schemas.signing.SigningKeys;
import io.streamrlhf.schemas.signing.WeightSigner;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --signing-key FILE} (a picocli mixin): the key a publisher signs weight versions with. */
final class SigningKeyOption {
  @Option(
      names = "--signing-key",
      paramLabel = "FILE",
      description =
          "Ed25519 private key (PKCS#8 PEM, e.g. from openssl genpkey -algorithm ed25519) to sign"
              + " every published weight version with. Default: the key pair in --out ("
              + SigningKeys.PRIVATE_FILE
              + ", owner-only, and "
              + SigningKeys.PUBLIC_FILE
              + " for the actors), created on the first run.")
  Path file;

  /** The key named by the flag, or null when the publisher uses the pair in its --out. */
  WeightSigner signer(PrintWriter out) {
    if (file == null) return null;
    try {
      var signer = SigningKeys.readPrivate(file);
      if (SigningKeys.readableByOthers(file)) {
        out.println("warning: " + file + " is readable by others; chmod 600 it");
      }
      return signer;
    } catch (IllegalArgumentException e) {
      throw new UserError("--signing-key " + e.getMessage(), e);
    }
  }
}
