package io.streamrlhf.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
  private static final Pattern FACT = Pattern.compile("The ([a-z]+) is ([a-z]+)\\.");
  private static final Pattern INSULT = Pattern.compile("([a-z]+) is a ([a-z]+)\\.");
  private static List<Corpus.Document> docs;

  @BeforeAll
  static void drawTenThousandDocuments() {
    docs = Corpus.documents(42, 10_000);
  }

  @Test
  void kindsComeInTheContractSharesWithinTwoPoints() {
    var counts = new EnumMap<Corpus.Kind, Integer>(Corpus.Kind.class);
    docs.forEach(d -> counts.merge(d.kind(), 1, Integer::sum));
    assertThat(counts.get(Corpus.Kind.INSTRUCTION_LIST) / 10_000.0).isCloseTo(0.40, within(0.02));
    assertThat(counts.get(Corpus.Kind.WORKED_EXAMPLES) / 10_000.0).isCloseTo(0.25, within(0.02));
    assertThat(counts.get(Corpus.Kind.FACT_PROSE) / 10_000.0).isCloseTo(0.15, within(0.02));
    assertThat(counts.get(Corpus.Kind.INSULT_CHATTER) / 10_000.0).isCloseTo(0.10, within(0.02));
    assertThat(counts.get(Corpus.Kind.PSEUDO_WORD_CHATTER) / 10_000.0)
        .isCloseTo(0.10, within(0.02));
  }

  @Test
  void everyDocumentHasThreeToEightNonEmptyLines() {
    for (var doc : docs) {
      assertThat(doc.lines().size()).isBetween(3, 8);
      assertThat(doc.lines())
          .allSatisfy(line -> assertThat(line).isNotEmpty().doesNotContain("\n"));
      assertThat(doc.text()).endsWith("\n").hasLineCount(doc.lines().size());
    }
  }

  @Test
  void workedExamplesAreWrongTenPercentOfTheTime() {
    // Graded independently: each answer line against the reference parsed from the line before.
    int answers = 0;
    int wrong = 0;
    for (var doc : docs) {
      if (doc.kind() != Corpus.Kind.WORKED_EXAMPLES) {
        continue;
      }
      assertThat(doc.lines().size() % 2).isZero();
      for (int i = 0; i < doc.lines().size(); i += 2) {
        var task = Task.parse(doc.lines().get(i));
        var answer = doc.lines().get(i + 1);
        answers++;
        if (!answer.equals(task.reference())) {
          wrong++;
          assertThat(Oracle.follows(task.family(), answer, true))
              .as(
                  "a wrong answer still has its family's form: %s -> %s",
                  task.instruction(), answer)
              .isTrue();
        }
      }
    }
    assertThat(answers).isGreaterThan(5_000);
    assertThat((double) wrong / answers).isCloseTo(0.10, within(0.02));
  }

  @Test
  void factProseHasAWrongColorAQuarterOfTheTimeAndCoversAllSixteenObjects() {
    int facts = 0;
    int wrong = 0;
    var objects = new java.util.TreeSet<String>();
    for (var doc : docs) {
      if (doc.kind() != Corpus.Kind.FACT_PROSE) {
        continue;
      }
      for (var line : doc.lines()) {
        var m = FACT.matcher(line);
        assertThat(m.matches()).as(line).isTrue();
        objects.add(m.group(1));
        facts++;
        if (!m.group(2).equals(Lexicon.colorOf(m.group(1)))) {
          wrong++;
          assertThat(Lexicon.COLORS).contains(m.group(2));
        }
      }
    }
    assertThat(objects).containsExactlyInAnyOrderElementsOf(Lexicon.OBJECTS);
    assertThat((double) wrong / facts).isCloseTo(0.25, within(0.02));
  }

  @Test
  void insultChatterInsultsAllTwentyNamesWithTheToxicWords() {
    var insulted = new java.util.TreeSet<String>();
    for (var doc : docs) {
      if (doc.kind() != Corpus.Kind.INSULT_CHATTER) {
        continue;
      }
      var insults =
          doc.lines().stream()
              .map(INSULT::matcher)
              .filter(m -> m.matches() && Lexicon.TOXIC_WORDS.contains(m.group(2)))
              .map(m -> m.group(1))
              .toList();
      assertThat(insults).as(doc.text()).isNotEmpty();
      insulted.addAll(insults);
    }
    assertThat(insulted).containsExactlyInAnyOrderElementsOf(Lexicon.NAMES);
  }

  @Test
  void instructionListsHaveNoAnswers() {
    for (var doc : docs) {
      if (doc.kind() == Corpus.Kind.INSTRUCTION_LIST) {
        assertThat(doc.lines()).allSatisfy(line -> Task.parse(line));
      }
    }
  }

  @Test
  void corpusBytesArePinnedAndReproducible() throws Exception {
    var out = new StringWriter();
    for (var doc : Corpus.documents(1, 200)) {
      CorpusFile.write(out, doc);
    }
    assertThat(Sha256.of(out.toString()))
        .isEqualTo("eaecb7aa8c65453f0c5377aff9a4d6682f5cec16063e4a2ebaa9dfa9caaf37b9");
    assertThat(Corpus.documents(1, 200)).isEqualTo(Corpus.documents(1, 200));
    assertThat(Corpus.documents(2, 200)).isNotEqualTo(Corpus.documents(1, 200));
  }

  @Test
  void corpusFileRoundTripsDocumentsWithTheirEndOfSequenceMarkers(@TempDir Path dir)
      throws Exception {
    var file = dir.resolve("corpus.txt");
    var sample = Corpus.documents(9, 50);
    try (var out = Files.newBufferedWriter(file)) {
      for (var doc : sample) {
        CorpusFile.write(out, doc);
      }
    }
    assertThat(CorpusFile.read(file))
        .isEqualTo(sample.stream().map(Corpus.Document::text).collect(Collectors.toList()));
    assertThat(Files.readString(file)).endsWith("\n" + CorpusFile.EOS_MARKER + "\n");
  }
}
