"""The course run survives a bad lesson, a bad output folder and a second run at the same time.

Every notebook here is a tiny synthetic one written into ``tmp_path``, so
that the whole file runs in seconds.
"""

import errno
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

from mmlearn.course import colab, student
from mmlearn.course.__main__ import main
from mmlearn.course.runner import (
    LOCK_FILE,
    CourseRunError,
    format_table,
    lesson_results,
    merge_results,
    run_course,
    strip_ansi,
)

ROOT = Path(__file__).resolve().parents[1]
RECORD = "from mmlearn.report import record\nrecord('answer', 42)"


def lesson(root: Path, name: str, *cells: str) -> Path:
    """Write ``solutions/<name>.ipynb`` with one code cell per string."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path = root / "solutions" / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())["notebooks"]


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- a bad lesson ---------------------------------------------------------------------------------


def test_a_cell_past_its_time_limit_fails_only_that_lesson(tmp_path, capsys):
    lesson(tmp_path, "00_first", RECORD)
    lesson(tmp_path, "01_slow", "import time", "time.sleep(60)", "print('never')")
    lesson(tmp_path, "02_after", RECORD)
    out = tmp_path / "build"
    start = time.monotonic()
    code = main(["--root", str(tmp_path), "run", "--out", str(out), "--cell-timeout", "1"])
    assert time.monotonic() - start < 40
    assert code == 1
    notebooks = results(out)
    assert notebooks["00_first"]["metrics"] == {"answer": 42}
    assert notebooks["02_after"]["metrics"] == {"answer": 42}
    assert "error" not in notebooks["02_after"]
    error = notebooks["01_slow"]["error"]
    assert error == "a cell ran past the cell time limit of 1 s (cell 2: time.sleep(60))"
    assert (out / "01_slow.ipynb").exists() and (out / "01_slow.html").exists()
    printed = capsys.readouterr().out
    assert "01_slow" in printed and "FAILED: a cell ran past the cell time limit" in printed
    assert "1 notebook(s) FAILED" in printed


def test_a_lesson_past_the_notebook_time_limit_fails_and_the_next_runs(tmp_path):
    # Every cell is well within the cell limit; together they pass the notebook's.
    lesson(tmp_path, "00_long", *["import time; time.sleep(1)"] * 8)
    lesson(tmp_path, "01_after", RECORD)
    out = tmp_path / "build"
    start = time.monotonic()
    assert run_course(tmp_path, out, notebook_timeout=2, cell_timeout=30) == 1
    assert time.monotonic() - start < 40
    notebooks = results(out)
    assert notebooks["00_long"]["error"].startswith("ran past the notebook time limit of 2 s (cell ")
    assert notebooks["00_long"]["seconds"] < 15
    assert notebooks["01_after"]["metrics"] == {"answer": 42}


def test_a_dead_kernel_fails_only_that_lesson(tmp_path):
    lesson(
        tmp_path, "00_crash", RECORD.replace("answer", "before"), "import os\nos._exit(1)", "print('never')"
    )
    lesson(tmp_path, "01_after", RECORD)
    out = tmp_path / "build"
    assert run_course(tmp_path, out) == 1
    notebooks = results(out)
    assert notebooks["00_crash"]["error"].startswith("the kernel died")
    assert "(cell 2: import os)" in notebooks["00_crash"]["error"]
    assert notebooks["00_crash"]["metrics"] == {"before": 42}  # what it recorded before dying is kept
    assert notebooks["01_after"]["metrics"] == {"answer": 42}


def test_a_cell_error_is_one_clean_line_without_terminal_colours(tmp_path):
    lesson(tmp_path, "00_broken", "x = 1", "raise RuntimeError('lesson broken')")
    out = tmp_path / "build"
    assert run_course(tmp_path, out) == 1
    error = results(out)["00_broken"]["error"]
    assert error == "RuntimeError: lesson broken (cell 2: raise RuntimeError('lesson broken'))"
    assert "\x1b" not in (out / "results.json").read_text()


def test_strip_ansi():
    assert strip_ansi("\x1b[0;31mRuntimeError\x1b[0m: boom\x1b]8;;http://x\x07link\x1b]8;;\x07") == (
        "RuntimeError: boom" + "link"
    )


# --- output folder --------------------------------------------------------------------------------


@pytest.mark.parametrize("blocker", ["out", "parent"])
def test_a_file_in_the_way_of_the_output_folder_stops_before_any_lesson(tmp_path, capsys, blocker):
    lesson(tmp_path, "00_first", RECORD)
    (tmp_path / "build").write_text("not a folder")
    out = tmp_path / "build" if blocker == "out" else tmp_path / "build" / "course"
    assert main(["--root", str(tmp_path), "run", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert f"{tmp_path / 'build'} is a file, not a folder" in captured.err
    assert "running" not in captured.out
    assert (tmp_path / "build").read_text() == "not a folder"


def test_a_read_only_output_folder_stops_before_any_lesson(tmp_path, capsys, monkeypatch):
    lesson(tmp_path, "00_first", RECORD)
    out = tmp_path / "build"
    out.mkdir()
    out.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway: make the OS answer as it does for everyone else
        real_mkstemp = tempfile.mkstemp

        def mkstemp(*args, dir=None, **kwargs):
            if dir is not None and Path(dir).resolve().is_relative_to(out.resolve()):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))
            return real_mkstemp(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    try:
        assert main(["--root", str(tmp_path), "run", "--out", str(out)]) == 2
    finally:
        out.chmod(0o755)
    captured = capsys.readouterr()
    assert "is not writable: Permission denied" in captured.err
    assert "running" not in captured.out
    assert not (out / "results.json").exists()


def test_only_matching_no_lesson_is_an_error(tmp_path):
    lesson(tmp_path, "00_first", RECORD)
    with pytest.raises(CourseRunError, match="no lesson .* starts with 7"):
        run_course(tmp_path, tmp_path / "build", only=["7"])
    assert not (tmp_path / "build").exists()


# --- results.json is merged, never overwritten with fewer lessons ---------------------------------


def test_an_only_run_keeps_the_other_lessons_results(tmp_path):
    lesson(tmp_path, "00_first", RECORD)
    lesson(tmp_path, "01_second", "raise ValueError('not yet')")
    out = tmp_path / "build"
    assert run_course(tmp_path, out) == 1
    (out / "results.json").write_text(
        json.dumps({**json.loads((out / "results.json").read_text()), "note": "kept"})
    )
    lesson(tmp_path, "01_second", RECORD.replace("42", "7"))
    assert run_course(tmp_path, out, only=["01"]) == 0
    data = json.loads((out / "results.json").read_text())
    assert data["note"] == "kept"
    assert data["notebooks"]["00_first"]["metrics"] == {"answer": 42}
    assert data["notebooks"]["01_second"]["metrics"] == {"answer": 7}
    assert "error" not in data["notebooks"]["01_second"]  # the old failure is replaced, not merged


def test_two_runs_into_one_folder_at_the_same_time_keep_both_lessons(tmp_path):
    lesson(tmp_path, "00_first", "import time; time.sleep(2)", RECORD)
    lesson(tmp_path, "01_second", "import time; time.sleep(2)", RECORD.replace("42", "7"))
    out = tmp_path / "build"
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "mmlearn.course", "--root", str(tmp_path), "run", "--out", str(out)]
            + ["--only", prefix],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for prefix in ["00", "01"]
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    notebooks = results(out)
    assert notebooks["00_first"]["metrics"] == {"answer": 42}
    assert notebooks["01_second"]["metrics"] == {"answer": 7}
    assert sorted(p.name for p in (out / "metrics").iterdir()) == ["00_first.json", "01_second.json"]


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_merging_waits_for_the_results_lock(tmp_path):
    import fcntl

    out = tmp_path / "build"
    out.mkdir()
    merge_results(out, {"00_first": {"seconds": 1.0, "device": "cpu", "metrics": {}}})
    with open(out / LOCK_FILE, "a") as held:  # another run, in the middle of its merge
        fcntl.flock(held, fcntl.LOCK_EX)
        writer = threading.Thread(
            target=merge_results, args=(out, {"01_second": {"seconds": 2.0, "device": "cpu", "metrics": {}}})
        )
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive(), "merge_results did not wait for the lock"
        assert set(results(out)) == {"00_first"}
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert set(results(out)) == {"00_first", "01_second"}


def test_many_processes_merging_at_once_lose_nothing(tmp_path):
    out = tmp_path / "build"
    out.mkdir()
    script = (
        "import sys; from pathlib import Path; from mmlearn.course.runner import merge_results\n"
        "for i in range(15):\n"
        "    merge_results(Path(sys.argv[1]), {f'{sys.argv[2]}_{i}': {'seconds': 0.0, 'device': 'cpu'}})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(out), f"w{w}"]) for w in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    assert len(results(out)) == 60


def test_an_unreadable_results_file_is_started_afresh(tmp_path, capsys):
    (tmp_path / "results.json").write_text("{ half a file")
    merge_results(tmp_path, {"00_first": {"seconds": 1.0, "device": "cpu", "metrics": {}}})
    assert set(results(tmp_path)) == {"00_first"}
    assert "unreadable" in capsys.readouterr().err


# --- extra sections of a lesson's results file (claims) -------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"acc": 0.5, "ok": True}, {"metrics": {"acc": 0.5, "ok": True}}),
        (
            {"metrics": {"acc": 0.5}, "claims": {"fusion_helps": True}},
            {"metrics": {"acc": 0.5}, "claims": {"fusion_helps": True}},
        ),
        ({"acc": 0.5, "claims": {"c": False}}, {"metrics": {"acc": 0.5}, "claims": {"c": False}}),
        ({}, {"metrics": {}}),
        ({"seconds": {"x": 1}}, {"metrics": {}}),  # cannot replace the runner's own fields
    ],
)
def test_lesson_results_shapes(data, expected):
    assert lesson_results(data) == expected


def test_claims_in_a_lessons_results_file_reach_results_json(tmp_path):
    writes = (
        "import json, os\n"
        "with open(os.environ['MMLEARN_RESULTS_FILE'], 'w') as f:\n"
        "    json.dump({'metrics': {'acc': 0.75}, 'claims': {'fusion_helps': True, 'late_wins': False}}, f)"
    )
    lesson(tmp_path, "00_claims", writes)
    out = tmp_path / "build"
    assert run_course(tmp_path, out) == 1  # a claim that fails makes the lesson fail: its prose is false
    entry = results(out)["00_claims"]
    assert entry["metrics"] == {"acc": 0.75}
    assert entry["claims"] == {"fusion_helps": True, "late_wins": False}
    assert entry["error"] == "claim(s) that no longer hold: late_wins"
    assert "FAILED: claim(s) that no longer hold: late_wins" in format_table(
        {"notebooks": {"00_claims": entry}}
    )
    del entry["error"]
    assert "claims 1/2 hold" in format_table({"notebooks": {"00_claims": entry}})


# --- permissions ----------------------------------------------------------------------------------


def test_course_run_files_are_readable_by_others(tmp_path, umask_022):
    lesson(tmp_path, "00_first", RECORD)
    out = tmp_path / "build"
    assert run_course(tmp_path, out) == 0
    for name in ["results.json", "00_first.ipynb", "00_first.html", "metrics/00_first.json"]:
        assert mode(out / name) == 0o644, name


def test_built_student_notebooks_are_readable_by_others(tmp_path, umask_022):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Lesson\n\n" + colab.badge("solutions/00_tiny.ipynb", "x/y", "old")),
        nbformat.v4.new_code_cell(colab.SETUP_MARKER),
        nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
    ]
    (tmp_path / "solutions").mkdir()
    nbformat.write(nb, tmp_path / "solutions" / "00_tiny.ipynb")
    written = student.build_notebooks(tmp_path)
    assert sorted(written) == [
        tmp_path / "notebooks" / "00_tiny.ipynb",
        tmp_path / "solutions" / "00_tiny.ipynb",
    ]
    for path in written:
        assert mode(path) == 0o644, path


def test_set_repo_leaves_readme_and_colab_module_readable(tmp_path, monkeypatch, umask_022):
    (tmp_path / "solutions").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Lesson\n\n" + colab.badge("solutions/00_tiny.ipynb")),
        nbformat.v4.new_code_cell(colab.setup_cell_source()),
    ]
    nbformat.write(nb, tmp_path / "solutions" / "00_tiny.ipynb")
    (tmp_path / "README.md").write_text(f"Start here: {colab.badge('notebooks/00_tiny.ipynb')}\n")
    colab_copy = tmp_path / "colab.py"
    colab_copy.write_text(Path(colab.__file__).read_text())
    monkeypatch.setattr(colab, "__file__", str(colab_copy))
    monkeypatch.setattr(colab, "REPOSITORY", colab.REPOSITORY)
    monkeypatch.setattr(colab, "BRANCH", colab.BRANCH)
    assert main(["--root", str(tmp_path), "set-repo", "teacher/fork"]) == 0
    assert "teacher/fork" in (tmp_path / "README.md").read_text()
    for path in [tmp_path / "README.md", colab_copy, tmp_path / "notebooks" / "00_tiny.ipynb"]:
        assert mode(path) == 0o644, path
