"""What a lesson asks of a student: its graded exercises, read from the teacher's solution notebook.

No lesson teaches this module: it belongs to the classroom grader (see TEACHING.md).

The solution notebook is the single source here too. An exercise is graded
when its check cell, ``name = use("NN.k", name)`` or ``check("NN.k", name)``,
names a function or class whose definition holds a ``### BEGIN SOLUTION``
region: that is exactly what the student copy turns into a stub. A worked
example (lesson 00's "00.0", whose function the lesson writes itself) has no
such region, so it is not graded: an untouched student copy scores zero.
The points come from the exercise's spec (``@exercise(..., points=...)``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from mmlearn.course.student import BEGIN, SOLUTIONS

CHECK_CALL_RE = re.compile(r"""\b(?:check|use)\(\s*["'](\d\d\.\d+)["']\s*,\s*([A-Za-z_][A-Za-z_0-9]*)""")
TITLE_RE = re.compile(r"^#\s*Lesson\s+(\d\d)\b", re.MULTILINE)


class LessonError(ValueError):
    """The course has no such lesson, or its solution notebook cannot be read."""


@dataclass(frozen=True)
class GradedExercise:
    id: str  # "00.1"
    name: str  # the function or class the student writes, e.g. "standardise"
    title: str
    points: float
    timeout_s: float  # the time limit of its check


@dataclass(frozen=True)
class LessonPlan:
    lesson: str  # "00"
    notebook: str  # "00_getting_started.ipynb"
    exercises: tuple[GradedExercise, ...]
    code_sources: tuple[str, ...]  # the solution's code cells (to compare a submission's code with)

    @property
    def max_points(self) -> float:
        return sum(e.points for e in self.exercises)


def _defined_names(source: str) -> set[str]:
    """Names of the functions and classes a cell defines at its top level (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: fall back to a plain look at the text
        return set(re.findall(r"^(?:def|class)\s+([A-Za-z_][A-Za-z_0-9]*)", source, re.MULTILINE))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


def solution_path(course: Path, lesson: str) -> Path:
    """The solution notebook of ``lesson`` ("00") in the course checkout ``course``."""
    matches = sorted((Path(course) / SOLUTIONS).glob(f"{lesson}_*.ipynb"))
    if not matches:
        raise LessonError(f"lesson {lesson!r}: no solution notebook {SOLUTIONS}/{lesson}_*.ipynb in {course}")
    return matches[0]


def lesson_plan(course: Path, lesson: str) -> LessonPlan:
    """The graded exercises of ``lesson``, in the order the lesson checks them."""
    from mmlearn.exercises.checker import get_exercise

    path = solution_path(course, lesson)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:
        raise LessonError(f"cannot read the solution notebook {path}: {err}") from err
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    with_solution: set[str] = set()
    for source in code:
        if BEGIN in source:
            with_solution |= _defined_names(source)
    exercises: list[GradedExercise] = []
    seen: set[str] = set()
    for source in code:
        for exercise_id, name in CHECK_CALL_RE.findall(source):
            if exercise_id in seen or name not in with_solution or not exercise_id.startswith(lesson + "."):
                continue
            seen.add(exercise_id)
            spec = get_exercise(exercise_id)
            exercises.append(GradedExercise(exercise_id, name, spec.title, spec.points, spec.timeout_s))
    return LessonPlan(lesson, path.name, tuple(exercises), tuple(code))


def lesson_of(nb: nbformat.NotebookNode, file_name: str) -> str | None:
    """Which lesson a notebook is: its title ("# Lesson 03 ..."), else its checks, else its file name."""
    for cell in nb.cells[:3]:
        if cell.get("cell_type") == "markdown":
            match = TITLE_RE.search(cell.get("source", ""))
            if match:
                return match.group(1)
    ids = [i for c in nb.cells if c.get("cell_type") == "code" for i, _ in CHECK_CALL_RE.findall(c.source)]
    if ids:
        lessons = [i[:2] for i in ids]
        return max(sorted(set(lessons)), key=lessons.count)
    match = re.match(r"(\d\d)_", file_name)
    return match.group(1) if match else None
