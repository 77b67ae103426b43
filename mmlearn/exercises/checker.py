"""The machinery behind ``check``: a registry of specs, a timeout, messages.

A spec is a function registered with ``@exercise("NN.k", title, hint)`` that
receives the student's function and raises ``ExerciseFailure`` with a message
when the answer is wrong. Everything the student's code does wrong (raise,
return the wrong shape, loop forever) becomes a printed message instead of an
exception, because one unfinished exercise must not stop the rest of a lesson.
"""

from __future__ import annotations

import importlib
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

DEFAULT_TIMEOUT_S = 20.0


class ExerciseFailure(Exception):
    """Raised by a spec when the student's answer differs from the reference."""


class _StudentError(Exception):
    """Wraps an exception raised inside the student's own function."""

    def __init__(self, original: BaseException):
        super().__init__(str(original))
        self.original = original


class _Timeout(Exception):
    pass


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    hint: str
    spec: Callable
    timeout_s: float


_REGISTRY: dict[str, Exercise] = {}
_PASSED: set[str] = set()


def exercise(exercise_id: str, title: str, hint: str, timeout_s: float = DEFAULT_TIMEOUT_S):
    """Register ``spec`` as the test of exercise ``exercise_id`` (e.g. ``"02.1"``)."""

    def register(spec: Callable) -> Callable:
        if exercise_id in _REGISTRY:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        _REGISTRY[exercise_id] = Exercise(exercise_id, title, hint, spec, timeout_s)
        return spec

    return register


def _lesson_of(exercise_id: str) -> str:
    lesson, _, number = str(exercise_id).partition(".")
    if not (lesson.isdigit() and len(lesson) == 2 and number.isdigit()):
        raise ValueError(f"exercise ids look like '02.1', got {exercise_id!r}")
    return lesson


def get_exercise(exercise_id: str) -> Exercise:
    """Find a spec, importing its lesson's module on first use."""
    lesson = _lesson_of(exercise_id)
    if exercise_id not in _REGISTRY:
        try:
            importlib.import_module(f"mmlearn.exercises.lesson{lesson}")
        except ModuleNotFoundError as err:
            raise KeyError(f"no exercises are defined for lesson {lesson}") from err
    if exercise_id not in _REGISTRY:
        known = sorted(k for k in _REGISTRY if k.startswith(lesson + "."))
        raise KeyError(f"unknown exercise {exercise_id!r}; lesson {lesson} has {known}")
    return _REGISTRY[exercise_id]


def _guarded(fn: Callable) -> Callable:
    """Wrap the student's function so its own exceptions can be told apart."""

    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (_Timeout, KeyboardInterrupt):
            raise
        except Exception as err:
            raise _StudentError(err) from err

    return call


def _run_with_timeout(task: Callable[[], None], seconds: float) -> None:
    """Run ``task``; raise ``_Timeout`` if it takes longer than ``seconds``.

    In the main thread on Unix (a Jupyter kernel) an alarm signal interrupts
    even an endless Python loop. Elsewhere the task runs in a daemon thread
    that is abandoned on timeout.
    """
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():

        def on_alarm(signum, frame):
            raise _Timeout()

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            task()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return
    outcome: list[BaseException] = []

    def target():
        try:
            task()
        except BaseException as err:  # handed back to the caller below
            outcome.append(err)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _Timeout()
    if outcome:
        raise outcome[0]


def check(exercise_id: str, student_fn: Callable, *, timeout_s: float | None = None) -> None:
    """Test the student's function for exercise ``exercise_id``; print the verdict.

    Never raises (except for a keyboard interrupt), and returns nothing so the
    cell shows only the verdict; ``passed(exercise_id)`` tells the outcome.
    """
    _run_check(exercise_id, student_fn, timeout_s)


def passed(exercise_id: str) -> bool:
    """Whether ``exercise_id`` has passed in this session."""
    return exercise_id in _PASSED


def _run_check(exercise_id: str, student_fn: Callable, timeout_s: float | None) -> bool:
    try:
        ex = get_exercise(exercise_id)
    except (KeyError, ValueError) as err:
        print(f"[checker] {err.args[0]}")
        return False
    limit = timeout_s if timeout_s is not None else ex.timeout_s
    _PASSED.discard(ex.id)
    header = f"Exercise {ex.id} ({ex.title})"
    if not callable(student_fn):
        print(f"❌ {header}: expected a function, got {type(student_fn).__name__}.")
        return False
    try:
        _run_with_timeout(lambda: ex.spec(_guarded(student_fn)), limit)
    except _Timeout:
        print(f"❌ {header}: your function did not finish within {limit:g} s (an endless loop?).")
    except _StudentError as err:
        original = err.original
        if isinstance(original, NotImplementedError):
            print(f"⏳ {header}: not done yet. Replace `raise NotImplementedError()` with your code.")
        else:
            print(f"❌ {header}: your function raised {type(original).__name__}: {original}")
            print(f"   Hint: {ex.hint}")
    except ExerciseFailure as err:
        print(f"❌ {header}: {err}")
        print(f"   Hint: {ex.hint}")
    except Exception as err:  # a bug in the spec itself must not stop the notebook either
        print(f"❌ {header}: the checker could not test your answer ({type(err).__name__}: {err}).")
    else:
        _PASSED.add(ex.id)
        print(f"✅ {header}: passed.")
        _print_progress(_lesson_of(ex.id))
        return True
    _print_progress(_lesson_of(ex.id))
    return False


def progress(lesson: str) -> tuple[int, int]:
    """(passed, total) exercises of ``lesson`` ("02") in this session."""
    try:
        importlib.import_module(f"mmlearn.exercises.lesson{lesson}")
    except ModuleNotFoundError:
        return 0, 0
    ids = [k for k in _REGISTRY if k.startswith(lesson + ".")]
    return sum(k in _PASSED for k in ids), len(ids)


def _print_progress(lesson: str) -> None:
    passed, total = progress(lesson)
    print(f"   Lesson {lesson} progress: {passed}/{total} exercises passed.")


def expect_close(actual, expected, what: str = "your result", atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Compare an answer with the reference: type, shape, then values.

    Raises ``ExerciseFailure`` with a message that says which of the three
    differs, e.g. "expected shape (4, 10), got (4, 5)".
    """
    if isinstance(expected, torch.Tensor):
        if not isinstance(actual, torch.Tensor):
            raise ExerciseFailure(f"{what} should be a torch.Tensor, got {type(actual).__name__}")
        if tuple(actual.shape) != tuple(expected.shape):
            raise ExerciseFailure(
                f"{what} should have shape {tuple(expected.shape)}, got {tuple(actual.shape)}"
            )
        a = actual.detach().cpu().double().numpy()
        e = expected.detach().cpu().double().numpy()
    else:
        a = np.asarray(actual, dtype=float)
        e = np.asarray(expected, dtype=float)
        if a.shape != e.shape:
            raise ExerciseFailure(f"{what} should have shape {e.shape}, got {a.shape}")
    if not np.allclose(a, e, atol=atol, rtol=rtol, equal_nan=False):
        worst = np.unravel_index(np.argmax(np.abs(a - e)), e.shape) if e.shape else ()
        raise ExerciseFailure(
            f"{what} has the right shape but wrong values (at index {tuple(int(i) for i in worst)}: "
            f"got {a[worst]:.4g}, expected {e[worst]:.4g})"
        )


def expect_raises(call: Callable[[], object], error: type[Exception], what: str) -> None:
    """Check that ``call()`` (which calls the student's function) raises ``error``.

    Bad input should fail loudly: exercises about input checks use this.
    """
    try:
        call()
    except _StudentError as err:
        if isinstance(err.original, error):
            return
        raise ExerciseFailure(
            f"{what} should raise {error.__name__}, got {type(err.original).__name__}: {err.original}"
        ) from None
    raise ExerciseFailure(f"{what} should raise {error.__name__}, but your function returned a result")
