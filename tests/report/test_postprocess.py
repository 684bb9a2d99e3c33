#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""postprocess/ on a report written by the real C++ writer (micromoe_write_sample_report):
plots and the summary table are produced, and files that are not reports are refused clearly.

    /usr/bin/python3 tests/report/test_postprocess.py BUILD/tests/report/micromoe_write_sample_report
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.environ.get("MICROMOE_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
POSTPROCESS = os.path.join(SOURCE_DIR, "postprocess")
PLOT = os.path.join(POSTPROCESS, "plot_report.py")
sys.path.insert(0, POSTPROCESS)

import h5py  # noqa: E402

from micromoe_report import ReportError, cost_table, markdown_table, open_report  # noqa: E402

WRITER = None  # set from argv
PLOTS = ("imbalance.png", "step_time_breakdown.png", "throughput.png", "schedule_time.png", "loss.png")


def plot(*args):
    return subprocess.run([sys.executable, PLOT, *args], capture_output=True, text=True,
                          env=dict(os.environ, MPLBACKEND="Agg"))


class PostProcess(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="micromoe_postprocess_")
        cls.report = os.path.join(cls.tmp, "report.h5")
        cls.truncated = os.path.join(cls.tmp, "truncated.h5")
        subprocess.run([WRITER, cls.report], check=True)
        subprocess.run([WRITER, cls.truncated, "--truncated"], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_reader_sees_every_strategy(self):
        report = open_report(self.report)
        self.assertEqual(report.format_version, 1)
        self.assertEqual([s.name for s in report.strategies], ["ep", "ep-capacity", "microep", "balanced"])
        ep, microep = report.strategy("ep"), report.strategy("microep")
        self.assertEqual(ep.loads.shape, (5, 2, 3, 4))
        self.assertEqual(ep.phase_times.shape, (5, 11, 4))
        self.assertEqual(ep.phase_names[0], "gate")
        self.assertLess(microep.summary["mean_imbalance"], ep.summary["mean_imbalance"])
        self.assertEqual(report.strategy("ep-capacity").dropped_tokens, 5 * 2 * (7 + 14 + 21))
        self.assertIn("[model]", report.deck)
        self.assertEqual(len(report.hosts), 4)
        self.assertFalse(report.truncated)
        self.assertEqual(report.config["model"]["hidden"], 128)

    def test_plots_and_table(self):
        out = os.path.join(self.tmp, "plots")
        result = plot(self.report, "--out", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        for name in PLOTS:
            with open(os.path.join(out, name), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", name)
        with open(os.path.join(out, "summary.md"), encoding="utf-8") as f:
            summary = f.read()
        self.assertIn("4 ranks on 2 hosts", summary)
        for text in ("| strategy |", "mean imbalance", "speed-up over ep", "dropped tokens", "| ep |", "| microep |",
                     "| ep-capacity |", "| balanced |", "1.00x"):
            self.assertIn(text, summary)
            self.assertIn(text, result.stdout)

    def test_default_output_directory_is_beside_the_report(self):
        result = plot(self.report)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "report_plots", "summary.md")))

    def test_truncated_report(self):
        out = os.path.join(self.tmp, "truncated_plots")
        result = plot(self.truncated, "--out", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Truncated run", result.stdout)
        report = open_report(self.truncated)
        self.assertTrue(report.truncated)
        self.assertEqual(report.strategy("microep").iterations, 2)
        self.assertEqual(report.strategy("balanced").iterations, 0)
        self.assertIn("| balanced | 0 | - | - | - | - | - |", result.stdout)
        for name in PLOTS:
            self.assertTrue(os.path.getsize(os.path.join(out, name)) > 0, name)

    def assert_refused(self, path, message):
        result = plot(path, "--out", os.path.join(self.tmp, "refused"))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(message, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        with self.assertRaises(ReportError):
            open_report(path)

    def test_missing_file(self):
        self.assert_refused(os.path.join(self.tmp, "absent.h5"), "no such file")

    def test_not_hdf5(self):
        path = os.path.join(self.tmp, "deck.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write("[model]\nhidden = 3\n")
        self.assert_refused(path, "not an HDF5 file")

    def test_hdf5_but_not_a_report(self):
        path = os.path.join(self.tmp, "other.h5")
        with h5py.File(path, "w") as f:
            f["x"] = [1, 2, 3]
        self.assert_refused(path, "not a MicroMoE report (no 'format_version'")

    def test_incomplete_report(self):
        path = os.path.join(self.tmp, "incomplete.h5")
        shutil.copy(self.report, path)
        with h5py.File(path, "a") as f:
            del f["microep"]["imbalance"]
        self.assert_refused(path, "missing dataset /microep/imbalance")

    def test_dimensions_come_from_the_file(self):
        ep = open_report(self.report).strategy("ep")
        self.assertEqual(ep.dims["loads"], ("iteration", "layer", "micro_batch", "rank"))
        self.assertEqual(ep.dims["phase_times"], ("iteration", "phase", "rank"))
        self.assertEqual(ep.dims["expert_copies"], ("iteration", "layer", "micro_batch", "expert"))
        self.assertEqual((ep.extent("iteration"), ep.extent("rank"), ep.extent("expert")), (5, 4, 6))
        self.assertIsNone(ep.extent("nonsense"))

    def test_a_new_dataset_is_read_without_a_reader_change(self):
        path = os.path.join(self.tmp, "new_dataset.h5")
        shutil.copy(self.report, path)
        with h5py.File(path, "a") as f:
            f["ep"]["new_statistic"] = [[1.0, 2.0]] * 5
            f["ep"]["new_statistic"].attrs["dims"] = ["iteration", "layer"]
        ep = open_report(path).strategy("ep")
        self.assertEqual(ep.new_statistic.shape, (5, 2))
        self.assertEqual(ep.dims["new_statistic"], ("iteration", "layer"))

    def test_dimensions_must_agree(self):
        path = os.path.join(self.tmp, "bad_dims.h5")
        shutil.copy(self.report, path)
        with h5py.File(path, "a") as f:
            f["microep"]["loss"].attrs["dims"] = ["layer"]  # loss has 5 values, the group 2 layers
        self.assert_refused(path, "/microep/loss has 5 along layer")
        with h5py.File(path, "a") as f:
            f["microep"]["loss"].attrs["dims"] = ["iteration", "layer"]
        self.assert_refused(path, "/microep/loss has 1 dimensions, its 'dims' attribute names 2")

    def test_report_without_dims_attributes(self):
        # Reports written before the "dims" attribute existed: read with the shapes as they are.
        path = os.path.join(self.tmp, "no_dims.h5")
        shutil.copy(self.report, path)
        with h5py.File(path, "a") as f:
            for group in f.values():
                for node in group.values():
                    if "dims" in node.attrs:
                        del node.attrs["dims"]
        ep = open_report(path).strategy("ep")
        self.assertIsNone(ep.dims["loads"])
        self.assertEqual(ep.loads.shape, (5, 2, 3, 4))
        self.assertEqual(ep.iterations, 5)

    def test_unsupported_version(self):
        path = os.path.join(self.tmp, "future.h5")
        shutil.copy(self.report, path)
        with h5py.File(path, "a") as f:
            f.attrs["format_version"] = 99
        self.assert_refused(path, "format_version 99 is not supported")

    def test_reader_command_validates(self):
        reader = os.path.join(POSTPROCESS, "micromoe_report.py")
        ok = subprocess.run([sys.executable, reader, self.report], capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("format_version 1", ok.stdout)
        bad = subprocess.run([sys.executable, reader, os.path.join(self.tmp, "absent.h5")], capture_output=True,
                             text=True)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("no such file", bad.stderr)

    def test_markdown_table_has_a_row_per_strategy(self):
        table = markdown_table(open_report(self.report))
        self.assertEqual(len(table.strip().splitlines()), 2 + 4)

    def test_cost_table_against_ep_and_balanced(self):
        # The sample's phases on the slowest rank take 1 ms * (phase index + 1) * skew (skew: ep 2, ep-capacity 1.6,
        # microep 1.05, balanced 1), and its step time is 0.05 s * skew + 1 ms * iteration.
        rows = {}
        for line in cost_table(open_report(self.report)).strip().splitlines()[2:]:
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
        self.assertEqual(sorted(rows), ["balanced", "ep", "ep-capacity", "microep"])
        exchange = {name: (5 + 7) * skew for name, skew in (("ep", 2.0), ("microep", 1.05), ("balanced", 1.0))}
        self.assertEqual(rows["ep"][4], "+0.000")  # over ep
        self.assertAlmostEqual(float(rows["microep"][3]), exchange["microep"], places=3)
        self.assertAlmostEqual(float(rows["microep"][4]), exchange["microep"] - exchange["ep"], places=3)
        self.assertAlmostEqual(float(rows["balanced"][5]), 9 * 1.0, places=3)  # gradient_sync, phase 8
        self.assertEqual(rows["balanced"][1], "1.000")  # tokens/s vs balanced
        self.assertEqual(rows["ep"][0], "1.000")  # tokens/s vs ep
        self.assertGreater(float(rows["microep"][0]), 1.5)  # ep's steps take about twice as long

    def test_strategy_targets(self):
        from strategy_targets import main as targets_main, target_row
        row = target_row(self.report)
        self.assertEqual(row["ranks"], 4)
        self.assertIsNone(row["adaptive_over_ep"])  # the sample has no microep-adaptive
        # ep's loads are skewed 2x on one rank of 4 (imbalance about 1.6), so both targets apply.
        self.assertGreaterEqual(row["ep_mean_imbalance"], 1.4)
        self.assertGreater(row["microep_over_ep"], 1.3)
        expected = "met" if row["microep_of_balanced"] >= 0.95 else "missed"
        self.assertEqual(row["verdict"], expected)
        out = os.path.join(self.tmp, "targets.md")
        self.assertEqual(targets_main([self.report, "--out", out]), 0)
        with open(out, encoding="utf-8") as f:
            self.assertIn(f"| report.h5 | 4 | ", f.read())
        self.assertEqual(targets_main([os.path.join(self.tmp, "absent.h5")]), 1)
        self.assertEqual(targets_main([]), 2)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_postprocess.py PATH/TO/micromoe_write_sample_report")
    WRITER = sys.argv.pop(1)
    unittest.main()
