"""The repository that Colab badges and set-up cells point to, set in one place.

Lesson 00 (section "How this course works") explains the Colab set-up cell this module writes.

A teacher who forks the course runs
``python -m mmlearn.course set-repo OWNER/NAME`` once: it rewrites
``REPOSITORY`` below and every notebook's badge and set-up cell.
"""

from __future__ import annotations

import re
from pathlib import Path

REPOSITORY = "mmlearn-course/mmlearn-course"
BRANCH = "main"

BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
SETUP_MARKER = "# Set-up for Google Colab"


def badge(notebook_path: str, repository: str | None = None, branch: str | None = None) -> str:
    """Markdown for the "Open in Colab" badge of ``notebook_path`` (repo-relative)."""
    repository, branch = repository or REPOSITORY, branch or BRANCH
    url = f"https://colab.research.google.com/github/{repository}/blob/{branch}/{notebook_path}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def setup_cell_source(repository: str | None = None, branch: str | None = None) -> str:
    """The first code cell of every lesson: installs the package only on Colab.

    pip installs the package with the dependencies Colab lacks (captum, for
    one) and leaves the ones it has alone: the dependencies are minimum
    versions only (no pins), so Colab's own torch, torchvision, numpy and
    ipywidgets already satisfy them and are not touched. JupyterLab and the
    headless runner are the ``lab`` extra, which Colab does not need.
    ``tests/test_colab_like.py`` runs this cell in a fresh environment that
    holds only Colab's preinstalled packages. nbval skips the cell; on any
    other machine it does nothing.
    """
    repository, branch = repository or REPOSITORY, branch or BRANCH
    return (
        "# NBVAL_SKIP\n"
        f"{SETUP_MARKER}: installs the course package there; does nothing elsewhere.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "mmlearn-course @ git+https://github.com/{repository}@{branch}"'
    )


def check_repository(repository: str) -> str:
    """Accept ``OWNER/NAME`` as GitHub spells it; anything else is an error."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository or ""):
        raise ValueError(f"repository must look like 'owner/name', got {repository!r}")
    return repository


def set_repository(repository: str, branch: str = BRANCH) -> None:
    """Rewrite ``REPOSITORY`` and ``BRANCH`` in this file (the one place they are set)."""
    check_repository(repository)
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", branch):
        raise ValueError(f"branch name {branch!r} is not valid")
    path = Path(__file__)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'^REPOSITORY = ".*"$', f'REPOSITORY = "{repository}"', text, count=1, flags=re.M)
    text = re.sub(r'^BRANCH = ".*"$', f'BRANCH = "{branch}"', text, count=1, flags=re.M)
    from mmlearn.report import atomic_write_text

    atomic_write_text(path, text)
    global REPOSITORY, BRANCH
    REPOSITORY, BRANCH = repository, branch
