"""Key results of a lesson, printed for the reader and saved for the course run.

A lesson calls ``record("acc_early", 0.91)`` for each figure it teaches.
The call prints the figure (rounded to the precision the lesson uses, so
that nbval can compare it), and, when ``make course`` runs the notebook, also
appends it to the JSON file named by ``MMLEARN_RESULTS_FILE``; the course
runner gathers those files into ``build/course/results.json``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from pathlib import Path

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
        raise TypeError(f"result '{name}' must be a number or bool, got {type(value).__name__}")
    if not isinstance(value, bool) and not math.isfinite(value):
        raise ValueError(f"result '{name}' is {value}: a lesson result must be finite")
    if not quiet:
        shown = value if isinstance(value, bool | int) else f"{value:.{digits}f}"
        print(f"{name} = {shown}")
    path = os.environ.get(RESULTS_ENV)
    if path:
        _merge_into(Path(path), {name: value})


def _merge_into(path: Path, results: dict) -> None:
    """Add ``results`` to the JSON dict at ``path``, writing atomically."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(results)
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True))


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A reader never sees half a file, and a crash leaves the old one intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
