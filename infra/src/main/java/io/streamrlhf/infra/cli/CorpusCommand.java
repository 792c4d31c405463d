package io.streamrlhf.infra.cli;

import io.streamrlhf.tasks.Corpus;
import io.streamrlhf.tasks.CorpusFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.EnumMap;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "corpus",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Writes the pretraining corpus: documents of 3-8 lines (40%% instruction lists, 25%% worked"
          + " examples, 15%% fact prose, 10%% insult chatter, 10%% pseudo-word chatter).",
      "UTF-8 text; every document is followed by a line '"
          + CorpusFile.EOS_MARKER
          + "' that"
          + " stands for the end-of-sequence token (rlhf pretrain --corpus reads it so)."
    })
final class CorpusCommand implements Runnable {
  private static final int PROGRESS_EVERY = 100_000;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--docs",
      defaultValue = "10000",
      paramLabel = "N",
      description = "How many documents.")
  int docs;

  @Option(
      names = "--seed",
      defaultValue = "0",
      paramLabel = "S",
      description = "Seed: the same seed gives the same file.")
  long seed;

  @Option(
      names = "--out",
      required = true,
      converter = TaskFiles.FileOption.class,
      paramLabel = "FILE.txt",
      description =
          "Where to write the corpus (- for standard output); a file there is replaced once all is written.")
  Path out;

  @Override
  public void run() {
    if (docs < 0) {
      throw new UserError("--docs must be >= 0, got " + docs);
    }
    var kinds = new EnumMap<Corpus.Kind, Integer>(Corpus.Kind.class);
    var corpus = new Corpus(seed);
    var err = spec.commandLine().getErr();
    try (var file = TaskFiles.create(out)) {
      var writer = file.writer();
      for (int i = 1; i <= docs; i++) {
        var doc = corpus.next();
        kinds.merge(doc.kind(), 1, Integer::sum);
        CorpusFile.write(writer, doc);
        if (i % PROGRESS_EVERY == 0 && i < docs) {
          err.printf("corpus: %d / %d documents%n", i, docs);
        }
      }
      file.commit();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    var summary = new StringBuilder();
    kinds.forEach(
        (kind, count) ->
            summary.append(
                String.format(
                    " %s %.1f%%",
                    kind.name().toLowerCase(java.util.Locale.ROOT), 100.0 * count / docs)));
    TaskFiles.lines(spec, out)
        .printf(
            "wrote %d documents (seed %d) to %s%s%n",
            docs, seed, out, summary.isEmpty() ? "" : ":" + summary);
  }
}
