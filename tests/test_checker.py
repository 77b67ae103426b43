"""The exercise checker: verdicts, messages, and that it never raises."""

import threading

import pytest
import torch

from mmlearn.exercises import check, passed, progress
from mmlearn.exercises.checker import ExerciseFailure, _run_with_timeout, _Timeout, expect_close
from mmlearn.exercises.lesson00 import concat_modalities_reference, standardise_reference


def test_reference_solutions_pass(capsys):
    check("00.1", standardise_reference)
    check("00.2", concat_modalities_reference)
    assert passed("00.1") and passed("00.2")
    out = capsys.readouterr().out
    assert "✅ Exercise 00.1" in out and "✅ Exercise 00.2" in out
    assert progress("00") == (2, 2)


def test_not_started_stub(capsys):
    def stub(x):
        raise NotImplementedError()

    check("00.1", stub)
    assert not passed("00.1")
    assert "not done yet" in capsys.readouterr().out


def test_student_exception_reported_with_hint(capsys):
    def broken(x):
        return x / undefined_name  # noqa: F821

    check("00.1", broken)
    assert not passed("00.1")
    out = capsys.readouterr().out
    assert "raised NameError" in out and "Hint:" in out


def test_wrong_shape_named(capsys):
    check("00.1", lambda x: x.T)
    assert not passed("00.1")
    assert "should have shape (8, 3), got (3, 8)" in capsys.readouterr().out


def test_wrong_values_named(capsys):
    check("00.1", lambda x: x - x.mean(dim=0))
    assert not passed("00.1")
    assert "wrong values" in capsys.readouterr().out


def test_endless_loop_times_out(capsys):
    def forever(x):
        while True:
            pass

    check("00.1", forever, timeout_s=0.3)
    assert not passed("00.1")
    assert "did not finish within 0.3 s" in capsys.readouterr().out


def test_timeout_in_a_worker_thread_too():
    errors = []

    def body():
        try:
            _run_with_timeout(lambda: threading.Event().wait(5), 0.2)
        except _Timeout:
            errors.append("timeout")

    t = threading.Thread(target=body)
    t.start()
    t.join(3)
    assert errors == ["timeout"]


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
