"""How long each lesson takes here, and what that means on a slower machine.

The course promises a lesson in 60 s or less on a quiet 2-core laptop (90 s at
most under load). This machine is rarely that laptop, so the script runs the
lessons as ``make course`` does (``python -m mmlearn.course run``), several
times, and writes one table: each lesson's fastest and median seconds here,
this machine's matmul speed (lesson 00's ``matmul_gflops``, from its first
run), and an estimate for the reference machine.

The estimate multiplies this machine's fastest time by ``--slowdown``, a
measured ratio rather than a ratio of GFLOP/s: lesson start-up (imports, the
kernel) and small single-thread kernels do not scale with matmul speed. The
default, 2.6, was measured on a quiet 2-core AMD machine at 70 GFLOP/s against
a 148 GFLOP/s 2-core machine, running the same commit (4a10819) on both:
lesson 02 took 54.0 s and 20.3 s (2.66), lesson 04 124.1 s and 49.9 s (2.49).
Measure it again when the reference machine changes.

    python benchmarks/bench_lesson_times.py [--only 00 04] [--repeats 2]
        [--slowdown 2.6] [--out build/times] [--table benchmarks/results/lesson_times.md]

Run it on a quiet machine: a second job on a 2-core machine doubles the times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S, CAP_S = 60.0, 90.0  # a lesson's budget on the reference machine: target, and at most under load


def run_once(only: list[str] | None, out: Path) -> dict:
    """Run the chosen lessons into ``out``; return results.json's ``notebooks`` entry."""
    command = [sys.executable, "-m", "mmlearn.course", "run", "--out", str(out)]
    if only:
        command += ["--only", *only]
    done = subprocess.run(command, cwd=ROOT, check=False)
    if done.returncode not in (0, 1):  # 1: a lesson or a claim failed; its time is still a time
        raise SystemExit(f"the course run ended with code {done.returncode}")
    return json.loads((out / "results.json").read_text(encoding="utf-8")).get("notebooks", {})


def table(runs: list[dict], slowdown: float) -> str:
    """Markdown: per lesson the fastest and median seconds over ``runs`` and the reference estimate."""
    if not runs:
        raise ValueError("runs must hold at least one run's results")
    if not slowdown > 0:
        raise ValueError(f"slowdown must be positive, got {slowdown!r}")
    gflops = runs[0].get("00_getting_started", {}).get("metrics", {}).get("matmul_gflops")
    speed = f"{gflops:.0f} GFLOP/s in lesson 00's matmul" if gflops else "lesson 00 not run, speed unknown"
    lines = [
        "# Lesson times",
        "",
        f"Written by `python benchmarks/bench_lesson_times.py`: {len(runs)} run(s) of "
        f"`python -m mmlearn.course run` on this machine ({speed}). "
        f"The estimate is the fastest time here times {slowdown:g}, the slowdown measured on the "
        "70 GFLOP/s reference machine (see the script's docstring).",
        "",
        "| lesson | fastest s | median s | est. reference s | within 60 s | within 90 s |",
        "|---|---|---|---|---|---|",
    ]
    lessons = sorted({name for run in runs for name in run})
    for lesson in lessons:
        seconds = [
            run[lesson]["seconds"]
            for run in runs
            if isinstance(run.get(lesson, {}).get("seconds"), int | float)
        ]
        if not seconds:
            lines.append(f"| {lesson} | failed | | | | |")
            continue
        estimate = min(seconds) * slowdown
        lines.append(
            f"| {lesson} | {min(seconds):.1f} | {statistics.median(seconds):.1f} | {estimate:.0f} | "
            f"{'yes' if estimate <= TARGET_S else 'no'} | {'yes' if estimate <= CAP_S else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="lesson prefixes, e.g. 02 04 (default: every lesson)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--slowdown", type=float, default=2.6)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "times")
    parser.add_argument("--table", type=Path, default=ROOT / "benchmarks" / "results" / "lesson_times.md")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if not args.slowdown > 0:
        parser.error(f"--slowdown must be positive, got {args.slowdown}")
    runs = [run_once(args.only, args.out / f"run{k}") for k in range(args.repeats)]
    from mmlearn.report import atomic_write_text

    text = table(runs, args.slowdown)
    args.table.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.table, text)
    print(text)
    print(f"table: {args.table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
