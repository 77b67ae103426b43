"""Input checks shared by the whole package.

Used by every lesson's code (its first appearance: lesson 00, section "How
this course works": every mistake becomes a message that names it).

Multimodal code fails in quiet ways: a batch of 32 images fused with 31
captions, a NaN in one modality, a typo in a modality name. These helpers turn
each of those into an error that names the problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import torch


def check_tensor(x, name: str, *, ndim: int | None = None, allow_empty: bool = False) -> torch.Tensor:
    """Return ``x`` if it is a finite tensor of ``ndim`` dimensions, else raise."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    if not allow_empty and x.dim() > 0 and x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)})")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def check_modalities(inputs: Mapping[str, torch.Tensor], known: Iterable[str] | None = None) -> int:
    """Check a ``{modality: batch}`` dict and return its common batch size.

    Raises on unknown modality names, an empty dict, empty batches, NaNs and
    batch sizes that differ between modalities.
    """
    if not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a dict of modality name -> tensor, got {type(inputs).__name__}")
    present = {k: v for k, v in inputs.items() if v is not None}
    if not present:
        raise ValueError("inputs has no modality: pass at least one of them")
    if known is not None:
        known = list(known)
        unknown = sorted(set(present) - set(known))
        if unknown:
            raise KeyError(f"unknown modality {unknown}; expected some of {known}")
    sizes = {}
    for name, x in present.items():
        check_tensor(x, f"modality '{name}'")
        sizes[name] = x.shape[0]
    if len(set(sizes.values())) > 1:
        raise ValueError(f"batch sizes differ across modalities: {sizes}")
    return next(iter(sizes.values()))


def check_level(level: float, name: str = "level") -> float:
    """A corruption level must lie in [0, 1] (MultiBench's protocol)."""
    level = float(level)
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {level}")
    return level


def check_positive_int(n, name: str) -> int:
    """Sizes and counts: a positive integer, with a message naming it."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return n


def to_module_dtype(x: torch.Tensor, module: torch.nn.Module) -> torch.Tensor:
    """A float batch in the dtype of ``module``'s parameters.

    NumPy gives float64 arrays, torch layers hold float32 weights, and the two
    do not mix ("expected scalar type Float but found Double"): a student's
    float64 batch is converted here, once, at the encoder's door.
    """
    if not x.is_floating_point():
        return x
    for p in module.parameters():
        return x.to(p.dtype) if x.dtype != p.dtype else x
    return x


def check_seed(seed, name: str = "seed") -> int:
    """A seed is a non-negative integer (Python or NumPy); the one seed check of the package."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"{name} must be a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed!r}")
    return int(seed)


def to_numpy(x, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """Tensor, array or list -> NumPy array, refusing empty input, Python objects and (by default) NaN/inf.

    The one converter the metrics, plots and robustness summaries share.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, str | bytes):
        raise TypeError(f"{name} must be numbers (a tensor, array or list), got a {type(x).__name__}")
    x = np.asarray(x)
    if x.size == 0:
        raise ValueError(f"{name} is empty")
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{name} must be numeric, got an array of {x.dtype}")
    if not allow_nan and np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x
