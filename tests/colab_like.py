"""A fresh environment that holds only what Google Colab preinstalls that the course needs.

Used by ``tests/test_colab_like.py`` (issue: the course as students open it). Colab's runtime comes
with torch, torchvision, numpy, matplotlib, scikit-learn, ipywidgets and a Jupyter kernel; everything
else the lessons import (librosa, nltk, captum, tqdm, the course package and its audio asset) must
come from the notebook's own set-up cell. This module builds such an environment quickly and offline
for the preinstalled part:

* ``python -m venv`` gives an empty environment with pip;
* each preinstalled distribution, and the distributions it depends on, is *hard-linked* from the
  environment running the tests, file by file as its ``RECORD`` lists them (no download and no copy
  of torch's gigabytes; pip unlinks a file before it writes one, so an upgrade in the fresh
  environment never touches the original);
* a ``google.colab`` module exists and is imported at start-up (a ``.pth`` line), as Colab's runtime
  does, so the set-up cell's ``if "google.colab" in sys.modules`` holds.

The set-up cell then runs unchanged except for its install target: the locally built wheel instead
of the repository URL. Its dependencies come from the package index, as on Colab.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# What Colab preinstalls that the course needs, plus the kernel that runs a notebook there.
COLAB_PREINSTALLED = (
    "torch",
    "torchvision",
    "numpy",
    "matplotlib",
    "scikit-learn",
    "ipywidgets",
    "ipykernel",
)
KERNEL_NAME = "colab-like"


def dependency_closure(names) -> list[metadata.Distribution]:
    """The installed distributions ``names`` and everything they require, in this environment.

    A requirement with extras (torch asks for ``cuda-toolkit[cublas,...]``) brings the requirements
    of those extras too.
    """
    marker_env = default_environment()
    wanted = {canonicalize_name(n) for n in names}
    found: dict[str, metadata.Distribution] = {}
    visited: set[tuple[str, str]] = set()
    todo = [(name, "") for name in wanted]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in visited:
            continue
        visited.add((name, extra))
        try:
            dist = found.get(name) or metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if name in wanted:
                raise
            continue  # an optional platform dependency that is not installed here
        found[name] = dist
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({**marker_env, "extra": extra}):
                if req.marker is not None and not extra and "extra" in str(req.marker):
                    continue  # belongs to an extra nobody asked for
                child = canonicalize_name(req.name)
                todo += [(child, "")] + [(child, canonicalize_name(e)) for e in req.extras]
    return sorted(found.values(), key=lambda d: canonicalize_name(d.metadata["Name"]))


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def link_distribution(dist: metadata.Distribution, site: Path) -> int:
    """Hard-link every file of ``dist`` under ``site`` (as its RECORD lists them); returns how many."""
    origin = Path(dist.locate_file(""))
    linked = 0
    for entry in dist.files or []:
        if entry.parts and entry.parts[0] == "..":
            continue  # console scripts outside site-packages: not needed to run a kernel
        source = origin / entry
        if not source.is_file():
            continue  # .pyc files that RECORD names but that were never written
        target = site / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            try:
                os.link(source, target)
            except OSError:  # another file system: a symbolic link serves as well
                os.symlink(source, target)
            linked += 1
    return linked


def make_colab_like_env(path: Path) -> Path:
    """Create the environment at ``path``; returns its python. ``path`` must not exist yet."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"path {path} exists: give a fresh folder for the environment")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(path)], check=True)
    python = path / "bin" / "python"
    site = _site_packages(python)
    for dist in dependency_closure(COLAB_PREINSTALLED):
        link_distribution(dist, site)
    (site / "google" / "colab").mkdir(parents=True, exist_ok=True)  # "google" stays a namespace package
    (site / "google" / "colab" / "__init__.py").write_text('"""Stands in for Colab\'s own module."""\n')
    (site / "colab_runtime.pth").write_text("import google.colab\n")  # Colab's runtime imports it at start
    return python


def install_kernel(python: Path, jupyter_path: Path) -> None:
    """A kernelspec named ``KERNEL_NAME`` under ``jupyter_path/kernels`` that runs ``python``."""
    folder = Path(jupyter_path) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like Python",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec))


SETUP_TARGET = re.compile(r'"mmlearn-course @ git\+https://github\.com/[^"]+"')


def point_setup_cell_at(source: str, wheel: Path) -> str:
    """The set-up cell's source with its install target replaced by ``wheel`` (nothing else changes)."""
    new, count = SETUP_TARGET.subn(f'"mmlearn-course @ {Path(wheel).resolve().as_uri()}"', source)
    if count != 1:
        raise ValueError(f"expected one install target in the set-up cell, found {count}:\n{source}")
    return new
