"""Course tooling: student copies, Colab links, and the headless course run.

Lesson 00 (section "How this course works") and the README explain these tools; students do not need
to open them.

Run ``python -m mmlearn.course --help`` for the commands.
"""

import importlib.util

# The Jupyter tools behind these commands and the grader: the "lab" extra, which Colab does not need.
LAB_EXTRA = ("nbformat", "nbclient", "nbconvert")


def missing_lab_extra() -> str | None:
    """One line saying how to install the ``lab`` extra when one of its modules is missing; else None."""
    missing = [name for name in LAB_EXTRA if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"these commands need {', '.join(missing)} (the 'lab' extra): "
        "pip install -e '.[lab]' in a checkout, or pip install 'mmlearn-course[lab]'"
    )
