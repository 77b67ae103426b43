"""Turn the complete lessons in ``solutions/`` into student copies in ``notebooks/``.

Lesson 00 (section 5, "Exercises") explains the student copies this module writes.

``solutions/`` is the single source. Exercise code sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` inside a function body; the
student copy replaces it with a stub that raises ``NotImplementedError``
(the nbgrader convention), clears every output, and points its Colab badge
at itself. A test regenerates the copies and fails when they differ from
what is committed, so the two folders cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from mmlearn.course import colab
from mmlearn.report import atomic_write_text

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = "_Write your answer here._"
SOLUTIONS, NOTEBOOKS = "solutions", "notebooks"


class NotebookFormatError(ValueError):
    """A lesson notebook breaks one of the conventions above."""


def strip_solutions(source: str, where: str, code: bool = True) -> str:
    """Replace every solution region of one cell's source with a stub."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise NotebookFormatError(f"{where}, line {number}: '{BEGIN}' inside another solution")
            indent = line[: len(line) - len(line.lstrip())]
            if code and not indent:
                raise NotebookFormatError(
                    f"{where}, line {number}: a solution region must sit inside a function body, "
                    "so that the student copy still runs top to bottom"
                )
            out.extend(indent + s for s in (STUB if code else (ANSWER_STUB,)))
            inside = True
        elif marker == END:
            if not inside:
                raise NotebookFormatError(f"{where}, line {number}: '{END}' without a '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookFormatError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def normalise_header(nb: nbformat.NotebookNode, repo_path: str) -> None:
    """Point the badge at ``repo_path`` and make the set-up cell the standard one."""
    if len(nb.cells) < 2 or nb.cells[0].cell_type != "markdown" or nb.cells[1].cell_type != "code":
        raise NotebookFormatError(f"{repo_path}: must start with a title cell and the Colab set-up cell")
    title = nb.cells[0]
    if not colab.BADGE_RE.search(title.source):
        raise NotebookFormatError(f"{repo_path}: the first cell has no 'Open In Colab' badge")
    title.source = colab.BADGE_RE.sub(lambda m: colab.badge(repo_path), title.source)
    setup = nb.cells[1]
    if colab.SETUP_MARKER not in setup.source:
        raise NotebookFormatError(f"{repo_path}: the second cell must be the Colab set-up cell")
    setup.source = colab.setup_cell_source()


def student_copy(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student version of one solution notebook (a new object)."""
    nb = nbformat.from_dict(solution)
    normalise_header(nb, f"{NOTEBOOKS}/{name}")
    for index, cell in enumerate(nb.cells):
        where = f"{SOLUTIONS}/{name}, cell {index}"
        cell.source = strip_solutions(cell.source, where, code=cell.cell_type == "code")
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    return nb


# The kernel that JupyterLab names for a Python environment with ipykernel installed.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _as_javascript_numbers(value):
    """Whole floats become ints (1.0 -> 1), as a browser's JSON round trip writes them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return type(value)((k, _as_javascript_numbers(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_as_javascript_numbers(v) for v in value]
    return value


def dumps(nb: nbformat.NotebookNode) -> str:
    """Serialise the notebook exactly as JupyterLab saves it, so opening a committed file changes nothing.

    JupyterLab names the kernel "Python 3 (ipykernel)" and passes the notebook through the browser's
    JSON, which writes a whole float without its ".0" (widget states hold many); a committed file in
    another form opens as "unsaved changes" and shows up in a student's git diff.
    ``tests/test_browser.py`` opens committed notebooks in JupyterLab and checks they stay unchanged.
    """
    nb = nbformat.from_dict(_as_javascript_numbers(nb))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nbformat.writes(nb, version=4) + "\n"


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def solution_paths(root: Path) -> list[Path]:
    paths = sorted((Path(root) / SOLUTIONS).glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no lesson notebooks found in {Path(root) / SOLUTIONS}")
    return paths


def expected_files(root: Path) -> dict[Path, str]:
    """Every file the builder would write, with its text: headers of the
    solutions themselves (badge and set-up cell) and all student copies."""
    files: dict[Path, str] = {}
    for path in solution_paths(root):
        solution = _read(path)
        normalise_header(solution, f"{SOLUTIONS}/{path.name}")
        files[path] = dumps(solution)
        files[Path(root) / NOTEBOOKS / path.name] = dumps(student_copy(solution, path.name))
    return files


def build_notebooks(root: Path) -> list[Path]:
    """Write ``notebooks/`` (and normalise solution headers); return changed files."""
    changed = []
    for path, text in expected_files(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic_write_text(path, text)
            changed.append(path)
    return changed


def stale_notebooks(root: Path) -> list[str]:
    """Files that differ from what ``build_notebooks`` would write, plus strays in ``notebooks/``."""
    expected = expected_files(root)
    stale = [
        str(p.relative_to(root))
        for p, t in expected.items()
        if not p.exists() or p.read_text(encoding="utf-8") != t
    ]
    for path in sorted((Path(root) / NOTEBOOKS).glob("*.ipynb")):
        if path not in expected:
            stale.append(f"{path.relative_to(root)} (no matching solution)")
    return stale


def find_exercise_ids(nb: nbformat.NotebookNode) -> list[str]:
    """Exercise ids called by ``check("NN.k", ...)`` or ``use("NN.k", ...)`` cells, in order."""
    ids = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            ids += re.findall(EXERCISE_CALL_RE, cell.source)
    return ids


EXERCISE_CALL_RE = r"""\b(?:check|use)\(\s*["'](\d\d\.\d+)["']"""
