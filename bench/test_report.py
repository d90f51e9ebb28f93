"""Checks of bench/report.py's arithmetic (run by `make test`, in under a
second; no benchmark runs): CPU ratios are paired within repeats, goals are
judged on them, and the ratio of the medians is printed beside."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402


def case(cpus, label="case"):
    """A result whose repeat r took cpus[r] seconds (wall = CPU)."""
    by = {r: {"wall": c, "cpu": c} for r, c in enumerate(cpus)}
    med = sorted(cpus)[len(cpus) // 2]
    return {"label": label, "unit": "us/module", "reps": len(cpus), "wall": med, "cpu": med, "per": 1, "by_repeat": by}


class PairedRatio(unittest.TestCase):
    # The VM slows down over the run: both slow down together, so within
    # each repeat the subject takes 1.2x its peer, while the medians (of
    # samples taken at different moments) say 1.5x.
    peer = [10, 10, 20, 20, 30]
    subject = [12, 12, 24, 24, 36]

    def results(self, subject=None, peer=None):
        return {"warm/tiny/engine-callback": case(subject or self.subject, "jitcore engine"),
                "warm/tiny/floor": case(peer or self.peer, "floor"),
                "warm/tiny/unitfloor": case([11, 11, 22, 22, 33], "unit floor")}

    def test_the_median_of_the_ratios_within_each_repeat(self):
        r = self.results(subject=[12, 12, 30, 24, 36])
        self.assertAlmostEqual(report.paired_ratio(r, "warm/tiny/engine-callback", "warm/tiny/floor"), 1.2)

    def test_only_repeats_both_ran_are_paired_and_three_are_needed(self):
        r = self.results()
        del r["warm/tiny/floor"]["by_repeat"][0], r["warm/tiny/floor"]["by_repeat"][1]
        self.assertAlmostEqual(report.paired_ratio(r, "warm/tiny/engine-callback", "warm/tiny/floor"), 1.2)
        del r["warm/tiny/floor"]["by_repeat"][2]
        self.assertIsNone(report.paired_ratio(r, "warm/tiny/engine-callback", "warm/tiny/floor"))

    def test_goals_are_judged_on_the_paired_ratio_with_the_medians_beside(self):
        # Shifted so the medians come from different moments: 24 / 20.
        r = self.results(subject=[12, 24, 24, 36, 36])
        r["warm/tiny/floor"] = case([10, 20, 20, 30, 30], "floor")
        r["warm/tiny/engine-callback"]["by_repeat"] = {k: {"wall": 1.2 * v, "cpu": 1.2 * v} for k, v in
                                                     enumerate([10, 20, 20, 30, 30])}
        r["warm/tiny/engine-callback"]["cpu"] = r["warm/tiny/engine-callback"]["wall"] = 40
        goals = {g: (f, m) for g, f, m in report.goals(r, {"throughput": ""})}
        figure, met = goals["warm <= 1.3x the floor, tiny, engine-callback"]
        self.assertIs(met, True)
        self.assertIn("CPU 1.20x paired (medians 2.00x", figure)
        self.assertIn("the custom-unit floor: CPU 1.10x", figure)

    def test_without_pairs_the_ratio_of_the_medians_is_used(self):
        r = self.results()
        for k in r:
            del r[k]["by_repeat"]
        judged, text = report.compared(r, "warm/tiny/engine-callback", "warm/tiny/floor")
        self.assertAlmostEqual(judged, 24 / 20)
        self.assertNotIn("paired", text)

    def test_figure_rows_give_the_paired_cpu_ratio(self):
        r = self.results()
        self.assertIn("CPU 1.2x", report.ratio_text(r, "warm/tiny/engine-callback"))

    def test_a_share_is_written_as_a_percentage(self):
        r = {"lazy/jitcore-lazy": case([0.04, 0.04, 0.08, 0.08, 0.12]),
             "lazy/jitcore-eager": case([1, 1, 2, 2, 3])}
        goals = {g: (f, m) for g, f, m in report.goals(r, {"throughput": ""})}
        figure, met = goals["lazy one call <= 5% of jitcore eager, whole process"]
        self.assertIs(met, True)
        self.assertTrue(figure.startswith("CPU 4% paired"), figure)


if __name__ == "__main__":
    unittest.main()
