"""Input checks shared by the whole package.

Used by every lesson's code (its first appearance: lesson 00, section "How
this course works": every mistake becomes a message that names it).

Multimodal code fails in quiet ways: a batch of 32 images fused with 31
captions, a NaN in one modality, a typo in a modality name. These helpers turn
each of those into an error that names the problem.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch import nn


class OutOfRangeError(IndexError, ValueError):
    """An index past the end: an IndexError, as Python's own, and a ValueError (a bad argument value)."""


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
        known = check_names(known, "known")
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


def check_labels(
    labels,
    name: str = "labels",
    *,
    batch: int | None = None,
    num_classes: int | None = None,
    check_values: bool = True,
) -> torch.Tensor:
    """Class indices: a 1-D integer tensor, one per sample of the batch, each in [0, num_classes).

    Returned as int64, the dtype cross-entropy wants. ``batch`` and
    ``num_classes`` are checked when given. ``check_values=False`` skips the
    range check, the one check that reads the values (on a GPU it waits for them).
    """
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices (int64), got dtype {labels.dtype}")
    if labels.dim() != 1:
        raise ValueError(f"{name} must be one class index per sample, shape (N,); got {tuple(labels.shape)}")
    if batch is not None and len(labels) != check_positive_int(batch, "batch"):
        raise ValueError(f"{name} has {len(labels)} entries but the batch has {batch} samples")
    if len(labels) == 0:
        raise ValueError(f"{name} is empty")
    if check_values:
        outside = labels < 0
        if num_classes is not None:
            outside |= labels >= check_positive_int(num_classes, "num_classes")
        if outside.any():
            top = "" if num_classes is None else f" and < {num_classes} (the number of classes)"
            raise ValueError(
                f"{name} must be class indices >= 0{top}, got values from {labels.min().item()} to "
                f"{labels.max().item()}"
            )
    return labels.long()


def check_batch_labels(labels, logits: torch.Tensor) -> torch.Tensor:
    """Labels of one batch, checked against its (B, C) logits before cross-entropy sees them.

    The range check needs the values, so it runs only on the CPU: on a GPU it
    would wait for every batch, and ``train_classifier`` checks the whole
    dataset's labels once before training.
    """
    on_cpu = not isinstance(labels, torch.Tensor) or labels.device.type == "cpu"
    num_classes = logits.shape[1] if logits.dim() == 2 else None
    return check_labels(labels, "labels", batch=logits.shape[0], num_classes=num_classes, check_values=on_cpu)


def check_index(index, n: int, name: str = "index") -> torch.Tensor:
    """Row numbers into ``n`` rows: a list, array or tensor of whole numbers in [-n, n), as int64.

    Floats are refused rather than rounded, and so are booleans: a mask of
    True/False would otherwise be read as the rows 1 and 0.
    """
    if index is None or isinstance(index, str | bytes):
        raise TypeError(f"{name} must be row numbers (a list or tensor of integers), got {index!r}")
    try:
        t = index if isinstance(index, torch.Tensor) else torch.as_tensor(np.asarray(index))
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be row numbers (a list or tensor of integers), got {index!r}") from err
    if t.numel() == 0:
        raise ValueError(f"{name} is empty: select at least one row")
    if t.dtype == torch.bool or t.is_floating_point() or t.is_complex() or t.dim() > 1:
        raise TypeError(
            f"{name} must be a flat list of whole row numbers, got {t.dtype} of shape {tuple(t.shape)}"
        )
    outside = t[(t < -n) | (t >= n)]
    if outside.numel():
        raise OutOfRangeError(f"{name} holds row {outside[0].item()}, outside the {n} rows (0 to {n - 1})")
    return t.long().reshape(-1)


def check_number(x, name: str, *, positive: bool = False, minimum: float | None = None) -> float:
    """A finite real number (not a bool, not a string), optionally > 0 or >= ``minimum``; as a float."""
    wanted = "a positive finite number" if positive else "a finite number"
    if minimum is not None:
        wanted += f" >= {minimum:g}"
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be {wanted}, got {x!r}")
    if not math.isfinite(x) or (positive and not x > 0) or (minimum is not None and x < minimum):
        raise ValueError(f"{name} must be {wanted}, got {x!r}")
    return float(x)


def check_level(level: float, name: str = "level") -> float:
    """A corruption level must lie in [0, 1] (MultiBench's protocol); so must a probability or a rate."""
    if isinstance(level, bool) or not isinstance(level, numbers.Real):
        raise TypeError(f"{name} must be a number between 0 and 1, got {level!r}")
    if not 0.0 <= level <= 1.0:  # NaN fails this test too
        raise ValueError(f"{name} must be between 0 and 1, got {level}")
    return float(level)


def check_positive_int(n, name: str) -> int:
    """Sizes and counts: a positive integer, with a message naming it."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return n


def check_module(module, name: str) -> nn.Module:
    """``module`` if it is a torch ``nn.Module`` (a model, an encoder, a loss), else a TypeError naming it."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"{name} must be a torch nn.Module, got {type(module).__name__}")
    return module


def check_names(names, name: str) -> list[str]:
    """A non-empty list of names (strings). A single string is refused: it is not split into letters."""
    if isinstance(names, str | bytes) or not isinstance(names, Iterable):
        raise TypeError(f"{name} must be a list of names such as ['image', 'audio'], got {names!r}")
    names = list(names)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{name} must be a non-empty list of names (strings), got {names!r}")
    return names


def check_path(path, name: str = "path") -> str | os.PathLike:
    """A file path: a string or ``pathlib.Path``."""
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise TypeError(f"{name} must be a file path (a str or pathlib.Path), got {path!r}")
    return path


def check_device(device, name: str = "device") -> torch.device:
    """A device name torch knows ('cpu', 'cuda', 'cuda:1', 'mps') or a ``torch.device``, as a device."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"{name} must be a device name such as 'cpu' or 'cuda', got {device!r}")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"{name} {device!r} is not a device torch knows, such as 'cpu', 'cuda' or 'mps'"
        ) from None


def to_module_dtype(x: torch.Tensor, module: torch.nn.Module) -> torch.Tensor:
    """A float batch in the dtype of ``module``'s parameters.

    NumPy gives float64 arrays, torch layers hold float32 weights, and the two
    do not mix ("expected scalar type Float but found Double"): a student's
    float64 batch is converted here, once, at the encoder's door.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    check_module(module, "module")
    if not x.is_floating_point():
        return x
    for p in module.parameters():
        return x.to(p.dtype) if x.dtype != p.dtype else x
    return x


def check_widths(widths, name: str) -> list[int]:
    """Layer widths: a list of positive integers, such as ``(32, 64)``."""
    if isinstance(widths, str | bytes) or not isinstance(widths, Iterable):
        raise TypeError(f"{name} must be a list of layer widths such as (32, 64), got {widths!r}")
    return [check_positive_int(w, f"{name}[{i}]") for i, w in enumerate(widths)]


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
    if x is None or isinstance(x, str | bytes):
        raise TypeError(f"{name} must be numbers (a tensor, array or list), got {type(x).__name__}")
    x = np.asarray(x)
    if x.size == 0:
        raise ValueError(f"{name} is empty")
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{name} must be numeric, got an array of {x.dtype}")
    if not allow_nan and np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x
