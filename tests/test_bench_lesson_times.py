"""benchmarks/bench_lesson_times.py turns course runs into the lesson-time table the issues quote."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_lesson_times.py"
spec = importlib.util.spec_from_file_location("bench_lesson_times", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def run(**seconds):
    out = {name: {"seconds": s} for name, s in seconds.items()}
    out.setdefault("00_getting_started", {"seconds": 7.0})
    out["00_getting_started"]["metrics"] = {"matmul_gflops": 148.2}
    return out


def row(text: str, lesson: str) -> list[str]:
    (line,) = [line for line in text.splitlines() if line.startswith(f"| {lesson} ")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_fastest_median_and_estimate_per_lesson():
    runs = [run(a_fast=20.0, b_slow=30.0), run(a_fast=22.0, b_slow=40.0), run(a_fast=30.0, b_slow=35.0)]
    text = bench.table(runs, slowdown=2.5)
    assert "148 GFLOP/s" in text and "3 run(s)" in text
    assert row(text, "a_fast") == ["a_fast", "20.0", "22.0", "50", "yes", "yes"]
    assert row(text, "b_slow") == ["b_slow", "30.0", "35.0", "75", "no", "yes"]
    assert row(bench.table(runs, slowdown=3.1), "b_slow")[3:] == ["93", "no", "no"]


def test_a_lesson_that_failed_every_run_says_so():
    runs = [run(c_broken=None)]
    runs[0]["c_broken"] = {"error": "CellExecutionError"}
    assert row(bench.table(runs, slowdown=2.0), "c_broken")[1] == "failed"


def test_without_lesson_00_the_speed_is_unknown():
    assert "speed unknown" in bench.table([{"04_contrastive": {"seconds": 27.0}}], slowdown=2.0)


@pytest.mark.parametrize(("runs", "slowdown", "word"), [([], 2.0, "runs"), ([run()], 0.0, "slowdown")])
def test_bad_input_names_the_argument(runs, slowdown, word):
    with pytest.raises(ValueError, match=word):
        bench.table(runs, slowdown)
