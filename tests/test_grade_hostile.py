"""The classroom grader against what students hand in: each hostile notebook gets a clear reason, and
the next one is graded regardless.

The notebooks are tiny hand-made lesson 00 copies (a title, the two exercise
functions, their check cells), so each costs a kernel start and little else;
they are graded in one class, with short time limits, so the whole file stays
within about a minute.
"""

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

from mmlearn.grade import gradebook
from mmlearn.grade.classroom import grade_class
from mmlearn.grade.submission import Limits

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the grader's limits need Linux")

GOOD_STANDARDISE = """
def standardise(x):
    return (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)
"""
GOOD_CONCAT = """
import torch

def concat_modalities(image, audio):
    if image.shape[0] != audio.shape[0]:
        raise ValueError(f"batch sizes differ: {image.shape[0]} and {audio.shape[0]}")
    return torch.cat([image.flatten(1), audio.flatten(1)], dim=1)
"""
STUB_STANDARDISE = "def standardise(x):\n    raise NotImplementedError()\n"
STUB_CONCAT = "def concat_modalities(image, audio):\n    raise NotImplementedError()\n"
IMPORTS = "from mmlearn.exercises import check, use\n"
USE_1 = 'standardise = use("00.1", standardise, timeout_s=2)'
USE_2 = 'concat_modalities = use("00.2", concat_modalities, timeout_s=2)'


def notebook(*cells: str, title: str = "# Lesson 00 · Getting started") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(title)] + [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def hostile_class(folder: Path, elsewhere: Path) -> dict[str, nbformat.NotebookNode | str]:
    """Name -> notebook (or raw text) for every hostile case."""
    target = elsewhere / "victim.txt"
    return {
        "raises_everywhere": notebook(
            "raise RuntimeError('cell one')",
            IMPORTS + "1 / 0",
            STUB_STANDARDISE + "undefined_name",
            USE_1 + "\nraise ValueError",
            GOOD_CONCAT + "\nraise KeyError('x')",
            USE_2,
        ),
        "loops_and_sleeps": notebook(
            IMPORTS,
            GOOD_STANDARDISE,
            "import time\ntime.sleep(10_000)",
            USE_1,
            "def concat_modalities(image, audio):\n    while True:\n        pass",
            USE_2,
        ),
        "prints_50mb": notebook(
            IMPORTS,
            "print('x' * 50_000_000)",
            GOOD_STANDARDISE,
            USE_1,
            "def concat_modalities(image, audio):\n    print('y' * 50_000_000)\n    return image",
            USE_2,
        ),
        "eats_memory": notebook(
            IMPORTS,
            "import numpy as np\n\ndef standardise(x):\n    hoard = []\n    while True:\n"
            "        hoard.append(np.empty(2**27))  # 1 GiB each, until the cap says no",
            USE_1,
            GOOD_CONCAT,
            USE_2,
        ),
        "not_json": '{"cells": [ this is not json',
        "other_lesson": notebook(IMPORTS, GOOD_STANDARDISE, title="# Lesson 03 · Shared representations"),
        "cells_deleted_reordered": notebook(
            USE_2, GOOD_CONCAT, GOOD_CONCAT, IMPORTS, GOOD_STANDARDISE, GOOD_STANDARDISE
        ),
        "fakes_a_pass": notebook(
            # the live checker patched, and its file in the kernel's copy of the course rewritten
            IMPORTS + "import os, stat\nimport mmlearn.exercises.checker as c\n"
            "setattr(c, '_run' + '_spec', lambda ex, fn: ('passed', '', False))\n"
            "os.chmod(c.__file__, stat.S_IRWXU)\n"
            "open(c.__file__, 'a').write('\\n_run' + '_spec = lambda ex, fn: (\"passed\", \"\", False)\\n')",
            STUB_STANDARDISE,
            USE_1,
            # a redefined use, and a verdict displayed in the grader's format (names split past the scan)
            "from IPython.display import display\n"
            "def use(exercise_id, fn):\n    print('✅ passed')\n    return fn\ncheck = use\n"
            "display({'application/vnd.' + 'mmlearn' + '.grade+json': {'token': 'guess', 'results': "
            "{'00.2': {'status': 'passed'}}}}, raw=True)",
            STUB_CONCAT,
            USE_2,
        ),
        "writes_outside": notebook(
            IMPORTS,
            f"open({str(target)!r}, 'w').write('overwritten')\n"
            f"os_mod = __import__('os'); os_mod.remove({str(folder / 'prints_50mb.ipynb')!r})",
            "import mmlearn, os\n"
            "try:\n    open(mmlearn.__file__, 'a').write('# changed')\n"
            "except OSError as err:\n    print('refused:', err)\n"
            "open(os.path.expanduser('~/in_home.txt'), 'w').write('home is the scratch copy')",
            GOOD_STANDARDISE,
            USE_1,
            STUB_CONCAT,
            USE_2,
        ),
        "exits": notebook(
            IMPORTS,
            "import sys\nsys.exit(3)",
            GOOD_STANDARDISE,
            "import os\nos._exit(1)",
            USE_1,
            "def concat_modalities(image, audio):\n    import sys\n    sys.exit(0)",
            USE_2,
        ),
        "reaches_into_checker": notebook(
            IMPORTS + "from mmlearn.exercises.lesson00 import standardise_reference\n",
            "def standardise(x):\n    return standardise_reference(x)",
            USE_1,
        ),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    elsewhere = tmp_path_factory.mktemp("teacher")
    (elsewhere / "victim.txt").write_text("the teacher's file")
    for name, nb in hostile_class(folder, elsewhere).items():
        text = nb if isinstance(nb, str) else nbformat.writes(nb)
        (folder / f"{name}.ipynb").write_text(text, encoding="utf-8")
    out = tmp_path_factory.mktemp("gradebook")
    limits = Limits(cell_timeout_s=6, notebook_timeout_s=120, check_timeout_s=3)  # the default memory cap
    results = grade_class([folder], out, lesson="00", limits=limits, watch=[elsewhere], progress=False)
    return {r.student: r for r in results}, out, elsewhere


def by_id(sub):
    return {r.exercise: r for r in sub.rows}


def test_every_hostile_notebook_gets_a_row_for_each_exercise(graded):
    results, out, _ = graded
    assert len(results) == 11
    data = json.loads((out / gradebook.JSON_NAME).read_text())
    assert {s["student"] for s in data["students"]} == set(results)
    for sub in results.values():
        assert [r.exercise for r in sub.rows] == ["00.1", "00.2"], sub.student


def test_a_notebook_that_raises_in_every_cell_is_still_graded(graded):
    rows = by_id(graded[0]["raises_everywhere"])
    assert rows["00.1"].status == "not attempted"
    assert rows["00.2"].passed and rows["00.2"].points == 1


def test_endless_loops_and_sleeps_cost_only_their_cell(graded):
    """A cell that sleeps (or loops: the same limit) is skipped; a function that loops fails its check."""
    sub = graded[0]["loops_and_sleeps"]
    assert sub.note == "cell 4 (import time) ran past the cell time limit of 6 s: skipped"
    assert by_id(sub)["00.1"].passed
    assert by_id(sub)["00.2"].status == "failed"
    assert "did not finish within 3 s" in by_id(sub)["00.2"].message


def test_a_50mb_print_is_dropped_not_kept(graded):
    rows = by_id(graded[0]["prints_50mb"])
    assert rows["00.1"].passed
    assert rows["00.2"].status == "failed"
    assert len(rows["00.2"].message) <= 500
    assert (graded[1] / gradebook.JSON_NAME).stat().st_size < 100_000


def test_memory_is_capped(graded):
    rows = by_id(graded[0]["eats_memory"])
    assert rows["00.1"].status == "failed"
    assert "MemoryError" in rows["00.1"].message
    assert rows["00.2"].passed


def test_invalid_json_and_another_lesson_are_refused_with_a_reason(graded):
    results = graded[0]
    assert "not a notebook (invalid JSON" in results["not_json"].note
    assert results["other_lesson"].note == "this is lesson 03's notebook, not lesson 00's"
    for name in ("not_json", "other_lesson"):
        assert all(r.status == "not graded" and r.points == 0 for r in results[name].rows)


def test_deleted_reordered_and_duplicated_cells_grade_what_is_there(graded):
    sub = graded[0]["cells_deleted_reordered"]
    assert sub.points == 2 and sub.note == ""


def test_a_patched_or_redefined_check_or_a_forged_verdict_earns_nothing(graded):
    """Its check cells print passes and it displays a forged verdict: the grader's own pass imports a
    fresh copy of the checker made after the student's cells, and reads only its own request's token."""
    sub = graded[0]["fakes_a_pass"]
    assert [r.status for r in sub.rows] == ["not attempted", "not attempted"]
    assert sub.points == 0 and sub.note == ""


def test_writes_outside_the_copy_are_detected_and_the_course_is_read_only(graded):
    results, _, elsewhere = graded
    sub = results["writes_outside"]
    assert "changed files outside its copy" in sub.note and "victim.txt" in sub.note
    assert "prints_50mb.ipynb" in sub.note  # it deleted another student's file: named too
    assert by_id(sub)["00.1"].passed  # and its own work is graded all the same
    assert not (Path(os.path.expanduser("~")) / "in_home.txt").exists()
    # the student's write to the course package was refused (a read-only copy): the real one is untouched
    import mmlearn

    assert "# changed" not in Path(mmlearn.__file__).read_text()


def test_the_deleted_notebook_was_graded_before_it_went(graded):
    assert graded[0]["prints_50mb"].rows[0].passed


def test_exits_are_survived(graded):
    sub = graded[0]["exits"]
    assert "cell 5 (import os) ended the kernel" in sub.note
    rows = by_id(sub)
    assert rows["00.1"].passed
    assert rows["00.2"].status == "failed" and "sys.exit" in rows["00.2"].message


def test_reaching_into_the_checker_is_flagged_for_review(graded):
    sub = graded[0]["reaches_into_checker"]
    assert sub.note.startswith(
        "needs review by hand: cell 2 uses _reference; cell 2 uses mmlearn.exercises.lesson"
    )
    assert sub.points == 0
