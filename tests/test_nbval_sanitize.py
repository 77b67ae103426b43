"""What nbval's substitutions hide, and what they must keep comparing exactly.

nbval compares the cells marked ``# NBVAL_CHECK_OUTPUT`` with their committed
outputs. Anything in them that another CPU, thread count or torch version can
change (a trained accuracy, a loss, a percentage) must be hidden by the
substitutions, or ``make test`` fails on the next machine: one lesson printed
``0.5`` where the committed output had ``0.56`` because a figure that rounds
to one decimal was compared.
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import get_sanitize_patterns

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Path(__file__).resolve().parent / "nbval_sanitize.cfg"
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb"))


def sanitize(text: str) -> str:
    """Apply the file's patterns in order, read by nbval's own parser."""
    for regex, replace in get_sanitize_patterns(CONFIG.read_text()):
        text = re.sub(regex, replace, text)
    return text


def test_trained_figures_become_placeholders():
    assert sanitize("clip_r1 = 0.92") == "clip_r1 = FLOAT"
    assert sanitize("joint:   {'image only': 0.56, 'audio only': 0.32}") == (
        "joint:   {'image only': FLOAT, 'audio only': FLOAT}"
    )
    assert (
        sanitize("final naive loss 0.002 (0 is its minimum)") == "final naive loss FLOAT (0 is its minimum)"
    )
    assert sanitize("device: cuda (NVIDIA H100)") == "device: DEVICE"
    assert sanitize("took 12.5 s") == "took N s"


def test_figures_rounded_to_one_decimal_or_as_percent_are_hidden_too():
    assert sanitize("joint:   {'image only': 0.5, 'audio only': 0.3}") == sanitize(
        "joint:   {'image only': 0.56, 'audio only': 0.32}"
    )
    assert sanitize("fused accuracy 84%") == sanitize("fused accuracy 78.5%") == "fused accuracy PERCENT"
    assert sanitize("loss 1e-05") == sanitize("loss 2.5e-06") == "loss FLOAT"


def test_claims_shapes_and_counts_are_still_compared():
    for line in [
        "claim: best fusion beats the best single modality by >= 5 points: FAIL",
        "image (3, 32, 32) text (30,)",
        "train pairs 7501, held-out pairs 200, vocabulary 49 words",
        "56 test images of the held-out combinations, 18 candidate prompts",
        "n_handwritten_digits = 1797",
    ]:
        assert sanitize(line) == line
    assert sanitize("claim: ...: PASS") != sanitize("claim: ...: FAIL")


def checked_outputs(path):
    """(cell index, text) of every output of the cells nbval compares in one notebook."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "# NBVAL_CHECK_OUTPUT" not in cell.source:  # nbval: any comment line
            continue
        for out in cell.get("outputs", []):
            text = out.get("text", "") or out.get("data", {}).get("text/plain", "")
            yield i, "".join(text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checked_cells_keep_no_figure_after_sanitizing(path):
    """Whatever nbval still compares is words, integers, shapes and PASS/FAIL: no decimal, no percent."""
    leaks = []
    for i, text in checked_outputs(path):
        for line in sanitize(text).splitlines():
            if re.search(r"\d\.\d|\d%", line):
                leaks.append(f"cell {i}: {line}")
    assert not leaks, "checked cells still compare a figure a CPU can change:\n" + "\n".join(leaks)


def test_the_notebook_scan_sees_checked_cells():
    """The scan above is not vacuous: the lessons do have checked cells with figures to hide."""
    texts = [text for path in NOTEBOOKS for _, text in checked_outputs(path)]
    assert len(texts) > 20
    assert any(re.search(r"\d\.\d", text) for text in texts)
