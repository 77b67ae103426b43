import shutil
from pathlib import Path

import nbformat
import pytest

from mmlearn.course import colab
from mmlearn.course.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def test_badge_and_setup_cell_use_the_configured_repository():
    assert colab.badge("notebooks/02_fusion.ipynb", "a/b", "dev").endswith(
        "(https://colab.research.google.com/github/a/b/blob/dev/notebooks/02_fusion.ipynb)"
    )
    src = colab.setup_cell_source("a/b", "dev")
    assert src.startswith("# NBVAL_SKIP\n")
    assert 'if "google.colab" in sys.modules:' in src
    assert "git+https://github.com/a/b@dev" in src


@pytest.mark.parametrize("bad", ["", "noslash", "a/b/c", "a b/c", "https://github.com/a/b"])
def test_bad_repository_names(bad):
    with pytest.raises(ValueError, match="owner/name"):
        colab.check_repository(bad)


def test_set_repo_rewrites_every_notebook_and_the_readme(tmp_path, monkeypatch):
    """A fork changes the URL once; every badge and set-up cell follows."""
    for folder in ["solutions", "notebooks"]:
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    colab_copy = tmp_path / "colab.py"
    shutil.copy(Path(colab.__file__), colab_copy)
    monkeypatch.setattr(colab, "__file__", str(colab_copy))
    original = (colab.REPOSITORY, colab.BRANCH)
    try:
        assert main(["--root", str(tmp_path), "set-repo", "teacher/my-course", "--branch", "spring"]) == 0
    finally:
        colab.REPOSITORY, colab.BRANCH = original
    assert 'REPOSITORY = "teacher/my-course"' in colab_copy.read_text()
    for path in sorted((tmp_path / "notebooks").glob("*.ipynb")) + sorted(
        (tmp_path / "solutions").glob("*.ipynb")
    ):
        nb = nbformat.read(path, as_version=4)
        folder = path.parent.name
        expected = f"github/teacher/my-course/blob/spring/{folder}/{path.name}"
        assert expected in nb.cells[0].source, path
        assert "git+https://github.com/teacher/my-course@spring" in nb.cells[1].source
    readme = (tmp_path / "README.md").read_text()
    assert "github/teacher/my-course/blob/spring/notebooks/" in readme
    assert f"github/{original[0]}/" not in readme
