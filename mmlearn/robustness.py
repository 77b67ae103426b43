"""How gracefully a model degrades when one modality gets worse (MultiBench's protocol).

Lessons 02, 05 and 08 corrupt one modality at levels 0.0, 0.1, ..., 1.0,
measure accuracy at each level, and summarise the curve with two numbers
from MultiBench (Liang et al. 2021):

- relative robustness: the area under the accuracy-vs-level curve;
- effective robustness: how much better the curve holds up than late
  fusion's, once both are shifted to start from the same clean accuracy.

Lesson 08 (section 5, "Never much worse than the best sense") adds ``worst_case_gap``:
the smallest margin, over the levels, between a fused model's curve and the
best single-modality model that is still usable at that level.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from mmlearn.data.base import MultimodalDataset
from mmlearn.inference import evaluate
from mmlearn.validation import (
    check_level,
    check_modalities,
    check_module,
    check_number,
    check_positive_int,
    check_seed,
    to_numpy,
)

__all__ = [
    "DEFAULT_LEVELS",
    "USABLE",
    "robustness_curve",
    "relative_robustness",
    "effective_robustness",
    "worst_case_gap",
]

DEFAULT_LEVELS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))  # 0.0, 0.1, ..., 1.0
USABLE = 0.2  # worst_case_gap: a single model counts at a level where its accuracy is at least this

# corrupt_fn(inputs, level, seed) -> inputs, for the whole dataset's {modality: tensor} dict
CorruptFn = Callable[[dict[str, torch.Tensor], float, int], dict[str, torch.Tensor]]


def robustness_curve(
    model: nn.Module,
    dataset: MultimodalDataset,
    corrupt_fn: CorruptFn,
    levels: Sequence[float] = DEFAULT_LEVELS,
    *,
    batch_size: int = 256,
    seed: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """Accuracy of ``model`` on ``dataset`` corrupted at each level: an array shaped like ``levels``.

    ``corrupt_fn(inputs, level, seed)`` receives the whole dataset's
    ``{modality: tensor}`` dict and must return a new dict (never modify the
    tensors it is given). Every level uses the same ``seed``, so the noise
    only grows with the level instead of being redrawn: a smoother curve.
    For example, Gaussian noise on the images only::

        def noisy_images(inputs, level, seed):
            noise = torch.randn(inputs["image"].shape, generator=torch.Generator().manual_seed(seed))
            return {**inputs, "image": inputs["image"] + level * noise}

        accuracies = robustness_curve(model, test_set, noisy_images)
    """
    check_module(model, "model")
    if not isinstance(dataset, MultimodalDataset):
        raise TypeError(f"dataset must be a mmlearn.data.MultimodalDataset, got {type(dataset).__name__}")
    if not callable(corrupt_fn):
        raise TypeError("corrupt_fn must be a function (inputs, level, seed) -> inputs")
    if isinstance(levels, str | bytes) or not isinstance(levels, Sequence | np.ndarray | torch.Tensor):
        raise TypeError(f"levels must be a list of corruption levels in [0, 1], got {levels!r}")
    levels = [check_level(level, "levels") for level in levels]
    if not levels:
        raise ValueError("levels is empty")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)
    accuracies = []
    for level in tqdm(levels, desc="corruption levels", disable=not progress):
        corrupted = corrupt_fn(dict(dataset.modalities), level, seed)
        n = check_modalities(corrupted)
        if n != len(dataset):
            raise ValueError(
                f"corrupt_fn returned {n} samples at level {level}, the dataset has {len(dataset)}"
            )
        accuracies.append(
            evaluate(model, MultimodalDataset(corrupted, dataset.labels), batch_size=batch_size)
        )
    return np.array(accuracies)


def _curve(values, name: str, *, fractions: bool = False) -> np.ndarray:
    """A 1-D array of at least 2 finite values (with ``fractions``, each in [0, 1]: accuracies)."""
    values = to_numpy(values, name).astype(np.float64)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"{name} must be a 1-D sequence of at least 2 values, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if fractions and (values.min() < 0 or values.max() > 1):
        raise ValueError(
            f"{name} must be accuracies in [0, 1], got values from {values.min()} to {values.max()}"
        )
    return values


def relative_robustness(levels: Sequence[float], accuracies: Sequence[float]) -> float:
    """Area under the accuracy-vs-level curve by the trapezoid rule (MultiBench's relative robustness).

    Over levels 0..1 it lies between 0 and 1: a model that keeps accuracy a
    at every level scores a.
    """
    x = _curve(levels, "levels")
    y = _curve(accuracies, "accuracies", fractions=True)
    if len(x) != len(y):
        raise ValueError(f"levels has {len(x)} values but accuracies has {len(y)}")
    if np.any(np.diff(x) <= 0):
        raise ValueError("levels must be strictly increasing")
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))


def effective_robustness(accuracies: Sequence[float], late_fusion_accuracies: Sequence[float]) -> float:
    """Sum over levels of accuracy minus late fusion's accuracy shifted to the same clean accuracy.

    With f the model's curve and g late fusion's (same levels, level 0 first):
    sum_i f_i - (g_i + f_0 - g_0). Positive: the model loses less accuracy
    than late fusion as the corruption grows. This is MultiBench's
    ``effective_robustness_helper``; its tables then min-max normalise the
    figure across the methods compared, which this function does not.
    """
    f = _curve(accuracies, "accuracies", fractions=True)
    g = _curve(late_fusion_accuracies, "late_fusion_accuracies", fractions=True)
    if len(f) != len(g):
        raise ValueError(f"accuracies has {len(f)} values but late_fusion_accuracies has {len(g)}")
    return float(np.sum(f - (g + f[0] - g[0])))


def worst_case_gap(
    fused: Sequence[float], singles: Mapping[str, Sequence[float]], *, usable: float = USABLE
) -> float:
    """min over levels of ``fused`` minus the best usable single-modality accuracy at that level.

    ``fused`` is a fused model's accuracy at each level of one corruption,
    ``singles`` ({name: accuracies}) the single-modality models' accuracies on
    the same corrupted test sets. At each level, a single model is usable
    when its accuracy there is at least ``usable`` (default 0.2, twice chance
    for ten classes); the reference is the best usable one, and a level where
    none is usable is skipped. Negative: at some level the fused model is
    below a single model that still works. Raises if no level has a usable
    single model.
    """
    f = _curve(fused, "fused", fractions=True)
    if not isinstance(singles, Mapping) or not singles:
        raise TypeError("singles must be a non-empty dict of name -> accuracies")
    usable = check_number(usable, "usable")
    if not 0.0 <= usable <= 1.0:
        raise ValueError(f"usable must be an accuracy in [0, 1], got {usable}")
    rows = []
    for name, curve in singles.items():
        s = _curve(curve, f"singles[{name!r}]", fractions=True)
        if len(s) != len(f):
            raise ValueError(f"singles[{name!r}] has {len(s)} values but fused has {len(f)}")
        rows.append(s)
    single = np.stack(rows)  # (S, L)
    best = np.where(single >= usable, single, -np.inf).max(axis=0)  # (L,) best usable, -inf if none
    counted = np.isfinite(best)
    if not counted.any():
        raise ValueError(f"no single model reaches the usable accuracy {usable} at any level")
    return float((f[counted] - best[counted]).min())
