"""Every module says where it is taught: its docstring names a lesson near the top (the lesson map).

A student who opens a file should know which lesson explains it, the way
d2l marks each function "Defined in section ...".
"""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mmlearn"
MODULES = sorted(PACKAGE.rglob("*.py"))


def headings() -> set[str]:
    """Every "## N. Title" heading of the lessons, as "N. Title"."""
    found = set()
    for path in (ROOT / "solutions").glob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                found |= {
                    line[3:].strip()
                    for line in "".join(cell["source"]).splitlines()
                    if line.startswith("## ")
                }
    return found


def test_the_sections_the_docstrings_name_exist():
    """A docstring that says 'section 3, "Train everything"' points at a heading a lesson really has."""
    known = headings()
    wrong = []
    for path in MODULES:
        doc = " ".join((ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").split())
        for number, title in re.findall(r'(\d+), "([^"]+)"', doc):
            if not any(h.startswith(f"{number}. {title}") for h in known):
                wrong.append(f"{path.relative_to(PACKAGE)}: section {number}, {title!r}")
    assert not wrong, "no lesson has these sections:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_docstring_opens_with_its_lessons(path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc, f"{path.name} has no module docstring"
    opening = "\n\n".join(doc.split("\n\n")[:3])  # the summary and the next two paragraphs
    assert re.search(r"\b[Ll]essons? \d\d\b|\b[Nn]o lesson\b", opening), (
        f"{path.relative_to(PACKAGE)}: the docstring's opening should name the lesson(s) that teach it"
    )


def test_the_map_covers_the_package():
    names = {str(p.relative_to(PACKAGE)) for p in MODULES}
    assert {
        "training.py",
        "data/base.py",
        "fusion/early.py",
        "exercises/checker.py",
        "course/runner.py",
    } <= names
