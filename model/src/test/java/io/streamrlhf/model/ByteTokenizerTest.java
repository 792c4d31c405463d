package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ByteTokenizerTest {

  @Test
  void nonAsciiUtf8RoundTrips() {
    String text = "Grüße, 世界! 🙂 naïve café — ñ";
    int[] tokens = ByteTokenizer.encode(text);
    // 4-byte emoji, 3-byte CJK and 2-byte Latin letters become one token per byte.
    assertThat(tokens).hasSize(text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
    assertThat(java.util.Arrays.stream(tokens).allMatch(t -> t >= 0 && t < 256)).isTrue();
    assertThat(ByteTokenizer.decode(tokens)).isEqualTo(text);
  }

  @Test
  void decodeStopsAtEosAndSkipsPadding() {
    int[] tokens = {ByteTokenizer.PAD, 'h', 'i', ByteTokenizer.EOS, 'x'};
    assertThat(ByteTokenizer.decode(tokens)).isEqualTo("hi");
    assertThat(ByteTokenizer.withEos(ByteTokenizer.encode("é")))
        .containsExactly(0xC3, 0xA9, ByteTokenizer.EOS);
  }
}
