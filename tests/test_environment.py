"""environment.yml (conda users) and pyproject.toml must list the same packages."""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def pip_section(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    entries = []
    for line in lines[start + 1 :]:
        match = re.match(r"^\s{4,}- (.+)$", line)
        if not match:
            break
        entries.append(match.group(1).strip())
    return entries


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    entries = pip_section((ROOT / "environment.yml").read_text())
    assert entries[-1] == '-e ".[lab]"'
    assert entries[:-1] == project["dependencies"] + project["optional-dependencies"]["lab"]


def test_lesson_runtime_needs_no_jupyter_front_end():
    """Colab's set-up cell installs the runtime dependencies; JupyterLab and the runner are an extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=]", spec)[0] for spec in project["dependencies"]}
    assert not names & {"jupyterlab", "nbclient", "nbconvert", "jupyter_client", "notebook"}
    assert "mmlearn-course[lab]" in project["optional-dependencies"]["dev"]


def test_minimum_versions_only():
    """Colab keeps its own torch: no upper bounds or pins in the runtime dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+>=[0-9.]+", spec), spec


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make course" in readme
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "make test"
