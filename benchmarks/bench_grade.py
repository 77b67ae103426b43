"""How long the classroom grader takes for a class: 30 copies of lesson 00, mixed.

No lesson teaches this script: it measures the grader of TEACHING.md.

10 solved copies (the solution notebook), 10 untouched student copies, and
10 hostile ones (two each: every cell raises, a function that loops forever,
a cell that calls os._exit, a 50 MB print, a file that is not JSON), graded
with ``grade_class`` and the command line's default limits except a cell time
limit of 30 s (so the endless loop at top level costs 30 s, not 120). Prints
the seconds in all, per notebook, and the points of each kind.

    python benchmarks/bench_grade.py [--copies 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat

from mmlearn.grade.classroom import grade_class
from mmlearn.grade.submission import Limits

ROOT = Path(__file__).resolve().parents[1]
SOLVED = ROOT / "solutions" / "00_getting_started.ipynb"
STUDENT = ROOT / "notebooks" / "00_getting_started.ipynb"


def hostile(kind: str) -> str:
    """The student copy of lesson 00 with one kind of trouble added (or a broken file)."""
    if kind == "not_json":
        return '{"cells": [ broken'
    nb = nbformat.read(STUDENT, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if kind == "raises":
        for cell in code:
            cell.source += "\nraise RuntimeError('every cell fails')"
    elif kind == "loops":
        stub = next(c for c in code if c.source.startswith("def standardise"))
        stub.source = stub.source.replace("raise NotImplementedError()", "while True:\n        pass")
    elif kind == "exits":
        code[3].source += "\nimport os\nos._exit(1)"
    elif kind == "prints":
        code[2].source += "\nprint('x' * 50_000_000)"
    return nbformat.writes(nb)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=30, help="notebooks in all (a third of each kind)")
    args = parser.parse_args()
    third = max(1, args.copies // 3)
    kinds = ["raises", "loops", "exits", "prints", "not_json"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        for i in range(third):
            (folder / f"solved_{i:02d}.ipynb").write_bytes(SOLVED.read_bytes())
            (folder / f"untouched_{i:02d}.ipynb").write_bytes(STUDENT.read_bytes())
            kind = kinds[i % len(kinds)]
            (folder / f"hostile_{kind}_{i:02d}.ipynb").write_text(hostile(kind), encoding="utf-8")
        start = time.perf_counter()
        results = grade_class([folder], Path(tmp) / "out", lesson="00", limits=Limits(cell_timeout_s=30))
        seconds = time.perf_counter() - start
    print(f"graded {len(results)} notebooks in {seconds:.1f} s ({seconds / len(results):.1f} s each)")
    for prefix in ("solved", "untouched", "hostile"):
        group = [r for r in results if r.student.startswith(prefix)]
        points = sorted({r.points for r in group})
        slowest = max(r.seconds for r in group)
        print(f"  {prefix:10s} {len(group):3d} notebooks, points {points}, slowest {slowest:.1f} s")
    for r in results:
        if r.student.startswith("hostile"):
            print(f"  {r.student:22s} {r.points:g}/{r.max_points:g}  {r.note[:90]}")


if __name__ == "__main__":
    main()
