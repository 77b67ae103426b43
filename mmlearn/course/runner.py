"""Execute lesson notebooks headless: in place for authors, or as the course run.

Lesson 00 (section 6, "Results of this lesson") explains the results file this module gathers.

``make course`` calls ``run_course``: every notebook of ``solutions/`` runs in
a fresh kernel, its executed copy and an HTML page go to ``build/course/``,
and the results that the lessons ``record`` are gathered into
``build/course/results.json``.

A bad lesson does not stop the run: a cell error, a cell or the whole
notebook running past its time limit, or a kernel that dies is recorded as
that lesson's ``error`` in ``results.json``, the next lesson runs, and the
run fails at the end. ``results.json`` is updated after each lesson, under a
lock, by merging into what is there: an ``--only`` run or a second run into
the same folder keeps the other lessons' results.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import nbformat

from mmlearn.report import RESULTS_ENV, atomic_write_text, new_file_mode

try:
    import fcntl
except ImportError:  # Windows: merging still happens, without the lock
    fcntl = None

CELL_TIMEOUT_S = 600
RUN_CELL_TIMEOUT_S = 300
NOTEBOOK_TIMEOUT_S = 600
RESULTS_FILE = "results.json"
LOCK_FILE = ".results.json.lock"
_RESERVED = ("seconds", "device", "error")
_ANSI_RE = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


class CourseRunError(RuntimeError):
    """The course run cannot start (output folder unusable, no lesson selected)."""


class LessonError(RuntimeError):
    """One notebook failed; ``str()`` is a one-line message without terminal colours."""


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour and cursor codes (IPython tracebacks are full of them)."""
    return _ANSI_RE.sub("", text)


class _Clock:
    """Per-cell time limits that never run past the notebook's own limit."""

    def __init__(self, cell_timeout: float | None, notebook_timeout: float | None):
        self.cell_timeout = cell_timeout or None
        self.end = time.monotonic() + notebook_timeout if notebook_timeout else None
        self.notebook_timeout = notebook_timeout
        self.by_notebook = False
        self.cell_index: int | None = None
        self.cell_source = ""

    def timeout(self, cell) -> int | None:
        if self.end is None:
            self.by_notebook = False
            return self.cell_timeout
        left = max(1, math.ceil(self.end - time.monotonic()))
        self.by_notebook = self.cell_timeout is None or left < self.cell_timeout
        return left if self.by_notebook else self.cell_timeout

    def started(self, cell, cell_index: int, **_) -> None:
        self.cell_index, self.cell_source = cell_index, cell.source

    def where(self) -> str:
        if self.cell_index is None:
            return ""
        first = next((line.strip() for line in self.cell_source.splitlines() if line.strip()), "")
        if len(first) > 60:
            first = first[:57] + "..."
        return f" (cell {self.cell_index + 1}: {first})" if first else f" (cell {self.cell_index + 1})"

    def explain(self, err: BaseException) -> str:
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        if isinstance(err, CellExecutionError):
            value = strip_ansi(str(err.evalue or "")).strip()
            value = value.splitlines()[0] if value else ""
            what = f"{strip_ansi(err.ename)}: {value}" if value else strip_ansi(err.ename)
        elif isinstance(err, CellTimeoutError):
            if self.by_notebook:
                what = f"ran past the notebook time limit of {self.notebook_timeout:g} s"
            else:
                what = f"a cell ran past the cell time limit of {self.cell_timeout:g} s"
        elif isinstance(err, DeadKernelError):
            what = "the kernel died (a crash, out of memory, or the process exited)"
        else:
            lines = strip_ansi(str(err)).strip().splitlines()
            what = type(err).__name__ + (f": {lines[0]}" if lines else "")
        if len(what) > 300:
            what = what[:297] + "..."
        return what + self.where()


def execute(
    nb: nbformat.NotebookNode,
    cwd: Path,
    env: dict | None = None,
    cell_timeout: float | None = CELL_TIMEOUT_S,
    notebook_timeout: float | None = None,
) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a new kernel started in ``cwd``.

    A cell error, a cell past ``cell_timeout`` seconds, the notebook past
    ``notebook_timeout`` seconds, or a dead kernel raises ``LessonError``
    with a one-line message (the nbclient error is its ``__cause__``); the
    cells run so far keep their outputs in ``nb``. ``None`` or 0: no limit.
    """
    from nbclient import NotebookClient

    clock = _Clock(cell_timeout, notebook_timeout)
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        client = NotebookClient(
            nb,
            timeout=int(math.ceil(clock.cell_timeout)) if clock.cell_timeout else None,
            timeout_func=clock.timeout,
            on_cell_execute=clock.started,
            kernel_name="python3",
            resources={"metadata": {"path": str(cwd)}},
            record_timing=False,
        )
        client.execute()
    except Exception as err:
        raise LessonError(clock.explain(err)) from err
    finally:
        os.environ.clear()
        os.environ.update(saved)
        finish_progress_text(nb)
        name_interactive_widgets(nb)
    return nb


INTERACTIVE_TEXT = "[interactive controls: run this cell in Jupyter to move them]"


def name_interactive_widgets(nb: nbformat.NotebookNode) -> int:
    """Replace an ``interact`` widget's saved text copy with one plain line; returns how many.

    Without the widget state a viewer (GitHub, nbviewer, a diff) shows the
    widget's ``repr``, "interactive(children=(FloatSlider(value=0.5, ...":
    noise that reads like an error. The line says what is there instead.
    """
    rewritten = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text = "".join(data.get("text/plain", ""))
            if "application/vnd.jupyter.widget-view+json" in data and text.startswith("interactive("):
                data["text/plain"] = INTERACTIVE_TEXT
                rewritten += 1
    return rewritten


def finish_progress_text(nb: nbformat.NotebookNode) -> int:
    """Give each tqdm widget's plain-text copy the bar's final state; returns how many were rewritten.

    A ``tqdm.auto`` bar is a widget whose saved ``text/plain`` fallback is the
    first frame, "0%|  | 0/20": a reader of the committed notebook (on GitHub,
    or without the widget state) would think training never ran. The widget
    state that nbclient saves holds the finished bar; its text replaces the
    fallback.
    """
    state = (
        nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    )
    rewritten = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            box = state.get(view["model_id"], {}) if view else {}
            if box.get("model_name") != "HBoxModel":
                continue
            parts = [
                state.get(child.removeprefix("IPY_MODEL_"), {}) for child in box["state"].get("children", [])
            ]
            bars = [p["state"] for p in parts if p.get("model_name") == "FloatProgressModel"]
            texts = [p["state"].get("value", "") for p in parts if p.get("model_name") == "HTMLModel"]
            if len(bars) != 1 or len(texts) != 2:  # not a tqdm bar
                continue
            done = bars[0].get("max") and bars[0].get("value") == bars[0].get("max")
            left, right = (html.unescape(t).replace("\u2007", " ") for t in texts)
            out["data"]["text/plain"] = f"{left}|{'█' * 10 if done else ' ' * 10}|{right}"
            rewritten += 1
    return rewritten


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


def check_output_folder(out: Path) -> None:
    """Create ``out`` (and ``out/metrics``) and make sure files can be written there.

    Raises ``CourseRunError`` with a plain message otherwise, before any lesson runs.
    """
    for folder in (out, out / "metrics"):
        if folder.exists() and not folder.is_dir():
            raise CourseRunError(f"cannot write the course run to {out}: {folder} is a file, not a folder")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            blocker = next((p for p in folder.parents if p.exists() and not p.is_dir()), folder)
            raise CourseRunError(
                f"cannot create the output folder {out}: {blocker} is a file, not a folder"
            ) from None
        except OSError as err:
            raise CourseRunError(f"cannot create the output folder {folder}: {err.strerror}") from None
        try:
            fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test-")
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            reason = err.strerror or str(err)
            raise CourseRunError(f"the output folder {folder} is not writable: {reason}") from None


@contextmanager
def _results_lock(out: Path):
    """Hold an exclusive lock on ``out``'s results (a ``flock`` on a lock file, where available)."""
    fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


def merge_results(out: Path, entries: dict) -> dict:
    """Put ``entries`` (notebook name -> entry) into ``out/results.json``; keep every other lesson.

    Read, update and write happen under the results lock, so concurrent runs
    into one folder do not drop each other's lessons. Returns the merged data.
    """
    path = Path(out) / RESULTS_FILE
    with _results_lock(Path(out)):
        data: dict = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                print(f"warning: {path} was unreadable ({err}); starting it afresh", file=sys.stderr)
            if not isinstance(data, dict) or not isinstance(data.get("notebooks", {}), dict):
                data = {}
        data.setdefault("notebooks", {}).update(entries)
        atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return data


def lesson_results(data: dict) -> dict:
    """A per-notebook results file as results.json sections.

    Plain values are metrics; a dict value is a section of its own, kept
    under its key: ``{"acc": 0.9}`` and ``{"metrics": {"acc": 0.9}, "claims":
    {"c": True}}`` both work, and so does a mix.
    """
    sections: dict = {"metrics": {}}
    for key, value in data.items():
        if isinstance(value, dict):
            sections.setdefault(key, {}).update(value)
        else:
            sections["metrics"][key] = value
    return {k: v for k, v in sections.items() if k not in _RESERVED}


def run_course(
    root: Path,
    out: Path,
    only: list[str] | None = None,
    notebook_timeout: float | None = NOTEBOOK_TIMEOUT_S,
    cell_timeout: float | None = RUN_CELL_TIMEOUT_S,
) -> int:
    """Run every lesson into ``out``; print a table; return the number of failures.

    Raises ``CourseRunError`` before running anything when ``out`` cannot be
    written or ``only`` selects no lesson.
    """
    from nbconvert import HTMLExporter

    from mmlearn.course.student import dumps, solution_paths
    from mmlearn.runtime import get_device

    root, out = Path(root), Path(out)
    paths = [p for p in solution_paths(root) if not only or any(p.stem.startswith(o) for o in only)]
    if not paths:
        raise CourseRunError(f"no lesson in {root / 'solutions'} starts with {' or '.join(only or [])}")
    check_output_folder(out)
    device = str(get_device())
    ran: dict = {}
    failures = 0
    for path in paths:
        name = path.stem
        # A results file of this run's own: a concurrent run of the same lesson writes another one.
        scratch = out / "metrics" / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.json"
        print(f"running {name} ...", flush=True)
        start = time.perf_counter()
        error = None
        try:
            nb = nbformat.read(path, as_version=4)
            try:
                execute(
                    nb,
                    path.parent,
                    env={RESULTS_ENV: str(scratch.resolve())},
                    cell_timeout=cell_timeout,
                    notebook_timeout=notebook_timeout,
                )
            except LessonError as err:
                error = str(err)
            seconds = round(time.perf_counter() - start, 1)
            atomic_write_text(out / f"{name}.ipynb", dumps(nb))
            html, _ = HTMLExporter().from_notebook_node(nb)
            atomic_write_text(out / f"{name}.html", html)
        except Exception as err:  # an unreadable notebook, a failed export: still only this lesson
            seconds = round(time.perf_counter() - start, 1)
            error = error or strip_ansi(f"{type(err).__name__}: {err}").strip().splitlines()[0]
        metrics_file = out / "metrics" / f"{name}.json"
        data: dict = {}
        if scratch.exists():
            try:
                data = json.loads(scratch.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
            except ValueError as err:
                error = error or f"its results file is unreadable: {err}"
                data = {}
            os.replace(scratch, metrics_file)
            os.chmod(metrics_file, new_file_mode())
        else:
            metrics_file.unlink(missing_ok=True)
        entry = {**lesson_results(data), "seconds": seconds, "device": device}
        failed_claims = sorted(k for k, v in (entry.get("claims") or {}).items() if v is not True)
        if failed_claims and not error:  # the lesson ran, but its prose now says something false
            error = f"claim(s) that no longer hold: {', '.join(failed_claims)}"
        if error:
            entry["error"] = error
            failures += 1
            print(f"  {name} FAILED: {error}", flush=True)
        ran[name] = entry
        merge_results(out, {name: entry})
    print(format_table({"notebooks": ran}))
    print(f"\nresults: {out / RESULTS_FILE}")
    if failures:
        print(f"{failures} notebook(s) FAILED")
    return failures


def format_table(results: dict, max_metrics: int = 4) -> str:
    """A plain-text table: notebook, seconds, device, first few key results."""
    rows = [("notebook", "seconds", "device", "key results")]
    for name, entry in results["notebooks"].items():
        metrics = entry.get("metrics", {})
        shown = list(metrics.items())[:max_metrics]
        text = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown)
        if len(metrics) > max_metrics:
            text += f", ... ({len(metrics)} in all)"
        claims = entry.get("claims")
        if isinstance(claims, dict) and claims:
            held = sum(1 for v in claims.values() if v is True)
            text += ("; " if text else "") + f"claims {held}/{len(claims)} hold"
        if "error" in entry:
            text = f"FAILED: {entry['error']}"
        rows.append((name, f"{entry['seconds']:.1f}", entry["device"], text))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)
