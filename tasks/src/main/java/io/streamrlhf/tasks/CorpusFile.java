package io.streamrlhf.tasks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The corpus as a UTF-8 text file. Each document is written as its lines (each ended by '\n')
 * followed by the line {@value #EOS_MARKER}, which stands for the end-of-sequence token (GPT-2's
 * spelling of it). Document lines are never empty and never contain the marker, so the split is
 * unambiguous. A reader turns each marker back into end-of-sequence, not into bytes: {@link #read}
 * returns the documents' texts, without the marker.
 *
 * <pre>
 * Reverse abc.
 * Reverse hello.
 * Reverse pig.
 * &lt;|endoftext|&gt;
 * The sky is blue.
 * ...
 * </pre>
 */
public final class CorpusFile {
  public static final String EOS_MARKER = "<|endoftext|>";

  private CorpusFile() {}

  /** Appends one document and its end-of-sequence marker. */
  public static void write(Writer out, Corpus.Document document) throws IOException {
    out.write(document.text());
    out.write(EOS_MARKER);
    out.write('\n');
  }

  /**
   * The documents of a corpus file, each as its text (lines ended by '\n', no marker). Text after
   * the last marker is a document too, so a file cut short loses nothing silently.
   */
  public static List<String> read(Path file) throws IOException {
    var documents = new ArrayList<String>();
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      var doc = new StringBuilder();
      String line;
      while ((line = in.readLine()) != null) {
        if (line.equals(EOS_MARKER)) {
          documents.add(doc.toString());
          doc.setLength(0);
        } else {
          doc.append(line).append('\n');
        }
      }
      if (doc.length() > 0) {
        documents.add(doc.toString());
      }
    }
    return documents;
  }
}
