package io.streamrlhf.infra.kafka;

import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The principals of a broker with authentication on ({@code rlhf broker --users FILE}): each with
 * its {@link LoopRole} and password. The file is a Java properties file, one user per line:
 *
 * <pre>
 * # name = role:password   (roles: admin, learner, actor, reward-trainer, labeler, gateway)
 * admin = admin:change-me
 * learner = learner:another-secret
 * actor-1 = actor:yet-another
 * </pre>
 *
 * <p>At least one user must be an {@code admin}: the broker logs in to itself (inter-broker and
 * controller connections) as the first one, and admins are its super users.
 *
 * @param users by name
 */
public record BrokerUsers(Map<String, User> users) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  /** One principal. {@link #toString} hides the password. */
  public record User(String name, LoopRole role, String password) {
    @Override
    public String toString() {
      return name + " (" + role.spelling() + ")";
    }
  }

  /**
   * @throws IllegalArgumentException naming the user that is wrong, or when there is no admin
   */
  public BrokerUsers {
    users = Collections.unmodifiableMap(new TreeMap<>(users));
    if (users.isEmpty()) throw new IllegalArgumentException("no users");
    for (var e : users.entrySet()) {
      var u = e.getValue();
      if (!e.getKey().equals(u.name())) throw new IllegalArgumentException("user key mismatch");
      if (!NAME.matcher(u.name()).matches())
        throw new IllegalArgumentException(
            "user '" + u.name() + "': names are 1 to 64 of A-Z a-z 0-9 . _ -");
      // the password goes into a JAAS config between double quotes
      if (u.password().isEmpty()
          || u.password().chars().anyMatch(c -> c == '"' || c == '\\' || c < 0x20))
        throw new IllegalArgumentException(
            "user '"
                + u.name()
                + "': the password must be non-empty, without \" or \\ or control"
                + " characters");
    }
    if (users.values().stream().noneMatch(u -> u.role() == LoopRole.ADMIN))
      throw new IllegalArgumentException(
          "no user has the role admin: the broker needs one to log in to itself");
  }

  /**
   * The users in {@code file}.
   *
   * @throws IllegalArgumentException in one line starting with the file's name
   */
  public static BrokerUsers load(Path file) {
    var properties = new Properties();
    var decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    try (var reader = new InputStreamReader(Files.newInputStream(file), decoder)) {
      properties.load(reader);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such file", e);
    } catch (AccessDeniedException e) {
      throw new IllegalArgumentException(file + ": permission denied", e);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(file + ": not UTF-8 text", e);
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": cannot read it: " + e.getMessage(), e);
    }
    var users = new TreeMap<String, User>();
    for (var name : properties.stringPropertyNames()) {
      var value = properties.getProperty(name).strip();
      int colon = value.indexOf(':');
      var role =
          colon < 0
              ? Optional.<LoopRole>empty()
              : LoopRole.bySpelling(value.substring(0, colon).strip());
      if (role.isEmpty())
        throw new IllegalArgumentException(
            file + ": user '" + name + "': expected role:password with a role of " + roles());
      users.put(name, new User(name, role.get(), value.substring(colon + 1)));
    }
    try {
      return new BrokerUsers(users);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  static String roles() {
    return Arrays.stream(LoopRole.values())
        .map(LoopRole::spelling)
        .collect(Collectors.joining(", "));
  }

  /** The user the broker logs in to itself as: the first admin by name. */
  public User brokerLogin() {
    return users.values().stream()
        .filter(u -> u.role() == LoopRole.ADMIN)
        .findFirst()
        .orElseThrow();
  }

  public List<User> admins() {
    return users.values().stream().filter(u -> u.role() == LoopRole.ADMIN).toList();
  }

  /**
   * @throws IllegalArgumentException when there is no such user
   */
  public User user(String name) {
    var user = users.get(name);
    if (user == null) throw new IllegalArgumentException("no user '" + name + "' on this broker");
    return user;
  }

  /** Hides the passwords. */
  @Override
  public String toString() {
    return "BrokerUsers" + users.values();
  }
}
