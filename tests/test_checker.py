"""The exercise checker: verdicts, messages, and that nothing a student's function does stops or fools it."""

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest
import torch

from mmlearn.exercises import check, passed, progress
from mmlearn.exercises.checker import (
    IN_PROCESS_ENV,
    OUTPUT_LIMIT,
    ExerciseFailure,
    _student_verdict,
    exercise,
    expect_close,
)
from mmlearn.exercises.lesson00 import (
    concat_modalities_reference,
    standardise_reference,
    unit_rows_reference,
)

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (Linux, macOS)")


@pytest.fixture(params=["child process", "in-process fallback"])
def mode(request, monkeypatch):
    """Run a test both ways: in a forked child, and in the thread fallback used where fork is missing."""
    if request.param == "child process":
        if not hasattr(os, "fork"):
            pytest.skip("needs os.fork")
        monkeypatch.delenv(IN_PROCESS_ENV, raising=False)
    else:
        monkeypatch.setenv(IN_PROCESS_ENV, "1")
    return request.param


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_reference_solutions_pass(capsys, mode):
    from mmlearn.exercises import checker

    checker._PASSED.discard("00.0")  # the lesson's worked example, checked last below
    check("00.1", standardise_reference)
    check("00.2", concat_modalities_reference)
    assert passed("00.1") and passed("00.2")
    out = capsys.readouterr().out
    assert out.endswith(
        "✅ Exercise 00.2 (concatenate two modalities): passed.\n"
        "   Lesson 00 progress: 2/3 exercises passed.\n"
    )
    assert out.startswith("✅ Exercise 00.1 (standardise features): passed.\n   Lesson 00 progress: ")
    assert progress("00") == (2, 3)  # 00.0, the lesson's worked example, is not checked here
    check("00.0", unit_rows_reference)
    assert progress("00") == (3, 3)


def test_worked_example_names_the_input(capsys):
    check("00.0", lambda x: x / x.norm())  # the lesson's first try: the whole batch's length
    assert not passed("00.0")
    out = capsys.readouterr().out
    assert "unit_rows(x) for x of shape (4, 3)" in out and "Hint" in out


def test_not_started_stub(capsys, mode):
    def stub(x):
        raise NotImplementedError()

    check("00.1", stub)
    assert not passed("00.1")
    assert "not done yet" in capsys.readouterr().out


def test_student_exception_reported_with_hint(capsys, mode):
    def broken(x):
        return x / undefined_name  # noqa: F821

    check("00.1", broken)
    assert not passed("00.1")
    out = capsys.readouterr().out
    assert "raised NameError" in out and "\n   Hint " in out  # a hint step: the next one each time


def test_wrong_shape_named(capsys):
    check("00.1", lambda x: x.T)
    assert not passed("00.1")
    assert "should have shape (8, 3), got (3, 8)" in capsys.readouterr().out


def test_wrong_values_named(capsys):
    check("00.1", lambda x: x - x.mean(dim=0))
    assert not passed("00.1")
    assert "wrong values" in capsys.readouterr().out


def test_endless_loop_times_out(capsys, mode):
    stop = threading.Event()  # lets the fallback's abandoned thread end after the test
    end = time.monotonic() + 10  # and a broken timeout fail instead of hanging the suite

    def forever(x):
        while not stop.is_set() and time.monotonic() < end:
            pass

    try:
        check("00.1", forever, timeout_s=0.3)
    finally:
        stop.set()
    assert not passed("00.1")
    assert "did not finish within 0.3 s" in capsys.readouterr().out


# --- exits: reported, never obeyed -----------------------------------------------------------------------


def _raise(error):
    def student(*args):
        raise error

    return student


@pytest.mark.parametrize(
    ("student", "message"),
    [
        (lambda x: sys.exit(3), "your function called sys.exit(3)"),
        (lambda x: sys.exit(), "your function called sys.exit()"),
        (_raise(SystemExit("bye")), "your function called sys.exit('bye')"),
        (_raise(KeyboardInterrupt()), "your function raised KeyboardInterrupt"),
        (_raise(GeneratorExit()), "your function raised GeneratorExit"),
    ],
    ids=["sys.exit(3)", "sys.exit()", "SystemExit", "KeyboardInterrupt", "GeneratorExit"],
)
def test_exits_become_a_message(student, message, capsys, mode):
    check("00.1", student)  # must return, not raise
    assert not passed("00.1")
    out = capsys.readouterr().out
    assert f"❌ Exercise 00.1 (standardise features): {message}" in out
    assert "the notebook goes on" in out
    assert "   Lesson 00 progress:" in out


def test_exit_is_not_mistaken_for_a_missing_value_error(capsys, mode):
    def exits_on_bad_input(image, audio):
        if image.shape[0] != audio.shape[0]:
            sys.exit("batch sizes differ")
        return concat_modalities_reference(image, audio)

    check("00.2", exits_on_bad_input)
    assert not passed("00.2")
    out = capsys.readouterr().out
    assert "called sys.exit('batch sizes differ')" in out and "should raise" not in out


@needs_fork
def test_os_exit_does_not_end_the_kernel(capsys):
    check("00.1", lambda x: os._exit(7))
    assert not passed("00.1")
    out = capsys.readouterr().out
    assert "your function ended the process (os._exit(7)?) before returning" in out


def test_a_gpu_call_in_the_child_is_explained():
    """A kernel that already uses CUDA cannot hand it to a forked child: say why, not just torch's error."""
    error = RuntimeError(
        "Cannot re-initialize CUDA in forked subprocess. To use CUDA with multiprocessing, ..."
    )
    status, message, show_hint = _student_verdict(error)
    assert status == "failed" and show_hint
    assert message.startswith("your function raised RuntimeError: Cannot re-initialize CUDA")
    assert "leave the tensors on the device they come on" in message


@needs_fork
def test_a_killed_process_is_reported(capsys):
    check("00.1", lambda x: os.kill(os.getpid(), signal.SIGKILL))
    assert not passed("00.1")
    assert "killed by SIGKILL" in capsys.readouterr().out


# --- time limits -----------------------------------------------------------------------------------------


def _stubborn(pid_file, seconds):
    """A student loop that swallows every exception, the checker's own timeout included."""

    def student(x):
        partial = pid_file.with_suffix(".partial")  # written whole, then renamed: never read half-written
        partial.write_text(str(os.getpid()))
        os.replace(partial, pid_file)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                time.sleep(0.01)
            except BaseException:
                pass
        return x

    return student


@needs_fork
def test_timeout_beats_except_base_exception(capsys, tmp_path):
    pid_file = tmp_path / "pid"
    start = time.monotonic()
    check("00.1", _stubborn(pid_file, seconds=4), timeout_s=0.5)
    assert time.monotonic() - start < 3
    assert not passed("00.1")
    assert "did not finish within 0.5 s" in capsys.readouterr().out
    pid = int(pid_file.read_text())
    assert pid != os.getpid() and gone(pid)


@needs_fork
def test_timeout_off_the_main_thread_stops_the_function(capsys, tmp_path):
    pid_file = tmp_path / "pid"
    worker = threading.Thread(
        target=check, args=("00.1", _stubborn(pid_file, seconds=4)), kwargs={"timeout_s": 0.3}
    )
    worker.start()
    worker.join(3)
    assert not worker.is_alive()
    assert "did not finish within 0.3 s" in capsys.readouterr().out
    pid = int(pid_file.read_text())
    assert pid != os.getpid() and gone(pid)  # not left running in the background


def test_fallback_says_it_cannot_stop_a_runaway_function(capsys, monkeypatch):
    monkeypatch.setenv(IN_PROCESS_ENV, "1")
    stop = threading.Event()
    end = time.monotonic() + 10  # a broken timeout fails instead of hanging the suite

    def stubborn(x):
        while not stop.is_set() and time.monotonic() < end:
            try:
                time.sleep(0.01)
            except BaseException:
                pass

    try:
        check("00.1", stubborn, timeout_s=0.3)
    finally:
        stop.set()
    out = capsys.readouterr().out
    assert "did not finish within 0.3 s" in out and "cannot stop it" in out


@pytest.mark.parametrize("bad", [0, -1, 0.0, float("nan"), float("inf"), "5", True])
def test_timeout_s_is_validated(bad, capsys):
    check("00.1", standardise_reference, timeout_s=bad)
    assert not passed("00.1")
    out = capsys.readouterr().out
    assert out.startswith("[checker] timeout_s must be") and repr(bad) in out
    with pytest.raises(ValueError, match="timeout_s"):
        exercise("99.9", "a title", "a hint", timeout_s=bad)


@needs_fork
def test_the_stop_button_still_stops_a_check(tmp_path):
    """A real interrupt of the notebook is not swallowed, and leaves no process behind."""
    pid_file = tmp_path / "pid"

    def slow(x):
        # Written whole, then renamed: the stop button below waits for the file, and must not find it empty.
        partial = pid_file.with_suffix(".partial")
        partial.write_text(str(os.getpid()))
        os.replace(partial, pid_file)
        time.sleep(30)

    def press_stop():
        """Interrupt once the student's function runs: the check is then waiting for it.

        (A fixed delay raced with a slow fork on a busy machine: a signal that
        lands during ``os.fork()`` is a different case.)
        """
        deadline = time.monotonic() + 15
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(parent, signal.SIGINT)

    parent = os.getpid()
    # A kernel turns SIGINT into KeyboardInterrupt; a test run started in the background (`make test &`)
    # inherits SIGINT ignored, so install the kernel's behaviour for this test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Thread(target=press_stop, daemon=True)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            check("00.1", slow, timeout_s=60)
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - start < 25  # stopped, not waited out
    pid = int(pid_file.read_text())
    assert pid != os.getpid() and gone(pid)


# --- what comes back -------------------------------------------------------------------------------------


@needs_fork
def test_input_does_not_wait_for_a_keyboard(capsys):
    check("00.1", lambda x: input("a number? "), timeout_s=5)
    out = capsys.readouterr().out
    assert "raised EOFError: input() is not available" in out


def test_student_output_is_shown_before_the_verdict(capsys, mode):
    def chatty(x):
        print("hello from the student")
        return standardise_reference(x)

    check("00.1", chatty)
    out = capsys.readouterr().out
    assert passed("00.1")
    assert out.index("hello from the student") < out.index("✅ Exercise 00.1")


def test_a_50_mb_print_is_cut(capsys, mode):
    def loud(x):
        print("x" * 50_000_000)
        return standardise_reference(x)

    check("00.1", loud)
    out = capsys.readouterr().out
    assert passed("00.1")
    assert len(out) < OUTPUT_LIMIT + 1000
    assert f"more characters of your function's output were cut (only the first {OUTPUT_LIMIT:,}" in out


@needs_fork
def test_output_below_python_is_cut_too(capfd):
    def loud(x):
        os.write(1, b"y" * 5_000_000)
        return standardise_reference(x)

    check("00.1", loud)
    out, err = capfd.readouterr()
    assert passed("00.1")
    assert len(out) + len(err) < OUTPUT_LIMIT + 1000 and "were cut" in out


def test_in_place_zeroing_cannot_pass(capsys, mode):
    """Zeroing the inputs and returning zeros used to pass: the reference saw the zeroed tensors."""

    def zeroing(image, audio):
        if image.shape[0] != audio.shape[0]:
            raise ValueError("batch sizes differ")
        image.zero_()
        audio.zero_()
        return torch.cat([image.flatten(1), audio.flatten(1)], dim=1)

    check("00.2", zeroing)
    assert not passed("00.2")
    assert "wrong values" in capsys.readouterr().out


def test_the_global_random_state_moves_as_if_the_check_ran_here(monkeypatch, capsys):
    """Later cells of a lesson draw the same numbers whichever way the check ran."""
    draws = []
    for in_process in ("", "1"):
        monkeypatch.setenv(IN_PROCESS_ENV, in_process)
        torch.manual_seed(0)
        check("00.2", concat_modalities_reference)  # its spec draws from the global generator
        draws.append(torch.rand(3))
    torch.manual_seed(0)
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], torch.rand(3))


def test_missing_value_error_is_a_failure(capsys):
    def no_check(image, audio):
        return torch.cat([image.flatten(1), audio.flatten(1)[: image.shape[0]]], dim=1)

    check("00.2", no_check)
    assert not passed("00.2")
    assert "should raise ValueError" in capsys.readouterr().out


def test_unknown_exercise_and_non_callable(capsys):
    check("00.9", standardise_reference)
    assert not passed("00.9")
    check("99.1", standardise_reference)
    assert not passed("99.1")
    check("oops", standardise_reference)
    assert not passed("oops")
    check("00.1", 42)
    assert not passed("00.1")
    out = capsys.readouterr().out
    assert "unknown exercise '00.9'" in out
    assert "no exercises are defined for lesson 99" in out
    assert "ids look like" in out
    assert "expected a function" in out


def test_expect_close_messages():
    with pytest.raises(ExerciseFailure, match="torch.Tensor"):
        expect_close([1.0], torch.tensor([1.0]))
    with pytest.raises(ExerciseFailure, match="wrong values"):
        expect_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 3.0]))
    expect_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-7]))


def test_expect_close_checks_types():
    for not_a_number in ["0.4", b"0.4", True, None, [0.4], {"recall": 0.4}]:
        with pytest.raises(ExerciseFailure, match=r"recall should be a number \(a Python float\), got"):
            expect_close(not_a_number, 0.4, "recall")
    with pytest.raises(ExerciseFailure, match="got str '0.4'"):
        expect_close("0.4", 0.4, "recall")
    for number in [0.4, np.float32(0.4), np.float64(0.4), torch.tensor(0.4), np.array(0.4)]:
        expect_close(number, 0.4)
    expect_close(1, 1.0)
    with pytest.raises(ExerciseFailure, match="should be an array of numbers, got str"):
        expect_close("0.4", [0.4])
    with pytest.raises(ExerciseFailure, match="should hold numbers"):
        expect_close(["0.4"], [0.4])
    with pytest.raises(ExerciseFailure, match="should hold real numbers"):
        expect_close(torch.ones(2, dtype=torch.complex64), torch.ones(2))
    with pytest.raises(ExerciseFailure, match="should be a torch.Tensor, got str"):
        expect_close("tensor([1.])", torch.ones(1))


# --- hints in steps, and `use` --------------------------------------------------------------------------


@pytest.fixture
def stepped():
    """A throwaway exercise with three hint steps and a reference (removed after the test)."""
    from mmlearn.exercises import checker

    def reference(x):
        return x * 2

    @exercise("99.7", "double it", ("think about it", "call something", "multiply"), reference=reference)
    def spec(student):
        expect_close(student(torch.ones(3)), torch.full((3,), 2.0), "double of ones")

    yield reference
    checker._REGISTRY.pop("99.7", None)
    checker._HINTS_SHOWN.pop("99.7", None)
    checker._PASSED.discard("99.7")


def test_each_failure_shows_one_hint_step_more(capsys, stepped):
    from mmlearn.exercises import hint

    for _ in range(4):
        check("99.7", lambda x: x)
    out = capsys.readouterr().out
    assert out.count("Hint 1/3: think about it") == 1
    assert out.count("Hint 2/3: call something") == 1
    assert out.count("Hint 3/3: multiply") == 2  # the last step again once all are shown
    assert out.count('run hint("99.7")') == 2  # only while more steps remain
    hint("99.7")
    assert "Hint 3/3: multiply" in capsys.readouterr().out


def test_use_returns_the_reference_until_the_answer_passes(capsys, stepped):
    from mmlearn.exercises import use

    def stub(x):
        raise NotImplementedError()

    assert use("99.7", stub) is stepped
    out = capsys.readouterr().out
    assert "not done yet" in out and "runs on the reference" in out and "test_checker" in out
    assert use("99.7", lambda x: x + 3) is stepped  # wrong: reference again
    assert "Hint 1/3" in capsys.readouterr().out

    def mine(x):
        return x + x

    assert use("99.7", mine) is mine
    assert "The rest of the lesson runs on your mine." in capsys.readouterr().out


@pytest.mark.parametrize("hints", ["", (), ("step", ""), ["fine", 3]])
def test_bad_hints_refused(hints):
    with pytest.raises(ValueError, match="hints"):
        exercise("99.8", "a title", hints)


def test_reference_must_be_callable():
    with pytest.raises(ValueError, match="reference"):
        exercise("99.8", "a title", "a hint", reference=3)


def test_after_cuda_is_used_the_check_runs_in_the_kernel(monkeypatch, capsys):
    """A forked child of a kernel that has initialised CUDA cannot run autograd: fall back to the thread."""
    from mmlearn.exercises import checker

    monkeypatch.delenv(IN_PROCESS_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    assert not checker._fork_available()
    pids = []

    def answer(x):
        pids.append(os.getpid())
        return standardise_reference(x)

    check("00.1", answer)
    assert passed("00.1") and set(pids) == {os.getpid()}
