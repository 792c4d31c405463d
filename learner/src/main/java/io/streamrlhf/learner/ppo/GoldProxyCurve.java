package io.streamrlhf.learner.ppo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The over-optimisation curve of Gao et al. 2022 ("Scaling laws for reward model
 * over-optimization"): every few PPO updates the policy answers a fixed held-out subset, and the
 * mean gold score (the oracle, docs/TASKS.md), the mean proxy score (the reward model) and the mean
 * KL to the SFT model per response are recorded. The proxy keeps rising while the gold score turns
 * down once the policy exploits the reward model; plotting both against √KL, as Gao et al. do,
 * shows where.
 *
 * <p>Columns ({@value #HEADER}): {@code rm_score} is the reward PPO optimises, normalised as PPO
 * sees it: the reward model's score, or with {@code reward = oracle} the oracle's own score
 * (normalised by its SFT statistics), so gold and proxy then move together by construction. {@code
 * seconds} is the wall time since the learner started its first update when update {@code update}
 * ended (0 for the SFT policy's row), continued across restarts from the checkpoint's {@link
 * TrainingClock}; the time spent evaluating counts in it (the learner does not train while it
 * evaluates), so it is the time an equal run without the curve would take plus the evaluations
 * before the row. A file written before seconds were recorded (four columns) is read with {@code
 * seconds} unknown (NaN, an empty cell when written again).
 *
 * <p>The CSV is appended and flushed a row at a time so a killed run keeps its curve; {@link
 * #resume} drops rows past the checkpoint a run restarts from, so none is duplicated.
 */
public final class GoldProxyCurve {
  public static final String HEADER = "update,oracle_score,rm_score,kl,seconds";

  /** The header of curves written before the {@code seconds} column. */
  static final String HEADER_WITHOUT_SECONDS = "update,oracle_score,rm_score,kl";

  /**
   * One evaluation: means over the held-out subset after {@code update} PPO updates, taken when the
   * run's training clock read {@code seconds} (NaN: not recorded).
   */
  public record Point(long update, double oracleScore, double rmScore, double kl, double seconds) {
    String csvRow() {
      var time = Double.isNaN(seconds) ? "" : Double.toString(Math.round(seconds * 1e3) / 1e3);
      return update + "," + oracleScore + "," + rmScore + "," + kl + "," + time;
    }

    static Point parse(String row) {
      var cells = row.split(",", -1);
      if (cells.length != 4 && cells.length != 5) {
        throw new IllegalArgumentException("bad gold-vs-proxy row: " + row);
      }
      return new Point(
          Long.parseLong(cells[0]),
          Double.parseDouble(cells[1]),
          Double.parseDouble(cells[2]),
          Double.parseDouble(cells[3]),
          cells.length == 5 && !cells[4].isEmpty() ? Double.parseDouble(cells[4]) : Double.NaN);
    }
  }

  private final Path csv;
  private final List<Point> points;

  private GoldProxyCurve(Path csv, List<Point> points) throws IOException {
    this.csv = csv;
    this.points = new ArrayList<>(points);
    var text = new StringBuilder(HEADER).append('\n');
    for (var point : points) text.append(point.csvRow()).append('\n');
    var parent = csv.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    var tmp = parent.resolve(csv.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, csv, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** A new curve: writes the header, replacing any earlier file. */
  public static GoldProxyCurve create(Path csv) throws IOException {
    return new GoldProxyCurve(csv, List.of());
  }

  /**
   * Continues the curve of a resumed run: keeps the rows up to {@code resumedAtUpdate} (the
   * checkpoint's update) and drops later ones, which the resumed run will measure again.
   */
  public static GoldProxyCurve resume(Path csv, long resumedAtUpdate) throws IOException {
    if (!Files.exists(csv)) return create(csv);
    var kept = new ArrayList<Point>();
    for (var point : read(csv)) {
      if (point.update() <= resumedAtUpdate) kept.add(point);
    }
    return new GoldProxyCurve(csv, kept);
  }

  /**
   * The points of the curve in {@code csv}, in this format or the four-column one before it.
   *
   * @throws IllegalArgumentException when {@code csv} is not a gold-vs-proxy curve
   */
  public static List<Point> read(Path csv) throws IOException {
    var lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
    if (lines.isEmpty()
        || !(lines.get(0).equals(HEADER) || lines.get(0).equals(HEADER_WITHOUT_SECONDS))) {
      throw new IllegalArgumentException(
          csv + " is not a gold-vs-proxy curve (header " + HEADER + ")");
    }
    var points = new ArrayList<Point>();
    for (var line : lines.subList(1, lines.size())) {
      if (!line.isBlank()) points.add(Point.parse(line));
    }
    return points;
  }

  /** Appends one evaluation to the CSV and flushes it. Updates must increase. */
  public void add(Point point) throws IOException {
    if (!points.isEmpty() && point.update() <= points.get(points.size() - 1).update()) {
      throw new IllegalArgumentException(
          "update " + point.update() + " is not after " + points.get(points.size() - 1).update());
    }
    Files.writeString(
        csv, point.csvRow() + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    points.add(point);
  }

  public List<Point> points() {
    return List.copyOf(points);
  }

  /**
   * Writes the PNG: on the left gold and proxy scores against the PPO update, on the right the same
   * against √KL (Gao et al.'s axis, where the gold curve's peak marks over-optimisation).
   */
  public void plot(Path png) throws IOException {
    if (points.isEmpty()) throw new IllegalStateException("no gold-vs-proxy point to plot yet");
    int n = points.size();
    var updates = new double[n];
    var sqrtKl = new double[n];
    var gold = new double[n];
    var proxy = new double[n];
    for (int i = 0; i < n; i++) {
      var point = points.get(i);
      updates[i] = point.update();
      sqrtKl[i] = Math.sqrt(Math.max(0, point.kl())); // a sampled KL estimate can dip below 0
      gold[i] = point.oracleScore();
      proxy[i] = point.rmScore();
    }
    var byUpdate = chart("Gold vs proxy over training", "PPO update", updates, gold, proxy);
    var byKl =
        chart(
            "Gold vs proxy against distance from SFT",
            "sqrt(KL to SFT per response, nats)",
            sqrtKl,
            gold,
            proxy);
    var bytes = new ByteArrayOutputStream();
    BitmapEncoder.saveBitmap(List.of(byUpdate, byKl), 1, 2, bytes, BitmapEncoder.BitmapFormat.PNG);
    var parent = png.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    var tmp = parent.resolve(png.getFileName() + ".tmp");
    Files.write(tmp, bytes.toByteArray());
    Files.move(tmp, png, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static XYChart chart(
      String title, String xTitle, double[] x, double[] gold, double[] proxy) {
    var chart =
        new XYChartBuilder()
            .width(640)
            .height(440)
            .title(title)
            .xAxisTitle(xTitle)
            .yAxisTitle("mean score")
            .build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
    chart.getStyler().setXAxisDecimalPattern("0.##");
    chart.addSeries("gold (oracle)", x, gold).setMarker(SeriesMarkers.CIRCLE);
    chart.addSeries("proxy (reward model)", x, proxy).setMarker(SeriesMarkers.SQUARE);
    return chart;
  }
}
