"""What nbval's substitutions hide, and what they must keep comparing exactly."""

import re
from pathlib import Path

from nbval.plugin import get_sanitize_patterns

CONFIG = Path(__file__).resolve().parent / "nbval_sanitize.cfg"


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


def test_claims_shapes_and_counts_are_still_compared():
    for line in [
        "claim: CLIP finds the right caption among 200 for >= 90% of held-out images: PASS",
        "claim: best fusion beats the best single modality by >= 5 points: FAIL",
        "image (3, 32, 32) text (30,)",
        "train pairs 7501, held-out pairs 200, vocabulary 49 words",
        "fixed tau = 0.1   held-out R@1 after 3 epochs:",
        "n_handwritten_digits = 1797",
    ]:
        assert sanitize(line) == line
    assert sanitize("claim: ...: PASS") != sanitize("claim: ...: FAIL")
