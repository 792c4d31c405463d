package io.streamrlhf.schemas.signing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SigningKeysTest {
  /** Made by {@code openssl genpkey -algorithm ed25519} and {@code openssl pkey -pubout}. */
  private static final String OPENSSL_PRIVATE =
      """
      -----BEGIN PRIVATE KEY-----
      MC4CAQAwBQYDK2VwBCIEIFRs5C4sQlGBNYX8sa28lKpgF1wVQVGEDYWxjAwlGpnW
      -----END PRIVATE KEY-----
      """;

  private static final String OPENSSL_PUBLIC =
      """
      -----BEGIN PUBLIC KEY-----
      MCowBQYDK2VwAyEAVNOMkXN+/f7+CLyDH17COyKaHTuv5HnrpTJx1FsdEww=
      -----END PUBLIC KEY-----
      """;

  @Test
  void aRunCreatesItsKeyPairOnceWithAnOwnerOnlyPrivateKeyAndReusesIt(@TempDir Path out)
      throws Exception {
    var first = SigningKeys.inDirectory(out);
    var again = SigningKeys.inDirectory(out);

    assertThat(again.keyId()).isEqualTo(first.keyId());
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(out.resolve(SigningKeys.PRIVATE_FILE))))
        .isEqualTo("rw-------");
    assertThat(SigningKeys.readableByOthers(out.resolve(SigningKeys.PRIVATE_FILE))).isFalse();
    assertThat(SigningKeys.readPublic(out.resolve(SigningKeys.PUBLIC_FILE)).getEncoded())
        .isEqualTo(first.publicKey().getEncoded());
    try (var files = Files.list(out)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder(SigningKeys.PRIVATE_FILE, SigningKeys.PUBLIC_FILE);
    }
  }

  @Test
  void opensslKeysAreReadAndThePublicKeyIsDerivedFromThePrivateOne(@TempDir Path dir)
      throws Exception {
    var privateFile = Files.writeString(dir.resolve("learner.pem"), OPENSSL_PRIVATE);
    var publicFile = Files.writeString(dir.resolve("learner.pub"), OPENSSL_PUBLIC);

    var signer = SigningKeys.readPrivate(privateFile);

    assertThat(signer.publicKey().getEncoded())
        .isEqualTo(SigningKeys.readPublic(publicFile).getEncoded());
    assertThat(SigningKeys.readableByOthers(privateFile)).isTrue(); // written 644 by the test
  }

  @Test
  void aBadKeyFileIsRefusedWithItsName(@TempDir Path dir) throws Exception {
    var missing = dir.resolve("missing.pem");
    var text = Files.writeString(dir.resolve("notes.txt"), "hello\n");
    var publicAsPrivate = Files.writeString(dir.resolve("learner.pub"), OPENSSL_PUBLIC);
    var rsaLike =
        Files.writeString(
            dir.resolve("other.pem"),
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");

    assertThatThrownBy(() -> SigningKeys.readPrivate(missing))
        .hasMessage(missing + ": no such file");
    assertThatThrownBy(() -> SigningKeys.readPublic(text))
        .hasMessageStartingWith(text + ": no -----BEGIN PUBLIC KEY----- block");
    assertThatThrownBy(() -> SigningKeys.readPrivate(publicAsPrivate))
        .hasMessageStartingWith(publicAsPrivate + ": no -----BEGIN PRIVATE KEY----- block");
    assertThatThrownBy(() -> SigningKeys.readPublic(rsaLike))
        .hasMessageStartingWith(rsaLike + ": not an Ed25519 public key");
  }
}
