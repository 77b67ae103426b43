"""Key results and claims of a lesson, printed for the reader and saved for the course run.

Taught in lesson 00 (section 6, "Results of this lesson"); every lesson uses it.

A lesson calls ``record("acc_early", 0.91)`` for each figure it teaches and
``claim("fusion_beats_unimodal", holds, "best fusion beats ...")`` for each
comparison its prose makes. ``record`` prints the figure (rounded to the
precision the lesson uses); ``claim`` prints one ``claim: ...: PASS`` or
``FAIL`` line, the only part of a result that nbval compares (the figures
move with the CPU). When ``make course`` runs the notebook, both are also
written to the JSON file named by ``MMLEARN_RESULTS_FILE`` (figures at the
top level, claims under ``"claims"``); the course runner gathers those files
into ``build/course/results.json``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

RESULTS_ENV = "MMLEARN_RESULTS_FILE"


def record(name: str, value, digits: int = 3, quiet: bool = False):
    """Print ``name = value`` and store it in the results file, if one is set.

    ``value`` must be a finite number or a bool (a claim that holds or not).
    ``digits`` is the rounding used for the printed figure; the file keeps
    full precision. Returns nothing, so a notebook cell does not echo it.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"result name must be a short identifier like 'acc_early', got {name!r}")
    if hasattr(value, "item"):  # numpy or torch scalar
        value = value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(f"the value of result '{name}' must be a number or bool, got {type(value).__name__}")
    if not isinstance(value, bool) and not math.isfinite(value):
        raise ValueError(f"the value of result '{name}' is {value}: a lesson result must be finite")
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits must be a whole number of decimals >= 0, got {digits!r}")
    if not quiet:
        shown = value if isinstance(value, bool | int) else f"{value:.{digits}f}"
        print(f"{name} = {shown}")
    path = os.environ.get(RESULTS_ENV)
    if path:
        _merge_into(Path(path), {name: value})


def claim(name: str, holds, detail: str) -> bool:
    """Print ``claim: detail: PASS`` (or ``FAIL``) and store ``{name: holds}`` under "claims".

    ``holds`` is the outcome of the comparison the lesson states, e.g.
    ``best_fusion - best_unimodal >= 0.05``. Returns it as a bool, so a
    lesson can go on differently when a claim fails; it never raises on a
    FAIL: the line shows it and nbval catches it.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"claim name must be a short identifier like 'fusion_beats_unimodal', got {name!r}")
    if hasattr(holds, "item"):  # numpy or torch bool
        holds = holds.item()
    if not isinstance(holds, bool):
        raise TypeError(f"claim '{name}': holds must be a bool (the outcome of a comparison), got {holds!r}")
    if not isinstance(detail, str) or not detail.strip():
        raise ValueError(f"claim '{name}': detail must say in words what is claimed, got {detail!r}")
    print(f"claim: {detail}: {'PASS' if holds else 'FAIL'}")
    path = os.environ.get(RESULTS_ENV)
    if path:
        _merge_into(Path(path), {"claims": {name: holds}})
    return holds


def _merge_into(path: Path, results: dict) -> None:
    """Add ``results`` to the JSON dict at ``path`` (dicts are merged one level deep), atomically."""
    data = json.loads(path.read_text()) if path.exists() else {}
    for key, value in results.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True))


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A reader never sees half a file, and a crash leaves the old one intact.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    with atomic_file(path) as f:
        f.write(text)


@contextmanager
def atomic_file(path: str | os.PathLike, binary: bool = False) -> Iterator[IO]:
    """Write a file whole or not at all: ``with atomic_file(path) as f: f.write(...)``.

    The block writes to a temporary file beside ``path``; when it ends without
    an error, the file gets normal permissions and is renamed onto ``path``
    (a rename is atomic on one filesystem, so a reader never sees half a
    file). When the block raises, the temporary file is deleted and ``path``
    keeps what it had. The one writer behind results, notebooks, checkpoints
    and downloads.
    """
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise TypeError(f"path must be a file path (a str or pathlib.Path), got {path!r}")
    if not isinstance(binary, bool):
        raise TypeError(f"binary must be True or False, got {binary!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
            yield f
        os.chmod(tmp, new_file_mode())  # mkstemp makes the file 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_file_mode(folder: bool = False) -> int:
    """The permissions a normal new file (0o666) or folder (0o777) gets under this process's umask.

    Temporary files and folders (``mkstemp``, ``mkdtemp``) are private (0600,
    0700); everything the course writes through them is given these
    permissions before it is renamed into place, so it is readable like any
    other file the user makes (0644 and 0755 under the usual umask 022).
    """
    if not isinstance(folder, bool):
        raise TypeError(f"folder must be True or False, got {folder!r}")
    return (0o777 if folder else 0o666) & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (/proc), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it; put it straight back
    os.umask(mask)
    return mask
