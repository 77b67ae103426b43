"""The lessons' own set-up cell installs everything Colab lacks, without touching Colab's torch.

A fresh environment holds only Colab's preinstalled packages that the course needs
(``tests/colab_like.py``); lessons 00 (the environment check) and 01 (librosa and the shipped audio
clips) then run top to bottom, their set-up cell pointed at the locally built wheel.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from colab_like import KERNEL_NAME, install_kernel, make_colab_like_env, point_setup_cell_at

from mmlearn.course import colab

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ("00_getting_started.ipynb", "01_modalities.ipynb")


def _run(python: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd="/")


@pytest.fixture(scope="module")
def colab_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("colab")
    wheels = base / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = wheels.glob("mmlearn_course-*.whl")
    python = make_colab_like_env(base / "env")
    install_kernel(python, base / "jupyter")
    return {"base": base, "wheel": wheel, "python": python}


def test_point_setup_cell_replaces_only_the_install_target(tmp_path):
    source = colab.setup_cell_source()
    wheel = tmp_path / "mmlearn_course-0.1-py3-none-any.whl"
    new = point_setup_cell_at(source, wheel)
    assert new.replace(wheel.resolve().as_uri(), "X") == source.replace(
        f"git+https://github.com/{colab.REPOSITORY}@{colab.BRANCH}", "X"
    )
    with pytest.raises(ValueError, match="one install target"):
        point_setup_cell_at("print('no install here')", wheel)


def test_fresh_env_holds_colab_packages_only(colab_env):
    python = colab_env["python"]
    have = _run(
        python, "import torch, torchvision, numpy, matplotlib, sklearn, ipywidgets, ipykernel, google.colab"
    )
    assert have.returncode == 0, have.stderr
    for missing in ("librosa", "mmlearn", "captum", "nltk", "jupyterlab"):
        result = _run(python, f"import {missing}")
        assert result.returncode != 0, f"{missing} should not be preinstalled in the Colab-like environment"


def test_lessons_run_after_their_own_setup_cell(colab_env, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    python = colab_env["python"]
    torch_before = _run(
        python, "import torch, os; print(torch.__version__, os.stat(torch.__file__).st_ino)"
    ).stdout
    monkeypatch.setenv("JUPYTER_PATH", str(colab_env["base"] / "jupyter"))
    monkeypatch.setenv("MMLEARN_DEVICE", "cpu")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    for name in LESSONS:
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        setup = nb.cells[1]
        assert colab.SETUP_MARKER in setup.source, f"{name}: the set-up cell is not the first code cell"
        setup.source = point_setup_cell_at(setup.source, colab_env["wheel"])
        work = tmp_path / name.removesuffix(".ipynb")
        work.mkdir()
        NotebookClient(
            nb, timeout=600, kernel_name=KERNEL_NAME, resources={"metadata": {"path": str(work)}}
        ).execute()  # raises CellExecutionError on the first cell that fails
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"{name}: {errors[0]}"
        if name.startswith("00"):
            printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
            assert "environment OK" in printed, printed[-2000:]
    where = _run(python, "import mmlearn, librosa; print(mmlearn.__file__)")
    assert where.returncode == 0, where.stderr
    assert str(colab_env["base"] / "env") in where.stdout, (
        "mmlearn must come from the wheel the set-up cell installed"
    )
    assert _run(
        python, "import torch, os; print(torch.__version__, os.stat(torch.__file__).st_ino)"
    ).stdout == (torch_before), "the set-up cell replaced Colab's torch"
