"""How fast a model answers: latency at batch 1, throughput at larger batches, and what speeds them up.

Taught in lesson 10 (section 3, "Real-time inference").

A real-time system cares about two numbers. *Latency*: the time one request
takes, summarised by its median and its 95th percentile (p95, the slow tail a
user notices), measured after a few warm-up calls (the first calls pay for
memory allocation and lazy initialisation) and over repeated calls.
*Throughput*: requests answered per second, which batching raises because
one call's fixed costs (Python, dispatch, memory traffic of the weights) are
shared by the whole batch.

Every timed call runs under ``torch.inference_mode()`` unless told otherwise
(``grad="enabled"`` keeps autograd's bookkeeping, to measure what it costs).
On CUDA the device is synchronised before each clock reading, because a
kernel launch returns before the GPU has finished.

``quantize_linear_int8`` is PyTorch's dynamic int8 quantisation of the
``nn.Linear`` layers (``torch.ao.quantization.quantize_dynamic``, CPU only):
weights stored as int8, activations quantised on the fly at each call.
"""

from __future__ import annotations

import copy
import math
import numbers
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mmlearn.inference import device_of
from mmlearn.validation import check_modalities, check_module, check_positive_int

__all__ = [
    "LatencyStats",
    "batch_of",
    "latency_by_batch",
    "latency_percentiles",
    "measure_latency",
    "quantize_linear_int8",
    "time_model",
]

GRAD_MODES = ("inference", "no_grad", "enabled")


@dataclass(frozen=True)
class LatencyStats:
    """Median and 95th-percentile time of one call (milliseconds), for calls on ``batch_size`` cases."""

    median_ms: float
    p95_ms: float
    batch_size: int = 1

    def __post_init__(self):
        for name in ("median_ms", "p95_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < value < math.inf):
                raise ValueError(f"{name} must be a positive, finite number of milliseconds, got {value!r}")
        check_positive_int(self.batch_size, "batch_size")

    @property
    def throughput_per_s(self) -> float:
        """Cases per second at the median call time."""
        return self.batch_size / (self.median_ms / 1000.0)


def latency_percentiles(
    run: Callable[[], object],
    *,
    warmup: int = 10,
    repeats: int = 50,
    clock: Callable[[], float] = time.perf_counter,
    synchronize: Callable[[], object] | None = None,
) -> tuple[float, float]:
    """(median, p95) in milliseconds of ``repeats`` timed calls of ``run()``, after ``warmup`` untimed ones.

    Each call is timed on its own: ``clock()`` (seconds) before and after it,
    ``synchronize()`` (when given) called before each reading. Percentiles are
    NumPy's default (linear interpolation between the sorted times).
    """
    if not callable(run):
        raise TypeError(f"run must be a function of no arguments, got {type(run).__name__}")
    if isinstance(warmup, bool) or not isinstance(warmup, numbers.Integral) or warmup < 0:
        raise ValueError(f"warmup must be a whole number >= 0, got {warmup!r}")
    repeats = check_positive_int(repeats, "repeats")
    if not callable(clock):
        raise TypeError(f"clock must be a function returning seconds, got {type(clock).__name__}")
    if synchronize is not None and not callable(synchronize):
        raise TypeError(f"synchronize must be None or a function, got {type(synchronize).__name__}")
    sync = synchronize or (lambda: None)
    for _ in range(int(warmup)):
        run()
    times = []
    for _ in range(repeats):
        sync()
        start = clock()
        run()
        sync()
        times.append(clock() - start)
    ms = np.asarray(times, dtype=np.float64) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def measure_latency(
    run: Callable[[], object],
    *,
    batch_size: int = 1,
    warmup: int = 10,
    repeats: int = 50,
    percentiles: Callable[..., tuple[float, float]] = latency_percentiles,
    synchronize: Callable[[], object] | None = None,
) -> LatencyStats:
    """``LatencyStats`` of ``run()`` on ``batch_size`` cases, by ``percentiles``."""
    batch_size = check_positive_int(batch_size, "batch_size")
    if not callable(percentiles):
        raise TypeError(f"percentiles must be a function like latency_percentiles, got {percentiles!r}")
    median, p95 = percentiles(run, warmup=warmup, repeats=repeats, synchronize=synchronize)
    return LatencyStats(float(median), float(p95), batch_size)


def _grad_context(grad: str):
    if grad == "inference":
        return torch.inference_mode()
    if grad == "no_grad":
        return torch.no_grad()
    return nullcontext()


def time_model(
    model: nn.Module,
    inputs: Mapping[str, torch.Tensor],
    *,
    grad: str = "inference",
    warmup: int = 10,
    repeats: int = 50,
    percentiles: Callable[..., tuple[float, float]] = latency_percentiles,
) -> LatencyStats:
    """Latency of ``model(inputs)`` in eval mode on the model's device, under ``grad`` (one of GRAD_MODES)."""
    check_module(model, "model")
    batch = check_modalities(inputs)
    if grad not in GRAD_MODES:
        raise ValueError(f"grad must be one of {list(GRAD_MODES)}, got {grad!r}")
    device = device_of(model)
    inputs = {m: x.to(device) for m, x in inputs.items()}
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    was_training = model.training
    model.eval()
    try:
        with _grad_context(grad):
            return measure_latency(
                lambda: model(inputs),
                batch_size=batch,
                warmup=warmup,
                repeats=repeats,
                percentiles=percentiles,
                synchronize=sync,
            )
    finally:
        model.train(was_training)


def batch_of(data_modalities: Mapping[str, torch.Tensor], batch_size: int) -> dict[str, torch.Tensor]:
    """The first ``batch_size`` cases of every modality (contiguous copies), for timing."""
    check_modalities(data_modalities)
    batch_size = check_positive_int(batch_size, "batch_size")
    return {m: x[:batch_size].contiguous() for m, x in data_modalities.items()}


def latency_by_batch(
    model: nn.Module,
    data_modalities: Mapping[str, torch.Tensor],
    batch_sizes: Sequence[int],
    **options,
) -> dict[int, LatencyStats]:
    """{batch size: ``time_model`` stats} on the first cases of ``data_modalities``."""
    if isinstance(batch_sizes, str | bytes) or not isinstance(batch_sizes, Sequence) or not batch_sizes:
        raise TypeError(f"batch_sizes must be a non-empty list of whole numbers, got {batch_sizes!r}")
    n = check_modalities(data_modalities)
    out = {}
    for b in batch_sizes:
        b = check_positive_int(b, "batch_sizes")
        if b > n:
            raise ValueError(f"batch_sizes asks for {b} cases but data_modalities holds only {n}")
        out[b] = time_model(model, batch_of(data_modalities, b), **options)
    return out


def quantize_linear_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` dynamically quantised to int8 (CPU inference only).

    PyTorch marks ``torch.ao.quantization`` as deprecated in favour of torchao;
    its deprecation warnings are silenced here, the function still works.
    """
    check_module(model, "model")
    if device_of(model).type != "cpu":
        raise ValueError("model must be on the CPU: dynamic int8 quantisation runs on the CPU only")
    copied = copy.deepcopy(model).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return torch.ao.quantization.quantize_dynamic(copied, {nn.Linear}, dtype=torch.qint8)
