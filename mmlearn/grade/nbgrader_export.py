"""Export the lessons into nbgrader's source layout, for teachers who already grade with nbgrader.

No lesson teaches this module: it belongs to the classroom grader (see TEACHING.md).

nbgrader reads ``COURSE/source/ASSIGNMENT/NOTEBOOK.ipynb`` with metadata on
the cells it cares about. The lessons already use nbgrader's solution
markers (``### BEGIN SOLUTION`` / ``### END SOLUTION``, replaced by
``raise NotImplementedError()``), so the export only adds the metadata:

- a cell holding a solution region becomes a *solution cell*
  (``generate_assignment`` strips it, as ``mmlearn.course.student`` does);
- the check cell of each graded exercise (the same ones the course's grader
  grades, ``mmlearn.grade.lessons``) becomes a locked, *autograded test cell*
  worth the exercise's points. It keeps the lesson's own ``use``/``check``
  call, so the rest of the lesson still runs on the reference while the
  answer is wrong, and adds one assertion: nbgrader gives a test cell its
  points when the cell raises nothing, and the checker never raises, so the
  assertion turns "did not pass" into the error nbgrader counts.

The points therefore agree with the course's grader, which a test checks
with nbgrader itself (``generate_assignment``, then ``autograde`` on a solved
and an unsolved copy). One difference remains: nbgrader runs the check in
the student's notebook, so it has no hidden tests and trusts the checker's
verdict in that kernel (TEACHING.md compares the two).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from mmlearn.course.student import BEGIN, dumps, solution_paths
from mmlearn.grade.lessons import CHECK_CALL_RE, lesson_plan
from mmlearn.report import atomic_write_text

SCHEMA_VERSION = 3


def _meta(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: float | None = None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def nbgrader_notebook(course: Path, lesson: str) -> tuple[str, nbformat.NotebookNode]:
    """(notebook file name, the lesson's solution notebook with nbgrader metadata and no outputs)."""
    from mmlearn.grade.lessons import solution_path

    plan = lesson_plan(course, lesson)
    path = solution_path(course, lesson)
    nb = nbformat.read(path, as_version=4)
    graded = {e.id: e for e in plan.exercises}
    done: set[str] = set()
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if BEGIN in cell.source:
            cell.metadata["nbgrader"] = _meta(f"solution_{index}", solution=True, grade=False, locked=False)
            continue
        ids = [i for i, _ in CHECK_CALL_RE.findall(cell.source) if i in graded and i not in done]
        if len(ids) == 1:
            ex = graded[ids[0]]
            done.add(ex.id)
            cell.source = (
                cell.source.rstrip()
                + "\n\n# nbgrader: this cell earns its points when the exercise's check passes\n"
                + "from mmlearn.exercises import passed\n\n"
                + f'assert passed("{ex.id}"), "exercise {ex.id} ({ex.title}) did not pass its check"\n'
            )
            grade_id = "check_" + ex.id.replace(".", "_")
            cell.metadata["nbgrader"] = _meta(
                grade_id, solution=False, grade=True, locked=True, points=ex.points
            )
    missing = sorted(set(graded) - done)
    if missing:
        raise ValueError(f"lesson {lesson}: no check cell of its own found for exercise(s) {missing}")
    nb.metadata.pop("widgets", None)
    return path.name, nb


def export_course(course: Path, out: Path, lessons: list[str] | None = None) -> list[Path]:
    """Write each lesson to ``out/source/<lesson notebook stem>/<notebook>``; return the files written."""
    course, out = Path(course), Path(out)
    available = [p.name[:2] for p in solution_paths(course)]
    chosen = lessons or available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        raise ValueError(f"lesson: no such lesson(s) {unknown}; the course has {available}")
    written = []
    for lesson in chosen:
        name, nb = nbgrader_notebook(course, lesson)
        target = out / "source" / Path(name).stem / name
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, dumps(nb))
        written.append(target)
    return written
