"""The machinery behind ``check``: a registry of specs, an isolated run, messages.

Taught in lesson 00 (section 5, "Exercises"); students need not read further.

A spec is a function registered with ``@exercise("NN.k", title, hints,
reference=...)`` that receives the student's function and raises
``ExerciseFailure`` with a message when the answer is wrong.

Hints come in steps: the first says what to think about, the next what to
call; none is the solution's code (a test compares every hint with the
solutions). Each failed check, or each call of ``hint("NN.k")``, shows one
step more.

``use("NN.k", my_function)`` checks and then hands back the function the rest
of the lesson runs on: the student's when it passes, otherwise the exercise's
``reference`` (one printed line says which), so a lesson runs top to bottom
with the exercise undone and runs on the student's own code once it is right.

Everything the student's code does wrong becomes a printed message instead
of stopping the notebook, because one unfinished exercise must not stop the
rest of a lesson:

- it raises, even ``SystemExit`` (``sys.exit()``), ``KeyboardInterrupt`` or
  ``GeneratorExit``: the verdict names what it raised;
- it loops forever, even inside ``try: ... except BaseException: pass``: the
  check stops after ``timeout_s`` seconds;
- it ends the process (``os._exit``) or crashes it: the verdict says so and the
  notebook goes on;
- it prints megabytes: only the first ``OUTPUT_LIMIT`` characters are shown;
- it changes its input tensors in place: specs compute the reference first and
  pass the student copies, so that cannot make a wrong answer pass;
- it returns the right value as the wrong type (the string ``"0.4"``):
  ``expect_close`` names the type it expected.

How a check runs. On Linux the whole spec runs
in a forked child process: the child sees the notebook's function without
pickling it, its own copies of everything, and only the verdict (a few
strings), the student's printed output and the final state of torch's global
random generator come back through a pipe. A child that outlives the time
limit, exits or crashes is killed (with any process it started) and the
notebook's kernel never notices. The parent adopts the child's torch random
state, so a lesson's later cells draw the same numbers as if the check had run
in the kernel itself. The child uses one torch thread: a forked copy of an
OpenMP thread pool deadlocks, and exercise inputs are tiny.

Fallback. Elsewhere (macOS, where forking a kernel that has loaded torch's
threads and Apple's frameworks is unsafe; Windows, which has no fork), once
the kernel has used CUDA (a forked child can then run no autograd), or when the environment
variable ``MMLEARN_CHECK_IN_PROCESS=1`` asks for it (or the child cannot
start), the spec runs in the kernel itself, in a daemon thread joined for at
most ``timeout_s``. That fallback cannot stop a runaway function: after a
timeout it keeps running in the background (the verdict says so), ``os._exit``
ends the kernel, and the function's side effects stay.

A keyboard interrupt of the notebook itself (the stop button) while a check
waits is not swallowed: the child is killed and the interrupt goes on, so the
stop button still stops a "Run all".

For the classroom grader (``mmlearn.grade``): each exercise declares its
``points`` beside its check (1 unless it says otherwise), and every ``check``
or ``use`` remembers the function it was given (``submitted``). The grader
never trusts what a check printed: after the notebook has run, it re-runs the
specs itself on those functions.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import math
import numbers
import os
import pickle
import selectors
import signal
import struct
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

DEFAULT_TIMEOUT_S = 20.0
OUTPUT_LIMIT = 10_000  # characters of the student's printed output shown per check
IN_PROCESS_ENV = "MMLEARN_CHECK_IN_PROCESS"


class ExerciseFailure(Exception):
    """Raised by a spec when the student's answer differs from the reference."""


class _StudentError(Exception):
    """Wraps anything raised inside the student's own function (``BaseException`` included)."""

    def __init__(self, original: BaseException):
        super().__init__(type(original).__name__)
        self.original = original


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    hints: tuple[str, ...]
    spec: Callable
    timeout_s: float
    reference: Callable | None = None
    points: float = 1.0


_REGISTRY: dict[str, Exercise] = {}
_PASSED: set[str] = set()
_HINTS_SHOWN: dict[str, int] = {}  # exercise id -> how many hint steps this session has shown
_SUBMITTED: dict[str, object] = {}  # exercise id -> the last function check/use was given (for the grader)


def _timeout_error(timeout_s) -> str | None:
    """Why ``timeout_s`` is not a usable time limit, or None when it is."""
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, numbers.Real):
        return f"timeout_s must be a number of seconds, got {type(timeout_s).__name__} {timeout_s!r}"
    if not (math.isfinite(timeout_s) and timeout_s > 0):
        return f"timeout_s must be a positive, finite number of seconds, got {timeout_s!r}"
    return None


def exercise(
    exercise_id: str,
    title: str,
    hints: str | tuple[str, ...] | list[str],
    *,
    reference: Callable | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    points: float = 1,
):
    """Register ``spec`` as the test of exercise ``exercise_id`` (e.g. ``"02.1"``).

    ``hints``: one step or a sequence of steps, from "what to think about" to
    "what to call". ``reference``: the package's own answer, which ``use``
    hands to the lesson while the student's is not done or wrong. ``points``:
    what the exercise is worth in the classroom grader (a positive number).
    """
    problem = _timeout_error(timeout_s)
    if problem:
        raise ValueError(f"exercise {exercise_id}: {problem}")
    if (
        isinstance(points, bool)
        or not isinstance(points, numbers.Real)
        or not (math.isfinite(points) and points > 0)
    ):
        raise ValueError(f"exercise {exercise_id}: points must be a positive number, got {points!r}")
    steps = (hints,) if isinstance(hints, str) else tuple(hints)
    if not steps or not all(isinstance(h, str) and h.strip() for h in steps):
        raise ValueError(f"exercise {exercise_id}: hints must be non-empty strings, got {hints!r}")
    if reference is not None and not callable(reference):
        raise ValueError(f"exercise {exercise_id}: reference must be a function or class, got {reference!r}")

    def register(spec: Callable) -> Callable:
        if exercise_id in _REGISTRY:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        _REGISTRY[exercise_id] = Exercise(
            exercise_id, title, steps, spec, float(timeout_s), reference, float(points)
        )
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
    """Wrap the student's function so that whatever it raises can be told apart from the spec's own."""

    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BaseException as err:  # sys.exit() and KeyboardInterrupt too: reported, never obeyed
            raise _StudentError(err) from err

    return call


def _text(obj, limit: int = 300) -> str:
    """str(obj), cut to ``limit`` characters, and never an exception."""
    try:
        text = str(obj)
    except BaseException:  # an exception whose __str__ fails
        text = f"<{type(obj).__name__} that cannot be printed>"
    return text if len(text) <= limit else text[:limit] + "..."


# A verdict is (status, message, show_hint); status is "passed", "not_done" or "failed".
Verdict = tuple[str, str, bool]


def _student_verdict(original: BaseException) -> Verdict:
    name = type(original).__name__
    if isinstance(original, NotImplementedError):
        return ("not_done", "", False)
    if isinstance(original, SystemExit):
        code = "" if original.code is None else repr(original.code)
        return (
            "failed",
            f"your function called sys.exit({code}) (it raised SystemExit). A checked function must "
            "return its result, not end the program; the notebook goes on.",
            False,
        )
    if not isinstance(original, Exception):  # KeyboardInterrupt, GeneratorExit, ...
        return (
            "failed",
            f"your function raised {name}, which would stop the notebook. A checked function must "
            "return its result; the notebook goes on.",
            False,
        )
    message = f"your function raised {name}: {_text(original)}"
    if "CUDA" in message and "forked subprocess" in message:
        message += (
            "\n   (The checker runs your function in a copy of this process, which cannot use a GPU this "
            "notebook already uses: leave the tensors on the device they come on, here the CPU.)"
        )
    return ("failed", message, True)


def _run_spec(ex: Exercise, student_fn: Callable) -> Verdict:
    """Run the spec here and now; turn every outcome into a verdict."""
    try:
        ex.spec(_guarded(student_fn))
    except _StudentError as err:
        return _student_verdict(err.original)
    except ExerciseFailure as err:
        return ("failed", _text(err, 2000), True)
    except NotImplementedError:  # a stub method of a student's class, called by the spec directly
        return ("not_done", "", False)
    except BaseException as err:  # a bug in the spec itself must not stop the notebook either
        message = f"the checker could not test your answer ({type(err).__name__}: {_text(err)})."
        return ("failed", message, False)
    return ("passed", "", False)


class _CappedOutput(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters written and counts the rest."""

    def __init__(self, limit: int = OUTPUT_LIMIT):
        super().__init__()
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.cut = 0

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(s[:room])
            self.kept += min(room, len(s))
        self.cut += max(0, len(s) - max(room, 0))
        return len(s)

    def add_raw(self, data: bytes, total: int) -> None:
        """Add bytes written straight to file descriptors 1 and 2 (``total`` of them, ``data`` the head)."""
        text = data.decode("utf-8", errors="replace")
        self.write(text)
        self.cut += max(0, total - len(data))

    def getvalue(self) -> str:
        return "".join(self.parts)


# --- the isolated run: a forked child --------------------------------------------------------------------


def _fork_available() -> bool:
    """Linux only, and only before the kernel has used CUDA.

    On macOS a fork of a kernel with torch loaded can crash the child. Once
    CUDA is initialised (a lesson trained on the GPU), a forked child can use
    neither the GPU nor autograd ("Unable to handle autograd's threading in
    combination with fork-based multiprocessing"), so the check runs in the
    kernel's thread instead.
    """
    if os.environ.get(IN_PROCESS_ENV, "").strip().lower() in ("1", "true", "yes"):
        return False
    return sys.platform.startswith("linux") and not torch.cuda.is_initialized()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _no_input(prompt: str = "", *args, **kwargs) -> str:
    raise EOFError("input() is not available while the checker runs your function: pass values as arguments")


def _child(ex: Exercise, student_fn: Callable, write_fd: int) -> None:
    """Body of the forked child: set up, say "S" (started), run the spec, send the result."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # its own process group: killing the group also ends what it started
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)  # the kernel's event loop owns that fd, not this copy
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # input() gets EOF instead of waiting for a notebook that cannot answer
    try:
        raw = tempfile.TemporaryFile()
        raw_fd = raw.fileno()
    except OSError:
        raw, raw_fd = None, devnull
    os.dup2(raw_fd, 1)  # output written below Python (os.write, C code): captured, capped below
    os.dup2(raw_fd, 2)
    out = _CappedOutput()
    sys.stdin = io.StringIO("")
    sys.stdout = sys.stderr = out
    builtins.input = _no_input  # Jupyter's input() would ask the notebook's front end, which never answers
    if "getpass" in sys.modules:
        sys.modules["getpass"].getpass = _no_input
    torch.set_num_threads(1)  # a forked copy of an OpenMP pool deadlocks on first use
    os.write(write_fd, b"S")
    verdict = _run_spec(ex, student_fn)
    sys.stdout = sys.stderr = io.StringIO()  # nothing the cleanup prints counts
    if raw is not None:
        with contextlib.suppress(OSError):
            total = os.fstat(raw_fd).st_size
            if total:
                out.add_raw(os.pread(raw_fd, OUTPUT_LIMIT, 0), total)
    rng = torch.get_rng_state().numpy().tobytes()
    payload = pickle.dumps((verdict, out.getvalue(), out.cut, rng))
    _write_all(write_fd, struct.pack("!Q", len(payload)) + payload)


def _kill(pid: int) -> None:
    for kill in (getattr(os, "killpg", None), os.kill):
        if kill is not None:
            with contextlib.suppress(OSError):
                kill(pid, signal.SIGKILL)


def _reap(pid: int) -> int | None:
    """Wait for the child to end; its status, or None if someone else reaped it (SIGCHLD ignored)."""
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _run_forked(ex: Exercise, student_fn: Callable, limit: float):
    """Run the spec in a forked child; None if the child could not even start."""
    read_fd, write_fd = os.pipe()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded, use of fork()" (3.12+)
            pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # the child: whatever happens, it never returns into the notebook's code
        try:
            os.close(read_fd)
            _child(ex, student_fn, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)  # also from this side, so that a kill right away reaches the group
    data = bytearray()
    timed_out = complete = False
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(read_fd, selectors.EVENT_READ)
            deadline = time.monotonic() + limit
            while not complete:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    timed_out = True
                    break
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break  # the child ended (or closed the pipe)
                data += chunk
                complete = len(data) >= 9 and len(data) >= 9 + struct.unpack("!Q", data[1:9])[0]
    finally:  # also on the notebook's own KeyboardInterrupt: no child outlives its check
        os.close(read_fd)
        _kill(pid)
        if not complete:
            status = _reap(pid)
    if complete:
        # Tearing down a copy of a large kernel takes as long as the fork: reap it in the background.
        threading.Thread(target=_reap, args=(pid,), name="check reaper", daemon=True).start()
        verdict, output, cut, rng = pickle.loads(bytes(data[9:]))
        with contextlib.suppress(Exception):
            torch.set_rng_state(torch.frombuffer(bytearray(rng), dtype=torch.uint8))
        return verdict, output, cut
    if not data.startswith(b"S"):
        return None  # it never started: let the caller run the spec in this process instead
    if timed_out:
        message = f"your function did not finish within {limit:g} s (an endless loop?)."
        return ("failed", message, False), "", 0
    if status is not None and os.WIFSIGNALED(status):
        signame = _signal_name(os.WTERMSIG(status))
        message = f"your function's process was killed by {signame} (a crash, or out of memory?)."
    else:
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else "..."
        message = (
            f"your function ended the process (os._exit({code})?) before returning. A checked function "
            "must return its result; the notebook goes on."
        )
    return ("failed", message, False), "", 0


# --- the fallback: a thread in this process ------------------------------------------------------------


def _run_in_thread(ex: Exercise, student_fn: Callable, limit: float):
    """Run the spec in a daemon thread of this process; it cannot be stopped after a timeout."""
    outcome: list[Verdict] = []
    out = _CappedOutput()
    worker = threading.Thread(
        target=lambda: outcome.append(_run_spec(ex, student_fn)), name=f"check {ex.id}", daemon=True
    )
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        worker.start()
        worker.join(limit)
    if worker.is_alive() or not outcome:
        message = (
            f"your function did not finish within {limit:g} s (an endless loop?). Here the checker "
            "cannot stop it, so it may still be running in the background: restart the kernel if the "
            "notebook gets slow."
        )
        return ("failed", message, False), out.getvalue(), out.cut
    return outcome[0], out.getvalue(), out.cut


# --- check -----------------------------------------------------------------------------------------------


def check(exercise_id: str, student_fn: Callable, *, timeout_s: float | None = None) -> None:
    """Test the student's function for exercise ``exercise_id``; print the verdict.

    Never raises (only the notebook's own stop button interrupts it), and
    returns nothing so the cell shows only the verdict; ``passed(exercise_id)``
    tells the outcome. ``timeout_s`` overrides the exercise's time limit.
    """
    try:
        _run_check(exercise_id, student_fn, timeout_s)
    except Exception as err:  # the last net: a checker bug must not stop a lesson
        print(f"[checker] could not check exercise {exercise_id!r} ({type(err).__name__}: {_text(err)}).")


def passed(exercise_id: str) -> bool:
    """Whether ``exercise_id`` has passed in this session."""
    return exercise_id in _PASSED


def submitted(exercise_id: str):
    """The function the last ``check``/``use`` of ``exercise_id`` was given in this session, or None.

    The classroom grader re-runs its own specs on it (a check's printed verdict is never trusted).
    """
    return _SUBMITTED.get(exercise_id)


def _print_output(output: str, cut: int) -> None:
    if output:
        print(output, end="" if output.endswith("\n") else "\n")
    if cut:
        print(
            f"   [checker] {cut:,} more characters of your function's output were cut "
            f"(only the first {OUTPUT_LIMIT:,} are shown)."
        )


def _run_check(exercise_id: str, student_fn: Callable, timeout_s: float | None) -> bool:
    try:
        ex = get_exercise(exercise_id)
    except (KeyError, ValueError) as err:
        print(f"[checker] {err.args[0]}")
        return False
    limit = ex.timeout_s if timeout_s is None else timeout_s
    problem = _timeout_error(limit)
    if problem:
        print(f"[checker] {problem}.")
        return False
    _PASSED.discard(ex.id)
    _SUBMITTED[ex.id] = student_fn
    header = f"Exercise {ex.id} ({ex.title})"
    if not callable(student_fn):
        print(f"❌ {header}: expected a function, got {type(student_fn).__name__}.")
        return False
    result = _run_forked(ex, student_fn, limit) if _fork_available() else None
    if result is None:
        result = _run_in_thread(ex, student_fn, limit)
    (status, message, show_hint), output, cut = result
    _print_output(output, cut)
    if status == "passed":
        _PASSED.add(ex.id)
        print(f"✅ {header}: passed.")
    elif status == "not_done":
        print(f"⏳ {header}: not done yet. Replace `raise NotImplementedError()` with your code.")
        which = "the next hint step" if _HINTS_SHOWN.get(ex.id) else "a first hint"
        print(f'   (stuck? hint("{ex.id}") shows {which})')
    else:
        print(f"❌ {header}: {message}")
        if show_hint:
            _print_next_hint(ex)
    _print_progress(_lesson_of(ex.id))
    return status == "passed"


def _print_next_hint(ex: Exercise) -> None:
    """Show one hint step more than last time (the last step again once all are shown)."""
    step = min(_HINTS_SHOWN.get(ex.id, 0) + 1, len(ex.hints))
    _HINTS_SHOWN[ex.id] = step
    total = len(ex.hints)
    label = "Hint" if total == 1 else f"Hint {step}/{total}"
    print(f"   {label}: {ex.hints[step - 1]}")
    if step < total:
        print(f'   (stuck after trying it? check again, or run hint("{ex.id}"), for the next step)')


def hint(exercise_id: str) -> None:
    """Print the next hint step of ``exercise_id`` (one more each call); never raises."""
    try:
        ex = get_exercise(exercise_id)
    except (KeyError, ValueError) as err:
        print(f"[checker] {err.args[0]}")
        return
    print(f"Exercise {ex.id} ({ex.title})")
    _print_next_hint(ex)


def _name_of(fn: Callable) -> str:
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return name if module in ("", "__main__", "builtins") else f"{module}.{name}"


def use(exercise_id: str, student_fn: Callable, *, timeout_s: float | None = None) -> Callable:
    """Check ``student_fn`` and return what the rest of the lesson should run on.

    The student's function when it passes; otherwise the exercise's reference,
    with one printed line saying so, so that the lesson still runs top to
    bottom. Never raises: with no reference registered (a checker bug) the
    student's function comes back as it is.
    """
    check(exercise_id, student_fn, timeout_s=timeout_s)
    if passed(exercise_id):
        print(f"   The rest of the lesson runs on your {getattr(student_fn, '__name__', 'answer')}.")
        return student_fn
    try:
        reference = get_exercise(exercise_id).reference
    except (KeyError, ValueError):
        reference = None
    if reference is None:
        print(f"[checker] exercise {exercise_id!r} has no reference; the lesson goes on with your function.")
        return student_fn
    print(
        f"   Until it passes, the rest of the lesson runs on the reference {_name_of(reference)} "
        "(rerun this cell once yours passes)."
    )
    return reference


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


# --- helpers for specs -----------------------------------------------------------------------------------


def _describe(value) -> str:
    """``type`` plus a short repr for values whose type alone would puzzle, e.g. ``str '0.4'``."""
    name = type(value).__name__
    if isinstance(value, str | bytes):
        return f"{name} {_text(repr(value), 40)}"
    return name


def _numbers(actual, what: str, scalar: bool) -> np.ndarray:
    """``actual`` as a float64 array, refusing strings, booleans and other non-numbers."""
    if scalar:
        ok = (isinstance(actual, numbers.Real) and not isinstance(actual, bool | np.bool_)) or (
            isinstance(actual, torch.Tensor | np.ndarray) and actual.ndim == 0
        )
        if not ok:
            raise ExerciseFailure(f"{what} should be a number (a Python float), got {_describe(actual)}")
    elif isinstance(actual, str | bytes) or actual is None or isinstance(actual, dict):
        raise ExerciseFailure(f"{what} should be an array of numbers, got {_describe(actual)}")
    if isinstance(actual, torch.Tensor):
        actual = actual.detach().cpu()
        if actual.is_complex():
            raise ExerciseFailure(f"{what} should hold real numbers, got a {actual.dtype} tensor")
        return actual.double().numpy()
    try:
        array = np.asarray(actual)
    except Exception:
        raise ExerciseFailure(f"{what} should be numbers, got {_describe(actual)}") from None
    if array.dtype.kind not in "iuf":
        raise ExerciseFailure(f"{what} should hold numbers, got values of type {array.dtype}")
    return array.astype(float)


def expect_close(actual, expected, what: str = "your result", atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Compare an answer with the reference: type, shape, then values.

    Raises ``ExerciseFailure`` with a message that says which of the three
    differs, e.g. "expected shape (4, 10), got (4, 5)". A tensor reference
    needs a tensor; a number (a float) needs a number: a string such as
    ``"0.4"`` or a bool is refused, naming what was expected.
    """
    if isinstance(expected, torch.Tensor):
        if not isinstance(actual, torch.Tensor):
            raise ExerciseFailure(f"{what} should be a torch.Tensor, got {_describe(actual)}")
        if tuple(actual.shape) != tuple(expected.shape):
            raise ExerciseFailure(
                f"{what} should have shape {tuple(expected.shape)}, got {tuple(actual.shape)}"
            )
        a = _numbers(actual, what, scalar=False)
        e = expected.detach().cpu().double().numpy()
    else:
        e = np.asarray(expected, dtype=float)
        a = _numbers(actual, what, scalar=e.ndim == 0)
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

    Bad input should fail loudly: exercises about input checks use this. An
    exit (``sys.exit()``, ``KeyboardInterrupt``) is not an error: it is passed
    on, so the verdict names it.
    """
    try:
        call()
    except _StudentError as err:
        if isinstance(err.original, error):
            return
        if not isinstance(err.original, Exception):
            raise
        raise ExerciseFailure(
            f"{what} should raise {error.__name__}, got {type(err.original).__name__}: {_text(err.original)}"
        ) from None
    raise ExerciseFailure(f"{what} should raise {error.__name__}, but your function returned a result")
