package io.streamrlhf.schemas.signing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.EdECPrivateKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Weight-signing keys on disk, as PEM files OpenSSL reads and writes too: the private key as PKCS#8
 * ({@code -----BEGIN PRIVATE KEY-----}, what {@code openssl genpkey -algorithm ed25519} writes),
 * owner-only (mode 600); the public key as X.509 SubjectPublicKeyInfo ({@code -----BEGIN PUBLIC
 * KEY-----}, what {@code openssl pkey -pubout} writes), for the actors.
 *
 * <p>A publisher's key pair lives in its output directory ({@link #PRIVATE_FILE}, {@link
 * #PUBLIC_FILE}), created on its first run and reused on every resume, or comes from a file the
 * operator names. Every failure is an {@link IllegalArgumentException} whose message names the
 * file.
 */
public final class SigningKeys {
  /** The private key in a publisher's output directory. */
  public static final String PRIVATE_FILE = "weights-signing.key";

  /** Its public key beside it: the file to copy to actors ({@code --weights-key}). */
  public static final String PUBLIC_FILE = "weights-signing.pub";

  private static final Set<PosixFilePermission> OWNER_ONLY =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
  private static final Pattern PEM =
      Pattern.compile("-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

  private SigningKeys() {}

  /**
   * A publisher's key: the one in {@code keyFile} when the operator named one, else the pair in its
   * output directory ({@link #inDirectory}).
   */
  public static WeightSigner forPublisher(Path outDir, Path keyFile) {
    return keyFile != null ? readPrivate(keyFile) : inDirectory(outDir);
  }

  /**
   * The key pair in {@code dir}, created there (private key owner-only) when it holds none yet.
   *
   * @throws IllegalArgumentException when the files exist but cannot be read as a key pair
   */
  public static WeightSigner inDirectory(Path dir) {
    var privateFile = dir.resolve(PRIVATE_FILE);
    if (!Files.exists(privateFile)) {
      try {
        Files.createDirectories(dir);
        var signer = WeightSigner.generate();
        writeAtomically(
            privateFile, pem("PRIVATE KEY", signer.privateKey().getEncoded()), OWNER_ONLY);
        writePublic(dir.resolve(PUBLIC_FILE), signer.publicKey());
        return signer;
      } catch (IOException e) {
        throw new IllegalArgumentException(
            dir + ": cannot create the weight-signing key there: " + e, e);
      }
    }
    var signer = readPrivate(privateFile);
    var publicFile = dir.resolve(PUBLIC_FILE);
    if (!Files.exists(publicFile)) {
      writePublic(publicFile, signer.publicKey()); // deleted by hand: it is derived, so restore it
    }
    return signer;
  }

  /**
   * A signer from a private-key PEM file (PKCS#8 Ed25519); its public key is derived from the
   * private one.
   */
  public static WeightSigner readPrivate(Path file) {
    var der = readPem(file, "PRIVATE KEY");
    try {
      var key =
          KeyFactory.getInstance(WeightSignature.ALGORITHM)
              .generatePrivate(new PKCS8EncodedKeySpec(der));
      return new WeightSigner(new KeyPair(publicOf((EdECPrivateKey) key), key));
    } catch (GeneralSecurityException | ClassCastException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          file
              + ": not an Ed25519 private key (PKCS#8 PEM, as openssl genpkey -algorithm ed25519"
              + " writes)",
          e);
    }
  }

  /** A trusted public key from an X.509 PEM file ({@code -----BEGIN PUBLIC KEY-----}). */
  public static PublicKey readPublic(Path file) {
    var der = readPem(file, "PUBLIC KEY");
    try {
      return KeyFactory.getInstance(WeightSignature.ALGORITHM)
          .generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          file + ": not an Ed25519 public key (X.509 PEM, as openssl pkey -pubout writes)", e);
    }
  }

  /** Writes {@code key} as a PEM public key file (readable by all: it is no secret). */
  public static void writePublic(Path file, PublicKey key) {
    try {
      writeAtomically(file, pem("PUBLIC KEY", key.getEncoded()), null);
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot write the public key: " + e, e);
    }
  }

  /** Whether a key file may be read by others than its owner (worth a warning, not a refusal). */
  public static boolean readableByOthers(Path file) {
    try {
      var permissions = Files.getPosixFilePermissions(file);
      return !OWNER_ONLY.containsAll(permissions);
    } catch (IOException | UnsupportedOperationException e) {
      return false; // no POSIX permissions to judge
    }
  }

  /**
   * Ed25519's public key is a function of the private key's 32-byte seed; the JDK exposes that
   * function only through its key-pair generator, which draws exactly the seed from the random
   * source it is given. {@link WeightSigner} checks the resulting pair signs and verifies together,
   * so a JDK that drew differently fails loudly instead of producing a wrong key.
   */
  private static PublicKey publicOf(EdECPrivateKey key) throws GeneralSecurityException {
    var seed =
        key.getBytes()
            .orElseThrow(() -> new GeneralSecurityException("the private key hides its bytes"));
    var generator = KeyPairGenerator.getInstance(WeightSignature.ALGORITHM);
    generator.initialize(
        NamedParameterSpec.ED25519,
        new SecureRandom() {
          @Override
          public void nextBytes(byte[] bytes) {
            System.arraycopy(seed, 0, bytes, 0, Math.min(seed.length, bytes.length));
          }
        });
    return generator.generateKeyPair().getPublic();
  }

  private static byte[] readPem(Path file, String type) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such file", e);
    } catch (AccessDeniedException e) {
      throw new IllegalArgumentException(file + ": permission denied", e);
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read it: " + e.getMessage(), e);
    }
    var m = PEM.matcher(text);
    while (m.find()) {
      if (m.group(1).equals(type)) {
        try {
          return Base64.getMimeDecoder().decode(m.group(2).replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(file + ": its " + type + " block is not base64", e);
        }
      }
    }
    throw new IllegalArgumentException(
        file + ": no -----BEGIN " + type + "----- block (a PEM file is expected)");
  }

  private static String pem(String type, byte[] der) {
    var body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }

  /**
   * Writes through a temporary file created with {@code permissions} (so a private key is never
   * readable by others, not even for a moment) and renames it into place.
   */
  private static void writeAtomically(
      Path file, String content, Set<PosixFilePermission> permissions) throws IOException {
    var dir = file.toAbsolutePath().getParent();
    Path tmp;
    try {
      tmp =
          permissions == null
              ? Files.createTempFile(dir, file.getFileName() + ".", ".tmp")
              : Files.createTempFile(
                  dir,
                  file.getFileName() + ".",
                  ".tmp",
                  PosixFilePermissions.asFileAttribute(permissions));
    } catch (UnsupportedOperationException e) {
      tmp = Files.createTempFile(dir, file.getFileName() + ".", ".tmp");
    }
    try {
      Files.writeString(tmp, content, StandardCharsets.US_ASCII);
      if (permissions == null) {
        try {
          Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException e) {
          // not a POSIX file system: its defaults stand
        }
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
