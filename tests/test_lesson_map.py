"""Every module says where it is taught: its docstring names a lesson near the top (the lesson map).

A student who opens a file should know which lesson explains it, the way
d2l marks each function "Defined in section ...".
"""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mmlearn"
MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_docstring_opens_with_its_lessons(path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc, f"{path.name} has no module docstring"
    opening = "\n\n".join(doc.split("\n\n")[:3])  # the summary and the next two paragraphs
    assert re.search(r"\b[Ll]essons? \d\d\b|\b[Nn]o lesson\b", opening), (
        f"{path.relative_to(PACKAGE)}: the docstring's opening should name the lesson(s) that teach it"
    )


def test_the_map_covers_the_package():
    assert len(MODULES) > 40
