"""Grade a class: many notebooks, one student id each, progress, the gradebook.

No lesson teaches this module: it belongs to the classroom grader (see TEACHING.md).

Students are identified by the file name (``alice.ipynb`` -> ``alice``), or,
with ``student_id="name"``, by a name field in the notebook's first cell
(a line ``Name: Alice Smith``), falling back to the file name when the field
is missing or empty. Two submissions with one id keep both, told apart by
their file names. Notebooks are graded one after another in a fixed order
(sorted paths), each in its own kernel: the order never changes a grade.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from mmlearn.grade import gradebook
from mmlearn.grade.lessons import lesson_plan
from mmlearn.grade.submission import Limits, Submission, changed_files, fingerprint, grade_submission

NAME_RE = re.compile(r"^[\s>*_#-]*(?:student\s+)?name\s*[:=]\s*[*_]*\s*(.*?)\s*[*_]*\s*$", re.I | re.M)
STUDENT_IDS = ("file", "name")


def default_course() -> Path:
    """The course checkout this package was installed from (it has ``solutions/``)."""
    import mmlearn

    return Path(mmlearn.__file__).resolve().parents[1]


def name_field(path: Path) -> str | None:
    """The ``Name: ...`` line of a notebook's first cell, or None."""
    import json

    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells") or []
        source = cells[0].get("source", "")
    except Exception:
        return None
    source = "".join(source) if isinstance(source, list) else str(source)
    match = NAME_RE.search(source)
    name = match.group(1).strip() if match else ""
    placeholder = re.search(r"your name|^[<\[(]|\.\.\.", name, re.I)
    return name if name and not placeholder else None


def student_ids(paths: list[Path], student_id: str = "file") -> dict[Path, str]:
    """path -> student id; unique (a repeated id gets the file name added)."""
    if student_id not in STUDENT_IDS:
        raise ValueError(f"student_id must be one of {STUDENT_IDS}, got {student_id!r}")
    ids = {}
    for path in paths:
        found = name_field(path) if student_id == "name" else None
        ids[path] = found or Path(path).stem
    counts: dict[str, int] = {}
    for value in ids.values():
        counts[value] = counts.get(value, 0) + 1
    return {p: (v if counts[v] == 1 else f"{v} ({Path(p).name})") for p, v in ids.items()}


def collect(submissions: list[Path]) -> list[Path]:
    """The notebooks named: files as they are, folders searched for ``*.ipynb`` (checkpoints left out)."""
    found: list[Path] = []
    for item in submissions:
        item = Path(item)
        if item.is_dir():
            found += [p for p in item.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
        elif item.exists():
            found.append(item)
        else:
            raise FileNotFoundError(f"submissions: no such file or folder: {item}")
    return sorted(set(found))


def grade_class(
    submissions: list[Path],
    out: Path,
    *,
    course: Path | None = None,
    lesson: str | None = None,
    limits: Limits | None = None,
    hidden: Path | None = None,
    student_id: str = "file",
    watch: list[Path] | None = None,
    progress: bool = True,
) -> list[Submission]:
    """Grade every notebook; write the gradebook into ``out`` after each one; return the results."""
    from tqdm.auto import tqdm

    course = Path(course) if course else default_course()
    if not (course / "solutions").is_dir():
        raise FileNotFoundError(f"course: {course} has no solutions/ folder (pass the course checkout)")
    if hidden is not None and not Path(hidden).is_file():
        raise FileNotFoundError(f"hidden: no such file: {hidden}")
    if lesson is not None and not re.fullmatch(r"\d\d", str(lesson)):
        raise ValueError(f"lesson must be two digits such as '00', got {lesson!r}")
    paths = collect(submissions)
    if not paths:
        raise FileNotFoundError(f"submissions: no notebook found in {', '.join(map(str, submissions))}")
    ids = student_ids(paths, student_id)
    plans = lru_cache(maxsize=None)(lambda name: lesson_plan(course, name))
    out = Path(out)
    folders = sorted(
        {str(p.parent.resolve()) for p in paths} | {str(out.resolve())} | set(map(str, watch or []))
    )
    results: list[Submission] = []
    for path in tqdm(paths, desc="grading", unit="notebook", disable=not progress):
        before = fingerprint(folders)
        result = grade_submission(path, ids[path], plans, lesson=lesson, limits=limits, hidden=hidden)
        touched = changed_files(before, fingerprint(folders), ignore=[str(out.resolve())])
        if touched:
            listed = ", ".join(touched[:3]) + (f" and {len(touched) - 3} more" if len(touched) > 3 else "")
            warning = f"changed files outside its copy: {listed}"
            result.note = f"{result.note}; {warning}" if result.note else warning
        results.append(result)
        gradebook.write(out, results)
    return results
