"""Grade one submitted notebook: a scratch copy, its own kernel, time limits, the grader's own checks.

No lesson teaches this module: it belongs to the classroom grader (see TEACHING.md).

Whatever a notebook does, ``grade_submission`` returns a ``Submission`` (one
row per graded exercise of its lesson, and a note saying what went wrong) and
never raises, so one bad notebook never costs the next student a grade.

Steps, and why:

1. Read it: a file that is not a notebook (invalid JSON) or is another
   lesson's is not run; every exercise gets 0 with the reason.
2. Look at its code: a cell that reaches into the checker's internals or calls
   the course's reference answers (names the teacher's own lesson does not
   use) marks the notebook for review; its exercises get 0 with the reason.
3. Build a scratch folder (a temporary directory): a read-only copy of the
   ``mmlearn`` package (first on ``PYTHONPATH``, so a student's write to it
   fails, and never reaches the teacher's copy), and the kernel's working
   folder, ``HOME`` and ``TMPDIR``; the kernel runs there on the CPU
   (``MMLEARN_DEVICE=cpu``, no CUDA device visible) under the limits of
   ``mmlearn.grade.kernel``.
4. Run every code cell in order, keeping going after errors. A cell past the
   cell time limit, or one that ends the kernel (``os._exit``, a crash), is
   skipped: a new kernel runs the cells before it again and the notebook goes
   on after it (at most ``MAX_RESTARTS`` times). The whole notebook has its
   own time limit. Printed output is not kept at all (a 50 MB print costs
   nothing but its transfer).
5. Then the grader's own request runs ``mmlearn.grade.inkernel`` in the
   kernel (its source sent in the request, the specs imported from a second
   copy of the package made only now), which re-runs every spec (and the
   teacher's hidden ones) and answers with a structured display output that
   carries a one-time token.
6. Folders the teacher names (the submissions, the gradebook's folder) are
   fingerprinted before and after: a notebook that changed files there is
   named in its note (detected, not prevented: the kernel runs as the
   teacher's user, see TEACHING.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from mmlearn.grade.inkernel import MIME
from mmlearn.grade.lessons import LessonPlan, lesson_of

CELL_TIMEOUT_S = 120.0
NOTEBOOK_TIMEOUT_S = 600.0
MEMORY_MB = 8192
FILE_MB = 512
MAX_RESTARTS = 3
KERNEL_NAME = "mmlearn-grade"
NOT_ATTEMPTED = "not attempted"

# Names a lesson's own code never needs: a submission that uses more of them than the teacher's
# solution does is reaching into the checker or calling the course's answers.
SUSPECT_RE = re.compile(
    r"_REGISTRY|_PASSED|_SUBMITTED|_run_spec|_run_forked|_run_in_thread|_reference\b|"
    r"mmlearn\.exercises\.lesson|mmlearn\.grade|MMLEARN_GRADE|vnd\.mmlearn"
)


@dataclass
class Row:
    exercise: str
    title: str
    max_points: float
    points: float = 0.0
    passed: bool = False
    status: str = NOT_ATTEMPTED
    message: str = ""


@dataclass
class Submission:
    student: str
    file: str
    lesson: str | None
    rows: list[Row] = field(default_factory=list)
    note: str = ""  # what went wrong with the notebook as a whole ("" when nothing did)
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.rows)


@dataclass(frozen=True)
class Limits:
    cell_timeout_s: float = CELL_TIMEOUT_S
    notebook_timeout_s: float = NOTEBOOK_TIMEOUT_S
    memory_mb: float = MEMORY_MB
    file_mb: float = FILE_MB
    check_timeout_s: float | None = None  # None: each exercise's own time limit
    max_restarts: int = MAX_RESTARTS

    def __post_init__(self):
        for name in ("cell_timeout_s", "notebook_timeout_s", "memory_mb", "file_mb"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.check_timeout_s is not None and not self.check_timeout_s > 0:
            raise ValueError(
                f"check_timeout_s must be a positive number or None, got {self.check_timeout_s!r}"
            )


# --- fingerprints of the teacher's folders ----------------------------------------------------------------


def fingerprint(folders) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime in ns) of every file under ``folders``."""
    found: dict[str, tuple[int, int]] = {}
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in files:
                path = os.path.join(root, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                found[path] = (st.st_size, st.st_mtime_ns)
    return found


def changed_files(before: dict, after: dict, ignore=()) -> list[str]:
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return sorted(p for p in changed if not any(p == i or p.startswith(str(i) + os.sep) for i in ignore))


# --- the scratch folder ----------------------------------------------------------------------------------


def _read_only(tree: Path) -> None:
    for root, dirs, files in os.walk(tree):
        for name in files:
            os.chmod(os.path.join(root, name), stat.S_IRUSR | stat.S_IRGRP)
        for name in dirs:
            os.chmod(os.path.join(root, name), stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    os.chmod(tree, stat.S_IRUSR | stat.S_IXUSR)


def _writable(tree: Path) -> None:
    """Undo ``_read_only`` (and anything a student did to modes) so the scratch folder can be removed."""
    for root, dirs, _ in os.walk(tree):
        os.chmod(root, stat.S_IRWXU)
        for name in dirs:
            try:
                os.chmod(os.path.join(root, name), stat.S_IRWXU)
            except OSError:
                pass


def _copy_package(folder: Path) -> None:
    """Copy the ``mmlearn`` package this grader runs from into ``folder/mmlearn``."""
    import mmlearn

    package = Path(mmlearn.__file__).resolve().parent
    shutil.copytree(package, folder / "mmlearn", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def make_scratch(limits: Limits) -> tuple[Path, dict]:
    """A scratch folder and the kernel's environment."""

    scratch = Path(tempfile.mkdtemp(prefix="mmlearn-grade-"))
    course = scratch / "course"
    _copy_package(course)
    _read_only(course)
    for name in ("work", "home", "tmp"):
        (scratch / name).mkdir()
    spec = scratch / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "mmlearn.grade.kernel", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "mmlearn grader", "language": "python"}), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMLEARN_", "JPY_", "PYTHON"))}
    env.update(
        {
            "PYTHONPATH": str(course),
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": str(scratch / "home"),
            "TMPDIR": str(scratch / "tmp"),
            "IPYTHONDIR": str(scratch / "home" / ".ipython"),
            "MPLCONFIGDIR": str(scratch / "home" / ".matplotlib"),
            "MPLBACKEND": "Agg",
            "MMLEARN_DEVICE": "cpu",
            "CUDA_VISIBLE_DEVICES": "",
            "MMLEARN_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MMLEARN_GRADE_MEMORY_MB": str(limits.memory_mb),
            "MMLEARN_GRADE_FILE_MB": str(limits.file_mb),
            # two threads busy for the whole time limit, and a minute more: only a runaway kernel reaches it
            "MMLEARN_GRADE_CPU_S": str(2 * limits.notebook_timeout_s + 60),
        }
    )
    return scratch, env


def remove_scratch(scratch: Path) -> None:
    _writable(scratch)
    shutil.rmtree(scratch, ignore_errors=True)


# --- running the cells -----------------------------------------------------------------------------------


def _client_class():
    from nbclient import NotebookClient

    class QuietClient(NotebookClient):
        """Keeps no output of the student's cells (a 50 MB print is received and dropped)."""

        keep_outputs_of: int = -1
        kernel_dirs: list = []

        def create_kernel_manager(self):
            from jupyter_client.kernelspec import KernelSpecManager

            specs = KernelSpecManager(kernel_dirs=self.kernel_dirs)
            self.km = self.kernel_manager_class(
                kernel_name=self.kernel_name, kernel_spec_manager=specs, config=self.config
            )
            return self.km

        def output(self, outs, msg, display_id, cell_index):
            if cell_index != self.keep_outputs_of:
                return None
            return super().output(outs, msg, display_id, cell_index)

    return QuietClient


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux: from /proc; elsewhere none are found)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _kill_descendants(client) -> None:
    """Kill what the kernel started (the checker's forked children sit in process groups of their
    own, so killing the kernel alone would leave a looping one running)."""
    try:
        pid = client.km.provisioner.process.pid
    except AttributeError:
        return
    for child in _descendants(pid):
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass


def _first_line(source: str) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= 50 else line[:47] + "..."


def _grading_cell(plan: LessonPlan, token: str, package_root: Path, hidden: Path | None, limits: Limits):
    """The grader's request: ``inkernel``'s source, sent whole (never read from the scratch folder)."""
    from mmlearn.grade import inkernel

    names = {e.id: e.name for e in plan.exercises}
    code = Path(inkernel.__file__).read_text(encoding="utf-8")
    source = (
        "_mmlearn_grader = {'__name__': '_mmlearn_grader'}\n"
        f"exec(compile({code!r}, '<mmlearn grader>', 'exec'), _mmlearn_grader)\n"
        f"_mmlearn_grader['grade']({plan.lesson!r}, {names!r}, {token!r}, {str(package_root)!r}, "
        f"{str(hidden) if hidden else None!r}, {limits.check_timeout_s!r})\n"
    )
    return nbformat.v4.new_code_cell(source)


@contextlib.contextmanager
def _reaped(client):
    try:
        yield
    finally:
        _kill_descendants(client)


def run_and_grade(nb, plan: LessonPlan, limits: Limits, hidden: Path | None) -> tuple[dict, list[str]]:
    """Run ``nb``'s cells in a scratch kernel, then the grader's pass: (verdicts by id, notes)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client_class = _client_class()
    scratch, env = make_scratch(limits)
    notes: list[str] = []
    skipped: dict[int, str] = {}
    deadline = time.monotonic() + limits.notebook_timeout_s
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    try:
        while True:
            client = client_class(
                nb,
                timeout=int(limits.cell_timeout_s),
                kernel_name=KERNEL_NAME,
                allow_errors=True,
                record_timing=False,
                resources={"metadata": {"path": str(scratch / "work")}},
                shutdown_kernel="immediate",
            )
            client.kernel_dirs = [str(scratch / "kernels")]
            failed_at = None
            over_time = False
            with (
                client.setup_kernel(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                _reaped(client),
            ):
                for index in code:
                    if index in skipped:
                        continue
                    left = deadline - time.monotonic()
                    if left <= 1:
                        over_time = True
                        break
                    client.timeout = int(max(1, min(limits.cell_timeout_s, left)))
                    try:
                        client.execute_cell(nb.cells[index], index)
                    except CellTimeoutError:
                        if deadline - time.monotonic() <= 1:
                            over_time = True
                            break
                        why = f"ran past the cell time limit of {limits.cell_timeout_s:g} s"
                        failed_at = index
                        break
                    except DeadKernelError:
                        why = "ended the kernel (os._exit, a crash, or out of memory?)"
                        failed_at = index
                        break
                if over_time:
                    notes.append(
                        f"the notebook ran past its time limit of {limits.notebook_timeout_s:g} s; not graded"
                    )
                    return {}, notes
                if failed_at is None:
                    return _grader_pass(client, nb, plan, limits, scratch, hidden), notes
            where = f"cell {failed_at + 1} ({_first_line(nb.cells[failed_at].source)})"
            skipped[failed_at] = why
            notes.append(f"{where} {why}: skipped")
            if len(skipped) > limits.max_restarts:
                notes.append(f"more than {limits.max_restarts} cells had to be skipped; not graded")
                return {}, notes
    except Exception as err:  # the kernel could not start, or nbclient failed: this notebook only
        notes.append(f"could not run the notebook ({type(err).__name__}: {str(err)[:200]})")
        return {}, notes
    finally:
        remove_scratch(scratch)


def _grader_pass(client, nb, plan: LessonPlan, limits: Limits, scratch: Path, hidden: Path | None) -> dict:
    """Run the grader's own request in the kernel; its verdicts, or {"error": why}."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    # Copied in only now: the student's cells never had a chance to read the hidden tests or change this copy.
    fresh = Path(tempfile.mkdtemp(prefix="grader-", dir=scratch))
    _copy_package(fresh)
    hidden_copy = None
    if hidden is not None:
        hidden_copy = fresh / "hidden_tests.py"
        shutil.copyfile(hidden, hidden_copy)
    _read_only(fresh)
    token = secrets.token_hex(16)
    cell = _grading_cell(plan, token, fresh, hidden_copy, limits)
    # Each exercise: up to two candidate functions, each through its spec and a hidden one.
    per_check = limits.check_timeout_s or max([30.0] + [e.timeout_s for e in plan.exercises])
    client.timeout = int(60 + 4 * per_check * max(1, len(plan.exercises)))
    index = len(nb.cells)
    nb.cells.append(cell)
    client.keep_outputs_of = index
    try:
        client.execute_cell(cell, index)
    except CellTimeoutError:
        return {"error": "the grader's own checks did not finish in time"}
    except DeadKernelError:
        return {"error": "the kernel died while the grader ran its checks"}
    for out in cell.outputs:
        record = out.get("data", {}).get(MIME)
        if isinstance(record, str):
            try:
                record = json.loads(record)
            except ValueError:
                record = None
        if isinstance(record, dict) and record.get("token") == token:
            if "error" in record:
                return {"error": f"the grader's checks failed: {record['error']}"}
            return record.get("results", {})
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    why = f" ({errors[0].get('ename')}: {str(errors[0].get('evalue'))[:200]})" if errors else ""
    return {"error": "the grader's checks sent no verdict" + why}


# --- one submission --------------------------------------------------------------------------------------


def read_notebook(path: Path):
    """The notebook, or the reason it cannot be one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(Path(path).read_text(encoding="utf-8"), as_version=4)
    except UnicodeDecodeError:
        return None, "not a notebook: the file is not text (UTF-8)"
    except Exception as err:
        return None, f"not a notebook (invalid JSON or notebook format): {str(err).splitlines()[0][:150]}"
    if not isinstance(nb.get("cells"), list) or not all(isinstance(c, dict) for c in nb.cells):
        return None, "not a notebook: it has no list of cells"
    for cell in nb.cells:
        cell.setdefault("cell_type", "raw")
        source = cell.get("source", "")
        cell["source"] = "".join(source) if isinstance(source, list) else str(source)
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("metadata", {})
    return nb, ""


def suspect_cells(nb, plan: LessonPlan) -> list[str]:
    """Names from ``SUSPECT_RE`` a submission uses more often than the teacher's own lesson does."""
    teacher = " ".join(plan.code_sources)
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for name in sorted(set(SUSPECT_RE.findall(cell.source))):
            if cell.source.count(name) > teacher.count(name):
                found.append(f"cell {index + 1} uses {name}")
    return found


def grade_submission(
    path: Path,
    student: str,
    plans,
    *,
    lesson: str | None = None,
    limits: Limits | None = None,
    hidden: Path | None = None,
) -> Submission:
    """Grade one notebook. ``plans(lesson) -> LessonPlan`` (raising ``LessonError`` for an unknown lesson);
    ``lesson``: the lesson every submission must be (None: whichever each one is)."""
    from mmlearn.grade.lessons import LessonError

    limits = limits or Limits()
    start = time.perf_counter()
    path = Path(path)
    result = Submission(student=student, file=path.name, lesson=lesson)
    nb, problem = read_notebook(path)
    found = lesson_of(nb if nb is not None else nbformat.v4.new_notebook(), path.name)
    if found is None and nb is not None:
        problem = "no lesson found in it (no '# Lesson NN' title, no check cells)"
    result.lesson = lesson or found
    try:
        plan = plans(result.lesson) if result.lesson else None
    except LessonError as err:
        plan, problem = None, problem or str(err)
    if plan is not None:
        result.rows = [Row(e.id, e.title, e.points) for e in plan.exercises]
    if nb is not None and lesson and found and found != lesson:
        problem = f"this is lesson {found}'s notebook, not lesson {lesson}'s"
    if not problem and plan is not None:
        suspects = suspect_cells(nb, plan)
        if suspects:
            problem = (
                "needs review by hand: " + "; ".join(suspects[:3]) + " (the checker's internals or answers)"
            )
    if problem or plan is None:
        result.note = problem
        for row in result.rows:
            row.status, row.message = "not graded", problem
        result.seconds = round(time.perf_counter() - start, 1)
        return result
    verdicts, notes = run_and_grade(nb, plan, limits, hidden)
    error = verdicts.get("error") if isinstance(verdicts.get("error"), str) else None
    if error:
        notes.append(error)
    result.note = "; ".join(notes)
    for row in result.rows:
        verdict = verdicts.get(row.exercise)
        if not isinstance(verdict, dict):
            row.status, row.message = "not graded", result.note or "no verdict"
            continue
        status, message = str(verdict.get("status")), str(verdict.get("message", ""))[:500]
        row.passed = status == "passed"
        row.points = row.max_points if row.passed else 0.0
        row.status = {"not_done": NOT_ATTEMPTED}.get(status, status)
        row.message = (
            "raises NotImplementedError (the stub is still there)" if status == "not_done" else message
        )
    result.seconds = round(time.perf_counter() - start, 1)
    return result
