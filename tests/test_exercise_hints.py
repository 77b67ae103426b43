"""Exercises that build the lesson, with hints that teach instead of answering.

Every lesson 01-05 has at least three exercises: at least two checked ones
plus a "go further" section; at least one checked exercise goes through
``use`` so the lesson runs on the student's code (or, until it passes, on the
registered reference). Every hint comes in steps, and no step contains the
solution's code: neither one of its lines nor a run of ``WINDOW`` of its
tokens in a row.
"""

import importlib
import io
import re
import tokenize
from pathlib import Path

import nbformat
import pytest

from mmlearn.course.student import BEGIN, END, find_exercise_ids
from mmlearn.exercises.checker import _REGISTRY, get_exercise

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
WINDOW = 7  # tokens in a row that make "code": `F.cross_entropy(logits, y)` is 8


def lesson_ids(path: Path) -> list[str]:
    return find_exercise_ids(nbformat.read(path, as_version=4))


def solution_code(path: Path) -> list[str]:
    """The code between every BEGIN/END SOLUTION pair of one lesson, region by region."""
    regions, current = [], None
    for cell in nbformat.read(path, as_version=4).cells:
        for line in cell.source.splitlines():
            if line.strip() == BEGIN:
                current = []
            elif line.strip() == END:
                regions.append("\n".join(current or []))
                current = None
            elif current is not None:
                current.append(line)
    return regions


def code_tokens(source: str) -> list[str]:
    """Names, operators, numbers and strings of Python source, without comments."""
    wanted = {tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING}
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in wanted:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError):
        pass
    return out


def text_tokens(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text)


def code_lines(source: str) -> list[str]:
    """Solution lines worth comparing: comments stripped, at least 12 characters of code."""
    lines = []
    for line in source.splitlines():
        code = line.split("#", 1)[0].strip()
        if len(re.sub(r"\s", "", code)) >= 12:
            lines.append(re.sub(r"\s", "", code))
    return lines


def leaks(hint: str, solution: str) -> str | None:
    """The piece of ``solution`` that ``hint`` repeats, or None."""
    squeezed = re.sub(r"\s", "", hint)
    for line in code_lines(solution):
        if line in squeezed:
            return line
    sol, txt = code_tokens(solution), text_tokens(hint)
    windows = {tuple(sol[i : i + WINDOW]) for i in range(len(sol) - WINDOW + 1)}
    for i in range(len(txt) - WINDOW + 1):
        if tuple(txt[i : i + WINDOW]) in windows:
            return " ".join(txt[i : i + WINDOW])
    return None


def test_leaks_catches_a_copied_line_and_a_copied_expression():
    solution = "z = torch.cat([h, h.new_ones(len(h), 1)], dim=1)\nreturn (z.unsqueeze(2) * z).flatten(1)\n"
    assert leaks("write z = torch.cat([h, h.new_ones(len(h), 1)], dim=1) first", solution)
    assert leaks("end with (z.unsqueeze(2) * z) and flatten", solution)
    assert leaks("Think about which dimension to join along.", solution) is None
    assert leaks("Call torch.cat and Tensor.flatten.", solution) is None


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_no_hint_step_contains_the_solution_code(path):
    ids = lesson_ids(path)
    solution = "\n".join(solution_code(path))
    assert solution.strip(), f"{path.name} has no solution code"
    for exercise_id in ids:
        for step, text in enumerate(get_exercise(exercise_id).hints, start=1):
            piece = leaks(text, solution)
            assert piece is None, f"{exercise_id} hint step {step} gives away the solution: {piece!r}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_hints_come_in_steps(path):
    for exercise_id in lesson_ids(path):
        hints = get_exercise(exercise_id).hints
        assert len(hints) >= 2, f"{exercise_id} has {len(hints)} hint step(s); give at least two"
        assert len(set(hints)) == len(hints), f"{exercise_id} repeats a hint step"


LESSONS_WITH_EXERCISES = [p for p in SOLUTIONS if p.name[:2] != "00"]


@pytest.mark.parametrize("path", LESSONS_WITH_EXERCISES, ids=[p.stem for p in LESSONS_WITH_EXERCISES])
def test_three_exercises_that_build_the_lesson(path):
    nb = nbformat.read(path, as_version=4)
    ids = find_exercise_ids(nb)
    lesson = path.name[:2]
    importlib.import_module(f"mmlearn.exercises.lesson{lesson}")
    registered = sorted(k for k in _REGISTRY if k.startswith(lesson + "."))
    called = sorted(set(ids))
    assert called == registered, f"{path.name} calls {called}, the package has {registered}"
    assert len(set(ids)) >= 2, f"{path.name} needs at least two checked exercises"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"go further", markdown, re.I), f"{path.name} has no 'go further' exercises"
    used = set(re.findall(r"""\buse\(\s*["'](\d\d\.\d+)["']""", "\n".join(c.source for c in nb.cells)))
    assert used, f"{path.name}: no exercise result is used by the lesson (call use('NN.k', fn))"
    for exercise_id in used:
        assert get_exercise(exercise_id).reference is not None, f"{exercise_id} is used but has no reference"
