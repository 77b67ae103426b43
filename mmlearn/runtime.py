"""Where and how the lessons run: device choice, seeding, figure style.

Taught in lesson 00 (sections 2, "The device", and 3, "Repeatable runs").

Kept in one place so that no notebook names a device or repeats the seeding
recipe, and so that a lesson behaves the same on a laptop CPU, a GPU and Colab.
"""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from mmlearn.validation import check_device, check_seed


def get_device(prefer: str | None = None) -> torch.device:
    """Pick CUDA, then Apple MPS, then the CPU.

    ``prefer="cpu"`` (or the environment variable ``MMLEARN_DEVICE``) forces a
    device, which is how the tests and a teacher's grading run stay on a CPU.
    """
    choice = prefer if prefer is not None else os.environ.get("MMLEARN_DEVICE")
    if choice:
        device = check_device(choice, "prefer" if prefer is not None else "MMLEARN_DEVICE")
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device '{choice}' was requested but CUDA is not available here")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"device '{choice}' was requested but Apple MPS is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def describe_device(device: torch.device | None = None) -> str:
    """A short human name for the device: 'cpu (2 threads)', 'cuda (NVIDIA H100)'."""
    device = get_device() if device is None else check_device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads, {platform.machine()})"
    return device.type


def seed_everything(seed: int = 0, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and PyTorch; ask PyTorch for deterministic kernels.

    Returns a ``torch.Generator`` seeded with ``seed`` for code that wants its
    own stream. With ``deterministic=True`` a CPU run repeats bit for bit, which
    is what lets nbval compare a lesson's printed results.
    """
    check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this workspace setting to be deterministic on a GPU.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return torch.Generator().manual_seed(seed)


SEED_ENV = "MMLEARN_SEED"


def lesson_seed() -> int:
    """The seed a lesson runs with: 0, or the environment variable ``MMLEARN_SEED``.

    Every lesson passes this one number to its data, models and batch order,
    so ``benchmarks/bench_lesson_seeds.py`` can rerun the very same lesson with
    seeds 1, 2, ... and show whether its claims hold beyond seed 0.
    """
    return _whole_number_from_env(SEED_ENV, default=0, minimum=0)


THREADS_ENV = "MMLEARN_THREADS"


def lesson_threads() -> int:
    """CPU threads a lesson computes with: 1, or the environment variable ``MMLEARN_THREADS``.

    The lessons' models are small and their batches tiny, so a second thread
    gains little on a quiet machine, while on a busy one (a classroom server,
    a CI runner, a laptop compiling something) threads that wait for each
    other made training 25 times slower in our measurements. One thread also
    makes a run repeat the committed outputs digit for digit, whatever the
    number of cores.
    """
    return _whole_number_from_env(THREADS_ENV, default=1, minimum=1)


def _whole_number_from_env(name: str, *, default: int, minimum: int) -> int:
    """The environment variable ``name`` as a whole number >= ``minimum``; ``default`` when unset or blank."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def limit_threads(threads: int) -> None:
    """Use ``threads`` CPU threads in torch and in NumPy's and scikit-learn's BLAS."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number >= 1, got {threads!r}")
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # only scikit-learn's BLAS calls are left unlimited
        return
    threadpool_limits(threads)


def setup_notebook(seed: int | None = None) -> torch.device:
    """The first code cell of every lesson: seed, CPU threads, figure style, device.

    ``seed`` defaults to ``lesson_seed()``, the threads to ``lesson_threads()``.
    Returns the device the lesson will use.
    """
    from mmlearn.plotting import use_course_style

    limit_threads(lesson_threads())
    seed_everything(lesson_seed() if seed is None else seed)
    use_course_style()
    _inline_png()
    return get_device()


def _inline_png() -> None:
    """Inline figures as PNG: SVG output carries random ids that differ every run."""
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("png")
