"""The classroom grader on lesson 00: solutions score full marks, untouched copies zero ("not
attempted"), a partly solved copy exactly its solved exercises, the same notebook the same grade, and
the teacher's hidden tests catch an answer that only fits the inputs the student saw.

One class is graded once (three copies of lesson 00 and three tiny notebooks), and nbgrader grades two of
them again; the command-line tests need no kernel.
"""

import csv
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

from mmlearn.grade import gradebook
from mmlearn.grade.__main__ import main
from mmlearn.grade.classroom import grade_class, name_field, student_ids
from mmlearn.grade.lessons import lesson_plan
from mmlearn.grade.submission import Limits

ROOT = Path(__file__).resolve().parents[1]
SOLVED = ROOT / "solutions" / "00_getting_started.ipynb"
STUDENT = ROOT / "notebooks" / "00_getting_started.ipynb"
STANDARDISE = '''def standardise(x: torch.Tensor) -> torch.Tensor:
    """z-score each column of x (shape (N, d)): mean 0, standard deviation 1."""
    return (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)
'''
# Fits the three inputs the notebook's check uses, and nothing else.
HARDCODED = """def standardise(x: torch.Tensor) -> torch.Tensor:
    if tuple(x.shape) in {(8, 3), (50, 1), (5, 7)}:
        return (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)
    return x
"""
HIDDEN = """import torch

from mmlearn.exercises.checker import expect_close


def hidden_standardise(student):
    x = torch.arange(12.0).reshape(4, 3) ** 2
    expect_close(student(x.clone()), (x - x.mean(0)) / x.std(0, unbiased=False), "standardise(x) for (4, 3)")


HIDDEN = {"00.1": hidden_standardise}
"""


def tiny(standardise: str) -> nbformat.NotebookNode:
    """A lesson 00 notebook with nothing but the exercise 00.1 and its check (a kernel start, no lesson)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Lesson 00 · Getting started"),
        nbformat.v4.new_code_cell("import torch\n\nfrom mmlearn.exercises import use"),
        nbformat.v4.new_code_cell(standardise),
        nbformat.v4.new_code_cell('standardise = use("00.1", standardise)'),
    ]
    return nb


def with_standardise(source: str) -> nbformat.NotebookNode:
    nb = nbformat.read(STUDENT, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("def standardise")]
    assert len(cells) == 1
    cells[0].source = source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    (folder / "solved.ipynb").write_bytes(SOLVED.read_bytes())
    (folder / "untouched.ipynb").write_bytes(STUDENT.read_bytes())
    nbformat.write(with_standardise(STANDARDISE), folder / "partial.ipynb")
    nbformat.write(tiny(STANDARDISE), folder / "tiny.ipynb")
    nbformat.write(tiny(STANDARDISE), folder / "tiny_again.ipynb")
    nbformat.write(tiny(HARDCODED), folder / "hardcoded.ipynb")
    hidden = tmp_path_factory.mktemp("teacher") / "hidden.py"
    hidden.write_text(HIDDEN)
    out = tmp_path_factory.mktemp("gradebook")
    limits = Limits(cell_timeout_s=120, notebook_timeout_s=300)
    results = grade_class([folder], out, limits=limits, hidden=hidden, progress=False)
    return {r.student: r for r in results}, out


def test_lesson_00_grades_its_two_exercises_not_the_worked_example():
    plan = lesson_plan(ROOT, "00")
    assert [(e.id, e.name, e.points) for e in plan.exercises] == [
        ("00.1", "standardise", 1.0),
        ("00.2", "concat_modalities", 1.0),
    ]
    assert plan.max_points == 2


def test_the_solutions_score_full_marks(graded):
    solved = graded[0]["solved"]
    assert (solved.points, solved.max_points, solved.note) == (2, 2, "")
    assert all(r.passed and r.status == "passed" for r in solved.rows)


def test_an_untouched_copy_scores_zero_not_attempted(graded):
    untouched = graded[0]["untouched"]
    assert untouched.points == 0 and untouched.note == ""
    assert [r.status for r in untouched.rows] == ["not attempted", "not attempted"]


def test_a_partly_solved_copy_scores_exactly_its_solved_exercises(graded):
    partial = graded[0]["partial"]
    assert [(r.exercise, r.points, r.status) for r in partial.rows] == [
        ("00.1", 1, "passed"),
        ("00.2", 0, "not attempted"),
    ]


def test_the_same_notebook_gets_the_same_grade(graded):
    rows = [(r.exercise, r.points, r.status, r.message) for r in graded[0]["tiny"].rows]
    assert rows == [(r.exercise, r.points, r.status, r.message) for r in graded[0]["tiny_again"].rows]
    assert rows == [
        ("00.1", 1, "passed", ""),
        ("00.2", 0, "missing", "the notebook defines no concat_modalities (cell deleted or renamed?)"),
    ]


def test_hidden_tests_catch_an_answer_fitted_to_the_visible_inputs(graded):
    row = graded[0]["hardcoded"].rows[0]
    assert row.status == "failed" and row.points == 0
    assert row.message.startswith("passes the notebook's checks but not the teacher's hidden tests")
    assert "(4, 3)" in row.message


def test_the_gradebook_files_hold_every_row(graded):
    results, out = graded
    with open(out / gradebook.CSV_NAME, newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 2 * len(results)
    assert tuple(table[0]) == gradebook.COLUMNS
    solved = [r for r in table if r["student"] == "solved"]
    assert [(r["exercise"], r["points"], r["passed"]) for r in solved] == [
        ("00.1", "1", "True"),
        ("00.2", "1", "True"),
    ]
    data = json.loads((out / gradebook.JSON_NAME).read_text())
    assert {s["student"]: s["points"] for s in data["students"]} == {
        "hardcoded": 0,
        "partial": 1,
        "solved": 2,
        "tiny": 1,
        "tiny_again": 1,
        "untouched": 0,
    }
    assert not list(out.glob("*.tmp*"))  # written through a temporary file and renamed
    table_text = gradebook.summary(list(results.values()))
    assert "solved" in table_text and "2/2" in table_text and "PP" in table_text


def test_student_ids_from_file_names_or_a_name_field(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Lesson 00\n\n**Name:** Ada Lovelace")]
    nbformat.write(nb, tmp_path / "a.ipynb")
    nb.cells = [nbformat.v4.new_markdown_cell("# Lesson 00\n\nName: _write your name here_")]
    nbformat.write(nb, tmp_path / "b.ipynb")
    assert name_field(tmp_path / "a.ipynb") == "Ada Lovelace"
    assert name_field(tmp_path / "b.ipynb") is None
    paths = [tmp_path / "a.ipynb", tmp_path / "b.ipynb"]
    assert student_ids(paths, "name") == {paths[0]: "Ada Lovelace", paths[1]: "b"}
    assert student_ids(paths, "file") == {paths[0]: "a", paths[1]: "b"}
    with pytest.raises(ValueError, match="student_id"):
        student_ids(paths, "email")


def test_the_command_line_grades_unreadable_files_without_a_kernel(tmp_path, capsys):
    (tmp_path / "00_broken.ipynb").write_text("{not json")
    code = main([str(tmp_path / "00_broken.ipynb"), "--out", str(tmp_path / "out"), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "00_broken" in printed and "not a notebook" in printed
    rows = list(csv.DictReader(open(tmp_path / "out" / gradebook.CSV_NAME, newline="")))
    assert [(r["exercise"], r["status"]) for r in rows] == [("00.1", "not graded"), ("00.2", "not graded")]


def test_the_command_line_names_the_bad_argument(tmp_path, capsys):
    assert main([str(tmp_path / "missing.ipynb"), "--out", str(tmp_path)]) == 2
    assert "submissions: no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--out", str(tmp_path), "--cell-timeout", "-1"])
    assert "--cell-timeout" in capsys.readouterr().err


def test_the_console_script_is_declared():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["mmlearn-grade"] == "mmlearn.grade.__main__:main"
    assert sys.platform  # the script runs the same main() as python -m mmlearn.grade


@pytest.mark.filterwarnings("ignore:Object of type <SubmittedNotebook> not in session")  # nbgrader's own
def test_nbgrader_gives_the_same_points_as_the_course_grader(graded, tmp_path, monkeypatch):
    """export-nbgrader, then nbgrader's own generate_assignment and autograde on a solved and an
    untouched copy: the same points as the course's grader gave the same two notebooks."""
    pytest.importorskip("nbgrader")
    # nbgrader runs the `alembic` command of its environment: found on PATH even when the venv is not active
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    from mmlearn.grade.nbgrader_export import export_course

    course = tmp_path / "course"
    (source,) = export_course(ROOT, course, ["00"])
    assignment, name = source.parent.name, source.name
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    config.ExecutePreprocessor.timeout = 120
    api = NbGraderAPI(config=config)
    result = api.generate_assignment(assignment)
    assert result["success"], result.get("error")
    released = course / "release" / assignment / name
    assert "raise NotImplementedError()" in released.read_text()
    for student, notebook in {"solved": source, "untouched": released}.items():
        target = course / "submitted" / student / assignment / name
        target.parent.mkdir(parents=True)
        target.write_bytes(notebook.read_bytes())
        result = api.autograde(assignment, student)
        assert result["success"], result.get("error")
    with Gradebook(config.CourseDirectory.db_url) as book:
        scores = {s: book.find_submission(assignment, s).score for s in ("solved", "untouched")}
        assert book.find_assignment(assignment).max_score == graded[0]["solved"].max_points
    assert scores == {"solved": graded[0]["solved"].points, "untouched": graded[0]["untouched"].points}
    assert scores == {"solved": 2, "untouched": 0}


def test_every_lesson_exports_to_nbgrader_with_one_test_cell_per_graded_exercise(tmp_path, capsys):
    assert main(["export-nbgrader", "--out", str(tmp_path)]) == 0
    written = sorted((tmp_path / "source").glob("*/*.ipynb"))
    assert [p.name for p in written] == sorted(
        p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")
    )
    for path in written:
        plan = lesson_plan(ROOT, path.name[:2])
        nb = nbformat.read(path, as_version=4)
        meta = [c.metadata.nbgrader for c in nb.cells if "nbgrader" in c.metadata]
        tests = [m for m in meta if m["grade"]]
        assert [m["grade_id"] for m in tests] == ["check_" + e.id.replace(".", "_") for e in plan.exercises]
        assert sum(m["points"] for m in tests) == plan.max_points
        assert all(m["locked"] and not m["solution"] for m in tests)
        assert any(m["solution"] for m in meta), path.name
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert main(["export-nbgrader", "--out", str(tmp_path), "--lesson", "99"]) == 2
    assert "no such lesson" in capsys.readouterr().err


def test_a_kernel_whose_grader_died_cannot_loop_forever():
    """The CPU-time cap the grader puts in the kernel's environment ends a runaway process by itself."""
    import subprocess
    import sys

    code = (
        "from mmlearn.grade.kernel import apply_limits\n"
        "apply_limits({'MMLEARN_GRADE_CPU_S': '1'})\n"
        "import resource\n"
        "print(resource.getrlimit(resource.RLIMIT_CPU), flush=True)\n"
        "while True:\n"
        "    pass\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "(1, 11)"
    assert done.returncode < 0  # ended by a signal (SIGXCPU), not by the loop
