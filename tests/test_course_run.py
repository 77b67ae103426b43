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
    assert entry["metrics"]["exercises_passed"] == 3  # 00.0 (the worked example), 00.1, 00.2
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


def test_finished_progress_bars_replace_their_first_frame():
    import nbformat

    from mmlearn.course.runner import finish_progress_text

    def html(value):
        return {"model_name": "HTMLModel", "state": {"value": value}}

    state = {
        "box": {
            "model_name": "HBoxModel",
            "state": {"children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"]},
        },
        "l": html("training:\u2007100%"),
        "p": {"model_name": "FloatProgressModel", "state": {"value": 20.0, "max": 20.0}},
        "r": html("\u200720/20\u2007[00:16&lt;00:00,\u2007loss=0.244]"),
    }
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    cell = nbformat.v4.new_code_cell("train()")
    view = {"model_id": "box", "version_major": 2, "version_minor": 0}
    first_frame = "training:   0%|          | 0/20 [00:00<?, ?it/s]"
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", {"application/vnd.jupyter.widget-view+json": view, "text/plain": first_frame}
        )
    ]
    other = nbformat.v4.new_code_cell("print(1)")
    other.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells = [cell, other]
    assert finish_progress_text(nb) == 1
    assert (
        cell.outputs[0]["data"]["text/plain"] == "training: 100%|██████████| 20/20 [00:16<00:00, loss=0.244]"
    )
    assert other.outputs[0]["text"] == "1\n"
    saved = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    saved["p"]["state"]["value"] = 7.0  # an interrupted bar is not drawn as finished
    finish_progress_text(nb)
    assert "██" not in cell.outputs[0]["data"]["text/plain"]


def test_interactive_widgets_save_one_plain_line():
    import nbformat

    from mmlearn.course.runner import INTERACTIVE_TEXT, name_interactive_widgets

    view = {"model_id": "w", "version_major": 2, "version_minor": 0}
    cell = nbformat.v4.new_code_cell("interact(f, w=(0, 1))")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            {"application/vnd.jupyter.widget-view+json": view, "text/plain": "interactive(children=(Slider("},
        ),
        nbformat.v4.new_output("stream", text="interactive(children= in a print stays\n"),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    assert name_interactive_widgets(nb) == 1
    assert cell.outputs[0]["data"]["text/plain"] == INTERACTIVE_TEXT
    assert cell.outputs[1]["text"].startswith("interactive(children=")


def test_course_commands_name_the_missing_lab_extra(monkeypatch, capsys):
    """Installed without the 'lab' extra (as on Colab), the command says what to install."""
    import importlib.util

    from mmlearn.course import missing_lab_extra
    from mmlearn.course.__main__ import main as course_main

    assert missing_lab_extra() is None
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nbclient" else real(name, *a)
    )
    assert "nbclient" in missing_lab_extra() and "[lab]" in missing_lab_extra()
    assert course_main(["check-notebooks"]) == 2
    assert "pip install" in capsys.readouterr().err
