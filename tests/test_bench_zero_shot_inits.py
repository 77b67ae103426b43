"""benchmarks/bench_zero_shot_inits.py: its table reports every start and the spread lesson 04 quotes."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_zero_shot_inits.py"
spec = importlib.util.spec_from_file_location("bench_zero_shot_inits", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def row(r1, unseen, seen=0.9):
    return {"r1": r1, "zero_shot_unseen": unseen, "zero_shot_seen": seen, "seconds": 14.2}


def test_one_line_per_start_then_the_spread():
    text = bench.table({2: row(0.9, 0.5), 0: row(0.8, 0.7), 1: row(0.85, 0.9)}, data_seed=3)
    assert "data seed 3 fixed" in text
    starts = [
        line.split("|")[1].strip()
        for line in text.splitlines()
        if line.startswith("| ") and "|---" not in line
    ]
    assert starts[:4] == ["start", "0", "1", "2"]  # sorted by start
    (spread,) = [line for line in text.splitlines() if line.startswith("| zero_shot_unseen |")]
    assert [c.strip() for c in spread.strip("|").split("|")] == [
        "zero_shot_unseen",
        "0.700",
        "0.200",
        "0.500",
        "0.900",
    ]


def test_one_start_is_not_a_spread():
    with pytest.raises(ValueError, match="rows"):
        bench.table({0: row(0.9, 0.7)}, data_seed=0)
