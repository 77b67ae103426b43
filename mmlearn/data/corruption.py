"""Corrupt one modality on purpose, at a level between 0 and 1.

Taught in lesson 02 (sections 4 and 5: a noisy and a missing modality); lessons 05 and 08 use it
too.

Why this module exists: a fusion model is only as useful as its behaviour when
one input goes bad. MultiBench (Liang et al. 2021) measures robustness by
corrupting one modality at levels 0.0, 0.1, ..., 1.0 and plotting accuracy
against the level. Three kinds of damage are provided, each deterministic per
seed and each working on images (N, C, H, W), waveforms (N, T) or feature maps
(N, features, frames):

- ``"noise"``: additive Gaussian noise. Its standard deviation is
  ``10 * level**2`` times the sample's own standard deviation: gentle at
  small levels (level 0.1: SNR 20 dB), equal to the signal at about 0.32
  (0 dB) and ten times the signal at level 1.0 (SNR -20 dB), where nearly all
  of the signal is gone.
- ``"occlude"``: a random block covering a fraction ``level`` of each sample
  is set to ``fill`` (0: black pixels, silence, zeroed features). Images lose
  a rectangle, waveforms and feature maps a span of time (the last axis).
- ``"drop"``: the whole modality is zeroed for a random fraction ``level`` of
  the samples (level 1.0: missing for everyone). ``remove_modality`` deletes
  it from the inputs instead, for models that accept a missing modality.

Inputs are never modified; a new dict (or dataset) comes back.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.validation import check_level, check_number, check_seed, check_tensor

KINDS = ("noise", "occlude", "drop")
NOISE_AT_FULL = 10.0  # noise std / signal std at level 1.0


def _generator(seed: int) -> torch.Generator:
    check_seed(seed)
    return torch.Generator().manual_seed(seed)


def _check_input(x: torch.Tensor, name: str) -> torch.Tensor:
    check_tensor(x, name)
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor to corrupt, got dtype {x.dtype}")
    if x.dim() not in (2, 3, 4):
        raise ValueError(
            f"{name} must be (N, T) waveforms, (N, features, frames) or (N, C, H, W) images, "
            f"got shape {tuple(x.shape)}"
        )
    return x


def gaussian_noise(x: torch.Tensor, level: float, seed: int = 0) -> torch.Tensor:
    """Add noise of std ``NOISE_AT_FULL * level**2`` times each sample's std (level 0: unchanged)."""
    _check_input(x, "x")
    level = check_level(level)
    gen = _generator(seed)
    if level == 0.0:
        return x.clone()
    dims = tuple(range(1, x.dim()))
    sigma = x.float().std(dim=dims, keepdim=True)  # (N, 1, ...) each sample's own spread
    noise = torch.randn(x.shape, generator=gen, dtype=torch.float32).to(x.device)
    return x + (NOISE_AT_FULL * level**2 * sigma * noise).to(x.dtype)


def _span_mask(n: int, length: int, span: int, gen: torch.Generator) -> torch.Tensor:
    """(n, length) bool mask with one run of ``span`` True values per row, at a random start."""
    start = torch.randint(0, length - span + 1, (n, 1), generator=gen)
    pos = torch.arange(length)
    return (pos >= start) & (pos < start + span)


def occlude(x: torch.Tensor, level: float, seed: int = 0, fill: float = 0.0) -> torch.Tensor:
    """Cover a random block of about ``level`` of each sample with ``fill``.

    (N, C, H, W): a rectangle of about level * H * W pixels (all channels).
    (N, T) or (N, features, frames): a span of round(level * length) steps
    along the last axis (all features).
    """
    _check_input(x, "x")
    level = check_level(level)
    fill = check_number(fill, "fill")
    gen = _generator(seed)
    n = x.shape[0]
    if x.dim() == 4:
        height, width = x.shape[-2:]
        h = min(height, round(height * level**0.5))
        w = 0 if h == 0 else min(width, round(level * height * width / h))
        rows = _span_mask(n, height, h, gen)  # (N, H)
        cols = _span_mask(n, width, w, gen)  # (N, W)
        mask = (rows[:, :, None] & cols[:, None, :])[:, None]  # (N, 1, H, W)
    else:
        length = x.shape[-1]
        mask = _span_mask(n, length, round(level * length), gen)  # (N, L)
        mask = mask if x.dim() == 2 else mask[:, None, :]  # (N, 1, L) for feature maps
    return x.masked_fill(mask.to(x.device), fill)


def drop(x: torch.Tensor, level: float, seed: int = 0, fill: float = 0.0) -> torch.Tensor:
    """Set the whole sample to ``fill`` for round(level * N) randomly chosen samples."""
    _check_input(x, "x")
    level = check_level(level)
    fill = check_number(fill, "fill")
    gen = _generator(seed)
    n = x.shape[0]
    chosen = torch.randperm(n, generator=gen)[: round(level * n)]
    dropped = torch.zeros(n, dtype=torch.bool)
    dropped[chosen] = True
    mask = dropped.view(n, *([1] * (x.dim() - 1)))  # broadcast over the sample
    return x.masked_fill(mask.to(x.device), fill)


_FUNCTIONS = {"noise": gaussian_noise, "occlude": occlude, "drop": drop}


def _check_modality(inputs: Mapping[str, torch.Tensor], modality: str) -> None:
    if not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a dict of modality name -> tensor, got {type(inputs).__name__}")
    if not isinstance(modality, str) or modality not in inputs:
        raise KeyError(f"unknown modality {modality!r}; the inputs hold {sorted(inputs)}")


def corrupt(
    inputs: Mapping[str, torch.Tensor], modality: str, kind: str, level: float, seed: int = 0
) -> dict[str, torch.Tensor]:
    """A new ``{modality: tensor}`` dict with ``inputs[modality]`` corrupted.

    ``kind`` is one of ``"noise"``, ``"occlude"``, ``"drop"``; ``level`` in
    [0, 1]. The other modalities are passed through untouched; nothing in
    ``inputs`` is modified.
    """
    _check_modality(inputs, modality)
    if kind not in _FUNCTIONS:
        raise ValueError(f"unknown corruption kind {kind!r}; expected one of {list(KINDS)}")
    _check_input(inputs[modality], f"modality {modality!r}")
    level = check_level(level)
    out = dict(inputs)
    out[modality] = _FUNCTIONS[kind](inputs[modality], level, seed)
    return out


def corrupt_dataset(dataset: MultimodalDataset, modality: str, kind: str, level: float, seed: int = 0):
    """The same dataset (labels, info) with one modality corrupted, as a new ``MultimodalDataset``."""
    if not isinstance(dataset, MultimodalDataset):
        raise TypeError(f"dataset must be a MultimodalDataset, got {type(dataset).__name__}")
    modalities = corrupt(dataset.modalities, modality, kind, level, seed)
    return MultimodalDataset(modalities, dataset.labels, dataset.info, dataset.classes)


def remove_modality(inputs: Mapping[str, torch.Tensor], modality: str) -> dict[str, torch.Tensor]:
    """A new dict without ``modality``: the modality is missing, not zeroed."""
    _check_modality(inputs, modality)
    return {name: x for name, x in inputs.items() if name != modality}
