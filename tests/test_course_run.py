"""`make course`'s runner: executed copies, HTML, results.json, and failure on error."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from mmlearn.course.runner import format_table, run_course

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course(tmp_path):
    (tmp_path / "solutions").mkdir()
    shutil.copy(ROOT / "solutions" / "00_getting_started.ipynb", tmp_path / "solutions")
    return tmp_path


def test_run_writes_results_html_and_executed_copies(course, capsys):
    out = course / "build"
    assert run_course(course, out) == 0
    results = json.loads((out / "results.json").read_text())
    entry = results["notebooks"]["00_getting_started"]
    assert entry["device"] in {"cpu", "cuda", "mps"}
    assert entry["seconds"] > 0
    assert entry["metrics"]["deterministic"] is True
    assert entry["metrics"]["exercises_passed"] == 2
    assert (out / "00_getting_started.html").read_text().lstrip().lower().startswith("<!doctype html>")
    executed = nbformat.read(out / "00_getting_started.ipynb", as_version=4)
    assert any(cell.get("outputs") for cell in executed.cells)
    table = capsys.readouterr().out
    assert "00_getting_started" in table and "deterministic=True" in table


def test_a_failing_notebook_fails_the_run_but_the_others_still_run(course):
    nb = nbformat.read(course / "solutions" / "00_getting_started.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('lesson broken')"))
    nbformat.write(nb, course / "solutions" / "01_broken.ipynb")
    out = course / "build"
    assert run_course(course, out) == 1
    results = json.loads((out / "results.json").read_text())
    assert "RuntimeError" in results["notebooks"]["01_broken"]["error"]
    assert "error" not in results["notebooks"]["00_getting_started"]


def test_format_table_lists_each_notebook():
    results = {
        "notebooks": {
            "02_fusion": {"seconds": 41.25, "device": "cpu", "metrics": {"acc_early": 0.812, "claim": True}}
        }
    }
    lines = format_table(results).splitlines()
    assert lines[0].split() == ["notebook", "seconds", "device", "key", "results"]
    assert lines[2].split()[:3] == ["02_fusion", "41.2", "cpu"]
    assert "acc_early=0.812" in lines[2] and "claim=True" in lines[2]
