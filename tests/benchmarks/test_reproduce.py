"""benchmarks/reproduce.py's comparison: what counts as the same record file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("reproduce", ROOT / "benchmarks" / "reproduce.py")
reproduce = sys.modules["reproduce"] = importlib.util.module_from_spec(spec)  # dataclasses look it up
spec.loader.exec_module(reproduce)


def test_seconds_are_skipped_and_numbers_compared_closely():
    old = [{"task": "t", "method": "m", "weighted_tau": 0.5, "seconds": 3.0, "fit_seconds": 1.0}]
    new = [{"task": "t", "method": "m", "weighted_tau": 0.5 + 1e-13, "seconds": 9.0, "fit_seconds": 2.0}]
    assert reproduce.differences(old, new) == []
    new[0]["weighted_tau"] = 0.51
    assert reproduce.differences(old, new) == [("[t / m].weighted_tau", 0.5, 0.51)]
    assert reproduce.differences([{"x": float("nan")}], [{"x": float("nan")}]) == []


def test_records_are_matched_by_their_names_not_their_position():
    old = [{"task": "a", "method": "m", "v": 1}, {"task": "b", "method": "m", "v": 2}]
    new = [{"task": "b", "method": "m", "v": 2}, {"task": "a", "method": "n", "v": 1}, {"task": "a", "method": "m", "v": 1}]
    assert reproduce.differences(old, new) == [("[a / n]", "(absent)", "(record)")]
    assert reproduce.differences(new, old) == [("[a / n]", "(record)", "(absent)")]


def test_the_quick_set_is_under_ten_minutes_and_names_real_scripts():
    quick = [b for b in reproduce.BENCHMARKS if b.minutes < reproduce.QUICK_MINUTES]
    assert {b.name for b in quick} >= {"live_zoo", "truth_reliability", "rerank_replay"}
    for b in reproduce.BENCHMARKS:
        assert (ROOT / b.args[0]).is_file() and (ROOT / "benchmarks" / "results" / b.output).is_file()
