"""Whether each lesson's claims hold beyond its one seed: the seed benchmark.

Runs the lessons themselves (``python -m mmlearn.course run``) once per seed,
with the environment variable ``MMLEARN_SEED`` set, so the very code a
student runs is what gets measured: data, model initialisation and batch
order all change with the seed (each lesson reads it through
``mmlearn.runtime.lesson_seed``). Then it writes one table per lesson:

- every recorded figure: mean, standard deviation, min and max over the seeds,
  and each seed's value;
- every claim: on how many seeds it held, and which seeds failed.

The lessons quote "mean +- sd" from this table beside their own seed-0
figure. A claim that fails on any seed is reworded or its method fixed.

    python benchmarks/bench_lesson_seeds.py [--seeds 0 1 2 3 4] [--only 02 04]
        [--out build/seeds] [--tables benchmarks/results]

writes ``benchmarks/results/seeds_<lesson>.md``, one file per lesson, so a
rerun of one lesson replaces only that lesson's table.

Each seed's run keeps its results in ``--out/seed<k>/results.json``; with
``--reuse`` a seed whose results are already there (for the chosen lessons)
is not run again, so an interrupted benchmark resumes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_seed(seed: int, only: list[str] | None, out: Path) -> float:
    """Run the chosen lessons with ``MMLEARN_SEED=seed`` into ``out``; return seconds."""
    env = {**os.environ, "MMLEARN_SEED": str(seed)}
    command = [sys.executable, "-m", "mmlearn.course", "run", "--out", str(out)]
    if only:
        command += ["--only", *only]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if done.returncode not in (0, 1):  # 1: some lesson failed or a claim failed; still a result
        raise SystemExit(f"seed {seed}: the course run ended with code {done.returncode}")
    return time.perf_counter() - start


def load(out: Path) -> dict:
    path = out / "results.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("notebooks", {})


def have(results: dict, only: list[str] | None) -> bool:
    names = list(results)
    return bool(names) and all(any(n.startswith(o) for n in names) for o in (only or []))


def _fmt(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"


def tables(per_seed: dict[int, dict]) -> dict[str, str]:
    """Markdown per lesson: its figures, then its claims."""
    seeds = sorted(per_seed)
    lessons = sorted({name for results in per_seed.values() for name in results})
    out = {}
    for lesson in lessons:
        entries = {s: per_seed[s].get(lesson) for s in seeds if per_seed[s].get(lesson)}
        lines = [
            f"# Seed benchmark: {lesson}",
            "",
            f"Seeds {', '.join(map(str, entries))}; written by `python benchmarks/bench_lesson_seeds.py "
            f"--only {lesson[:2]}`, which runs the lesson itself once per seed (`MMLEARN_SEED`).",
            "",
        ]
        errors = {s: e["error"] for s, e in entries.items() if e.get("error")}
        for s, error in errors.items():
            lines.append(f"- seed {s} failed to run: {error}")
        metrics = sorted({m for e in entries.values() for m in e.get("metrics", {})})
        metrics = [m for m in metrics if not m.startswith("exercises_")]
        if metrics:
            lines += [
                "| figure | mean | sd | min | max | " + " | ".join(f"seed {s}" for s in entries) + " |",
                "|---|---|---|---|---|" + "---|" * len(entries),
            ]
            for m in metrics:
                values = [e.get("metrics", {}).get(m) for e in entries.values()]
                numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
                if not numbers:
                    continue
                sd = statistics.stdev(numbers) if len(numbers) > 1 else math.nan
                cells = ["" if v is None else _fmt(float(v)) for v in values]
                lines.append(
                    f"| {m} | {_fmt(statistics.fmean(numbers))} | {_fmt(sd)} | {_fmt(min(numbers))} | "
                    f"{_fmt(max(numbers))} | " + " | ".join(cells) + " |"
                )
            lines.append("")
        claims = sorted({c for e in entries.values() for c in e.get("claims", {})})
        if claims:
            lines += ["| claim | held on | failed on seeds |", "|---|---|---|"]
            for c in claims:
                outcome = {s: e.get("claims", {}).get(c) for s, e in entries.items()}
                held = sum(v is True for v in outcome.values())
                failed = [str(s) for s, v in outcome.items() if v is not True]
                lines.append(f"| {c} | {held}/{len(outcome)} | {', '.join(failed) or '-'} |")
            lines.append("")
        seconds = [e.get("seconds") for e in entries.values() if isinstance(e.get("seconds"), int | float)]
        if seconds:
            lines += [f"Seconds per run: {', '.join(f'{s:.0f}' for s in seconds)}.", ""]
        out[lesson] = "\n".join(lines)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--only", nargs="*", help="lesson prefixes, e.g. 02 04 (default: every lesson)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "seeds")
    parser.add_argument("--tables", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--reuse", action="store_true", help="keep a seed's results that are already there")
    args = parser.parse_args(argv)
    if len(set(args.seeds)) < 2:
        parser.error("--seeds needs at least two different seeds")

    per_seed = {}
    for seed in args.seeds:
        out = args.out / f"seed{seed}"
        results = load(out)
        if not (args.reuse and have(results, args.only)):
            print(f"--- seed {seed}", flush=True)
            run_seed(seed, args.only, out)
            results = load(out)
        per_seed[seed] = {
            name: entry
            for name, entry in results.items()
            if not args.only or any(name.startswith(o) for o in args.only)
        }
    from mmlearn.report import atomic_write_text

    args.tables.mkdir(parents=True, exist_ok=True)
    for lesson, text in tables(per_seed).items():
        path = args.tables / f"seeds_{lesson}.md"
        atomic_write_text(path, text)
        print(text)
        print(f"table: {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
