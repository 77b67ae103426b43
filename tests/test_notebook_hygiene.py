"""Every lesson notebook, in both folders, follows the course's conventions."""

import re
from pathlib import Path

import nbformat
import pytest

from mmlearn.course import colab
from mmlearn.course.student import EXERCISE_CALL_RE, find_exercise_ids
from mmlearn.exercises.checker import get_exercise

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
STUDENTS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ALL = SOLUTIONS + STUDENTS
MAX_BYTES = 2_000_000
LOCAL_PATH = re.compile(r"(/root/|/home/\w|/Users/\w|/tmp/|/private/var/|[A-Za-z]:\\\\Users)")


def ids(paths):
    return [f"{p.parent.name}/{p.name}" for p in paths]


def read(path):
    return nbformat.read(path, as_version=4)


def test_there_are_lessons_in_both_folders():
    assert SOLUTIONS and [p.name for p in SOLUTIONS] == [p.name for p in STUDENTS]


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_header_badge_objectives_time_and_setup_cell(path):
    nb = read(path)
    title, setup = nb.cells[0], nb.cells[1]
    assert title.source.startswith("# Lesson ")
    assert colab.badge(f"{path.parent.name}/{path.name}") in title.source
    assert "Estimated time" in title.source and "You will learn" in title.source
    assert setup.cell_type == "code" and setup.source == colab.setup_cell_source()


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_size_and_no_local_paths(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.encode()) < MAX_BYTES, f"{path.name} is over 2 MB: shrink figures or outputs"
    match = LOCAL_PATH.search(text)
    assert match is None, f"{path.name} names a path of the machine it ran on: {match.group(0)!r}"


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_lesson_sections(path):
    markdown = "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")
    for heading in ["Key takeaways", "Further reading"]:
        assert f"## {heading}" in markdown, f"{path.name} has no '{heading}' section"


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_solutions_committed_executed_in_order(path):
    nb = read(path)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and "# NBVAL_SKIP" not in c.source]
    assert None not in counts, f"{path.name} has unexecuted cells: run `make notebooks`"
    assert counts == list(range(counts[0], counts[0] + len(counts))), f"{path.name}: execution out of order"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"{path.name} was committed with an error"
            assert "image/svg+xml" not in out.get("data", {}), "SVG figures differ on every run: use PNG"
            if out.get("name") == "stderr":
                assert "it/s]" not in out.get("text", ""), "plain tqdm on stderr: use tqdm.auto"


@pytest.mark.parametrize("path", STUDENTS, ids=ids(STUDENTS))
def test_student_copies_have_no_outputs(path):
    for cell in read(path).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_exercises_exist_and_solutions_pass_them(path):
    nb = read(path)
    exercise_ids = find_exercise_ids(nb)
    assert len(exercise_ids) >= 2, f"{path.name} needs at least two checked exercises"
    lesson = path.name[:2]
    for exercise_id in exercise_ids:
        assert exercise_id.startswith(lesson + ".")
        get_exercise(exercise_id)  # raises KeyError if no spec exists
    check_outputs = [
        "".join(o.get("text", "") for o in c.outputs)
        for c in nb.cells
        if c.cell_type == "code" and re.search(EXERCISE_CALL_RE, c.source)
    ]
    assert all("✅" in out for out in check_outputs), f"{path.name}: a solution fails its own exercise"


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_lesson_checks_some_outputs(path):
    sources = [c.source for c in read(path).cells if c.cell_type == "code"]
    assert any(s.startswith("# NBVAL_CHECK_OUTPUT") for s in sources), f"{path.name} checks no output"


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_saved_progress_bars_read_finished(path):
    """A tqdm widget's plain-text copy (what GitHub and a viewer without widgets show) is the finished bar."""
    for i, cell in enumerate(read(path).cells):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data and "|" in str(data.get("text/plain", "")):
                text = "".join(data["text/plain"])
                assert " 0%|" not in text and "100%|" in text, (
                    f"{path.name} cell {i}: progress saved as {text!r}"
                )


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_no_widget_repr_in_saved_text(path):
    """A viewer without widgets shows one plain line, not "interactive(children=(FloatSlider(..."."""
    for i, cell in enumerate(read(path).cells):
        for out in cell.get("outputs", []):
            text = "".join(out.get("data", {}).get("text/plain", ""))
            assert not text.startswith("interactive("), f"{path.name} cell {i} saves a widget's repr"


CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_markdown_has_no_control_characters(path):
    """A control character in prose (other than newline and tab) is a typo of an escape: "\\frac" written in a
    non-raw Python string becomes a form feed and "rac", "\\approx" a bell and "pprox"."""
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type != "markdown":
            continue
        match = CONTROL_CHAR.search(cell.source)
        assert match is None, (
            f"{path.name}, markdown cell {index}: control character {match.group(0)!r} at "
            f"{cell.source[max(0, match.start() - 30) : match.start() + 10]!r} (a backslash escape lost?)"
        )
