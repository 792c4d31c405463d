package io.streamrlhf.learner.ppo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GoldProxyCurveTest {
  @TempDir Path dir;

  @Test
  void writesCsvRowsAndANonEmptyPng() throws Exception {
    var csv = dir.resolve("gold-vs-proxy.csv");
    var curve = GoldProxyCurve.create(csv);
    curve.add(new GoldProxyCurve.Point(0, 1.25, -0.1, 0.0, 0));
    curve.add(new GoldProxyCurve.Point(10, 1.75, 0.8, 2.5, 12.3456));
    curve.add(new GoldProxyCurve.Point(20, 1.5, 1.9, 9.0, 25));

    assertThat(Files.readAllLines(csv))
        .containsExactly(
            "update,oracle_score,rm_score,kl,seconds",
            "0,1.25,-0.1,0.0,0.0",
            "10,1.75,0.8,2.5,12.346",
            "20,1.5,1.9,9.0,25.0");
    assertThat(GoldProxyCurve.read(csv))
        .containsExactly(
            new GoldProxyCurve.Point(0, 1.25, -0.1, 0.0, 0),
            new GoldProxyCurve.Point(10, 1.75, 0.8, 2.5, 12.346),
            new GoldProxyCurve.Point(20, 1.5, 1.9, 9.0, 25));
    assertThatThrownBy(() -> curve.add(new GoldProxyCurve.Point(20, 0, 0, 0, 30)))
        .hasMessageContaining("not after 20");

    var png = dir.resolve("gold-vs-proxy.png");
    curve.plot(png);
    var bytes = Files.readAllBytes(png);
    // PNG signature: 89 50 4E 47 0D 0A 1A 0A
    assertThat(Arrays.copyOf(bytes, 8))
        .containsExactly(0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A);
    assertThat(bytes.length).isGreaterThan(1000);
  }

  @Test
  void resumeKeepsRowsUpToTheCheckpointAndDropsLaterOnes() throws Exception {
    var csv = dir.resolve("curve.csv");
    var curve = GoldProxyCurve.create(csv);
    for (long update = 0; update <= 30; update += 10)
      curve.add(new GoldProxyCurve.Point(update, update, 2 * update, 0.1, update / 2.0));
    // the run was killed after evaluating update 30 but its last checkpoint is update 20
    var resumed = GoldProxyCurve.resume(csv, 20);
    assertThat(resumed.points())
        .extracting(GoldProxyCurve.Point::update)
        .containsExactly(0L, 10L, 20L);
    resumed.add(new GoldProxyCurve.Point(30, 3, 4, 0.5, 16));
    assertThat(Files.readAllLines(csv)).hasSize(5).last().isEqualTo("30,3.0,4.0,0.5,16.0");
  }

  @Test
  void aCurveWrittenBeforeSecondsResumesWithThemUnknown() throws Exception {
    var csv = dir.resolve("old.csv");
    Files.write(
        csv, List.of("update,oracle_score,rm_score,kl", "0,0.5,0.0,0.0", "10,0.75,1.0,2.0"));
    var resumed = GoldProxyCurve.resume(csv, 10);
    assertThat(resumed.points())
        .containsExactly(
            new GoldProxyCurve.Point(0, 0.5, 0, 0, Double.NaN),
            new GoldProxyCurve.Point(10, 0.75, 1, 2, Double.NaN));
    resumed.add(new GoldProxyCurve.Point(20, 1, 2, 3, 4.5));
    assertThat(Files.readAllLines(csv))
        .containsExactly(
            GoldProxyCurve.HEADER, "0,0.5,0.0,0.0,", "10,0.75,1.0,2.0,", "20,1.0,2.0,3.0,4.5");
    assertThat(GoldProxyCurve.read(csv)).hasSize(3);
  }

  @Test
  void aFileThatIsNoCurveIsRefused() throws Exception {
    var csv = dir.resolve("other.csv");
    Files.write(csv, List.of("a,b,c"));
    assertThatThrownBy(() -> GoldProxyCurve.resume(csv, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a gold-vs-proxy curve");
  }
}
