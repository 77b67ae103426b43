"""solutions/ -> notebooks/: the stubs, the header, and that the folders are in sync."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mmlearn.course import colab
from mmlearn.course.student import (
    NotebookFormatError,
    build_notebooks,
    stale_notebooks,
    strip_solutions,
    student_copy,
)

ROOT = Path(__file__).resolve().parents[1]


def test_committed_student_notebooks_are_in_sync():
    stale = stale_notebooks(ROOT)
    assert stale == [], f"run `python -m mmlearn.course build-notebooks`; out of date: {stale}"


def test_strip_keeps_indentation_and_code_around():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\nprint(f)"
    assert strip_solutions(src, "nb") == (
        "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\nprint(f)"
    )


def test_markdown_answers_become_a_prompt():
    src = "Answer:\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"
    assert strip_solutions(src, "nb", code=False) == "Answer:\n_Write your answer here._"


@pytest.mark.parametrize(
    "src, message",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    pass", "never closed"),
        ("def f():\n    pass\n    ### END SOLUTION", "without a"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "inside a function body"),
        ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n", "inside another"),
    ],
)
def test_malformed_regions_are_errors(src, message):
    with pytest.raises(NotebookFormatError, match=message):
        strip_solutions(src, "solutions/x.ipynb, cell 3")


def _lesson(solution_code="def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"):
    title = new_markdown_cell(f"# Lesson 99\n\n{colab.badge('solutions/99_demo.ipynb', 'someone/else')}")
    setup = new_code_cell(colab.setup_cell_source("someone/else"))
    body = new_code_cell(solution_code, execution_count=1, outputs=[new_output("stream", text="hi\n")])
    check = new_code_cell('check("99.1", f)', execution_count=2)
    nb = new_notebook(cells=[title, setup, body, check])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_student_copy_clears_outputs_and_points_badge_at_itself():
    student = student_copy(_lesson(), "99_demo.ipynb")
    assert "notebooks/99_demo.ipynb" in student.cells[0].source
    assert colab.REPOSITORY in student.cells[0].source and "someone/else" not in student.cells[0].source
    assert student.cells[1].source == colab.setup_cell_source()
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert "raise NotImplementedError()" in student.cells[2].source
    assert "return x" not in student.cells[2].source


def test_header_is_required():
    nb = _lesson()
    nb.cells[0].source = "# no badge here"
    with pytest.raises(NotebookFormatError, match="badge"):
        student_copy(nb, "99_demo.ipynb")
    nb = _lesson()
    nb.cells[1].source = "import torch"
    with pytest.raises(NotebookFormatError, match="set-up cell"):
        student_copy(nb, "99_demo.ipynb")


def test_editing_a_solution_without_rebuilding_is_detected(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    assert stale_notebooks(tmp_path) == []
    path = sorted((tmp_path / "solutions").glob("*.ipynb"))[0]
    nb = nbformat.read(path, as_version=4)
    nb.cells[-1].source += "\nOne more sentence."
    nbformat.write(nb, path)
    assert stale_notebooks(tmp_path) == [f"notebooks/{path.name}"]
    assert build_notebooks(tmp_path) == [tmp_path / "notebooks" / path.name]
    assert stale_notebooks(tmp_path) == []


def test_stray_student_notebook_is_reported(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    (tmp_path / "notebooks" / "77_orphan.ipynb").write_text("{}")
    assert stale_notebooks(tmp_path) == ["notebooks/77_orphan.ipynb (no matching solution)"]


def test_notebooks_are_written_as_jupyterlab_saves_them():
    """Whole floats lose their '.0' (the browser's JSON) and the kernel is named as JupyterLab names it."""
    from mmlearn.course.student import KERNELSPEC, dumps

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["widgets"] = {"state": {"m": {"max": 1.0, "min": -2.0, "value": 0.25, "n": [3.0, 0.5]}}}
    nb.cells.append(nbformat.v4.new_code_cell("x = 1.0"))
    saved = json.loads(dumps(nb))
    assert saved["metadata"]["widgets"]["state"]["m"] == {"max": 1, "min": -2, "value": 0.25, "n": [3, 0.5]}
    assert isinstance(saved["metadata"]["widgets"]["state"]["m"]["max"], int)
    assert saved["metadata"]["kernelspec"] == KERNELSPEC
    assert saved["cells"][0]["source"] == ["x = 1.0"]  # text is left alone
    assert dumps(nbformat.from_dict(saved)) == dumps(nb)  # a second save changes nothing
