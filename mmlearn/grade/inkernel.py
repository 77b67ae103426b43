"""The grader's own pass inside a student's kernel, after all of the notebook's cells have run.

No lesson teaches this module: it belongs to the classroom grader (see TEACHING.md).

Why a pass of its own: what a check cell printed (or a ``check`` the student
redefined) is never trusted. The grader sends one request of its own to the
kernel once the student's cells are done; it runs here and:

1. imports the checker and the lesson's specs afresh, from a second copy of
   the package made only after the student's cells ran (the modules the
   notebook used, and anything the student's code did to them or to the first
   copy's files, are set aside), and loads the teacher's hidden tests, copied
   in at the same time. This module's own code is not read from the scratch
   folder either: the grader sends its source in the request;
2. picks the student's answer for each exercise: the function the last
   ``check``/``use`` of the notebook was given, and the one the exercise's
   name holds now; only a function or class defined in the notebook itself
   counts (never the course's reference, which ``use`` hands back on failure);
3. runs each spec, then the hidden one, in a forked child with a time limit
   (the checker's own isolation), so a function that loops, exits or blows up
   costs only that exercise;
4. sends the verdicts back as one display output with its own MIME type,
   carrying a one-time token that the grader put in this request: the grader
   reads only the outputs of its own request, so nothing a student's cell
   displayed can stand in for it.

Code that runs in the kernel can, in principle, reach anything in the
kernel; TEACHING.md says what this does and does not prevent.
"""

from __future__ import annotations

import dataclasses
import importlib
import runpy
import sys

MIME = "application/vnd.mmlearn.grade+json"
_RANK = {"passed": 3, "failed": 2, "not_done": 1}


def _fresh_modules(lesson: str, package_root: str):
    """(live checker or None, fresh checker, fresh lesson module): the fresh ones from ``package_root``."""
    live = sys.modules.get("mmlearn.exercises.checker")
    for name in [n for n in sys.modules if n == "mmlearn" or n.startswith("mmlearn.")]:
        del sys.modules[name]
    sys.path.insert(0, package_root)
    importlib.invalidate_caches()
    checker = importlib.import_module("mmlearn.exercises.checker")
    module = importlib.import_module(f"mmlearn.exercises.lesson{lesson}")
    return live, checker, module


def _hidden_specs(path: str | None) -> dict:
    """The teacher's extra specs: a Python file that defines ``HIDDEN = {"00.1": spec, ...}``."""
    if not path:
        return {}
    hidden = runpy.run_path(path, run_name="mmlearn_hidden_tests").get("HIDDEN", {})
    if not isinstance(hidden, dict):
        raise TypeError(f"HIDDEN in {path} must be a dict of exercise id -> spec function")
    return hidden


def _own(candidate) -> bool:
    """A function or class written in the notebook (not the course's, not a builtin)."""
    return callable(candidate) and getattr(candidate, "__module__", None) == "__main__"


def _run(checker, ex, fn):
    # Forked on Linux whatever the notebook set (MMLEARN_CHECK_IN_PROCESS would let a loop run on).
    result = checker._run_forked(ex, fn, ex.timeout_s) if sys.platform.startswith("linux") else None
    if result is None:  # no fork, or the child could not start: in a thread (cannot stop a loop)
        result = checker._run_in_thread(ex, fn, ex.timeout_s)
    (status, message, _), _, _ = result
    return status, message


def _grade_one(checker, ex, hidden_spec, candidates) -> dict:
    best = None
    for fn in candidates:
        status, message = _run(checker, ex, fn)
        if status == "passed" and hidden_spec is not None:
            hidden_status, hidden_message = _run(checker, dataclasses.replace(ex, spec=hidden_spec), fn)
            if hidden_status != "passed":
                status = "failed"
                message = "passes the notebook's checks but not the teacher's hidden tests: " + (
                    hidden_message or "not done"
                )
        if best is None or _RANK[status] > _RANK[best[0]]:
            best = (status, message)
    return {"status": best[0], "message": best[1]}


def grade(
    lesson: str, names: dict, token: str, package_root: str, hidden_path: str | None = None, timeout_s=None
) -> None:
    """Grade exercises ``names`` ({id: function name}) of ``lesson``; display the verdicts with ``token``.

    ``package_root``: the folder holding the fresh copy of ``mmlearn``."""
    from IPython import get_ipython
    from IPython.display import display

    user_ns = get_ipython().user_ns
    results: dict[str, dict] = {}
    try:
        live, checker, _ = _fresh_modules(lesson, package_root)
        hidden = _hidden_specs(hidden_path)
        submitted = getattr(live, "_SUBMITTED", {}) if live is not None else {}
        if not isinstance(submitted, dict):
            submitted = {}
        for exercise_id, name in names.items():
            ex = checker.get_exercise(exercise_id)
            if timeout_s:
                ex = dataclasses.replace(ex, timeout_s=float(timeout_s))
            candidates, seen = [], set()
            for fn in (submitted.get(exercise_id), user_ns.get(name)):
                if _own(fn) and id(fn) not in seen:
                    seen.add(id(fn))
                    candidates.append(fn)
            if not candidates:
                found = user_ns.get(name)
                why = (
                    f"the notebook defines no {name} (cell deleted or renamed?)"
                    if found is None
                    else f"{name} is not a function or class written in the notebook"
                )
                results[exercise_id] = {"status": "missing", "message": why}
                continue
            results[exercise_id] = _grade_one(checker, ex, hidden.get(exercise_id), candidates)
    except BaseException as err:  # reported to the grader, which says so in the student's rows
        display({MIME: {"token": token, "error": f"{type(err).__name__}: {err}"[:500]}}, raw=True)
        return
    display({MIME: {"token": token, "results": results}}, raw=True)
