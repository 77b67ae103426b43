"""Execute lesson notebooks headless: in place for authors, or as the course run.

``make course`` calls ``run_course``: every notebook of ``solutions/`` runs in
a fresh kernel, its executed copy and an HTML page go to ``build/course/``,
and the results that the lessons ``record`` are gathered into
``build/course/results.json``. One failing notebook makes the run fail, after
the others have still run.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from mmlearn.report import RESULTS_ENV, atomic_write_text
from mmlearn.runtime import get_device

CELL_TIMEOUT_S = 600


def execute(nb: nbformat.NotebookNode, cwd: Path, env: dict | None = None) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a new kernel started in ``cwd``; raises on a cell error."""
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        client = NotebookClient(
            nb,
            timeout=CELL_TIMEOUT_S,
            kernel_name="python3",
            resources={"metadata": {"path": str(cwd)}},
            record_timing=False,
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def execute_in_place(path: Path) -> float:
    """Execute a solution notebook and save it with its outputs (for committing)."""
    from mmlearn.course.student import dumps

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    execute(nb, path.parent, env={"MMLEARN_DEVICE": "cpu"})
    seconds = time.perf_counter() - start
    atomic_write_text(path, dumps(nb))
    return seconds


def run_course(root: Path, out: Path, only: list[str] | None = None) -> int:
    """Run every lesson into ``out``; print a table; return the number of failures."""
    from nbconvert import HTMLExporter

    from mmlearn.course.student import dumps, solution_paths

    root, out = Path(root), Path(out)
    (out / "metrics").mkdir(parents=True, exist_ok=True)
    device = str(get_device())
    results: dict = {"notebooks": {}}
    failures = 0
    for path in solution_paths(root):
        name = path.stem
        if only and not any(name.startswith(o) for o in only):
            continue
        metrics_file = out / "metrics" / f"{name}.json"
        metrics_file.unlink(missing_ok=True)
        nb = nbformat.read(path, as_version=4)
        print(f"running {name} ...", flush=True)
        start = time.perf_counter()
        error = None
        try:
            execute(nb, path.parent, env={RESULTS_ENV: str(metrics_file.resolve())})
        except CellExecutionError as err:
            error = str(err).strip().splitlines()[-1] if str(err).strip() else "cell error"
            failures += 1
        seconds = round(time.perf_counter() - start, 1)
        atomic_write_text(out / f"{name}.ipynb", dumps(nb))
        html, _ = HTMLExporter().from_notebook_node(nb)
        atomic_write_text(out / f"{name}.html", html)
        metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
        entry = {"seconds": seconds, "device": device, "metrics": metrics}
        if error:
            entry["error"] = error
        results["notebooks"][name] = entry
    atomic_write_text(out / "results.json", json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(format_table(results))
    print(f"\nresults: {out / 'results.json'}")
    if failures:
        print(f"{failures} notebook(s) FAILED")
    return failures


def format_table(results: dict, max_metrics: int = 4) -> str:
    """A plain-text table: notebook, seconds, device, first few key results."""
    rows = [("notebook", "seconds", "device", "key results")]
    for name, entry in results["notebooks"].items():
        shown = list(entry["metrics"].items())[:max_metrics]
        text = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown)
        if len(entry["metrics"]) > max_metrics:
            text += f", ... ({len(entry['metrics'])} in all)"
        if "error" in entry:
            text = f"FAILED: {entry['error']}"
        rows.append((name, f"{entry['seconds']:.1f}", entry["device"], text))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)
