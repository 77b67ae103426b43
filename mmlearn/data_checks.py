"""Building a multimodal dataset: a shifted stream, noisy labels, leakage between splits.

Taught in lesson 10 (section 4, "Building a dataset").

Three ways a dataset goes wrong before any model is trained:

- *Alignment*: pairs are formed by position in two streams (an audio track and
  the label stream of what is shown). If one stream is shifted by ``lag``
  slots, every pair is wrong. ``shift_stream`` makes such a shift;
  ``lag_scores`` detects it: a classifier of the audio alone gives each slot
  a log-probability for every class, and the lag at which the labels are the
  most probable, :math:`\\hat L = \\arg\\max_L \\frac1N \\sum_i
  \\log p_{(i+L) \\bmod N}(y_i)`, is the shift.
- *Label noise*: ``flip_labels`` changes a given fraction of labels to
  another class, uniformly at random.
- *Leakage*: a dataset that holds several takes of each pair (the same
  handwritten image and the same spoken clip, recorded again with fresh
  noise: ``second_take``), pooled and split at random
  (``pooled_random_split``), puts takes of one pair on both sides of the
  split; ``shared_source_mask`` marks the test pairs that share a source (or
  a whole pair of sources) with a training pair, and ``shared_source_fraction``
  counts them.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.inference import check_dataset
from mmlearn.validation import (
    check_labels,
    check_level,
    check_number,
    check_positive_int,
    check_seed,
    check_tensor,
)

__all__ = [
    "shift_stream",
    "lag_scores",
    "flip_labels",
    "second_take",
    "pooled_random_split",
    "shared_source_fraction",
    "shared_source_mask",
]


def _check_lag(lag, name: str) -> int:
    if isinstance(lag, bool) or not isinstance(lag, numbers.Integral):
        raise TypeError(f"{name} must be a whole number of slots, got {lag!r}")
    return int(lag)


def shift_stream(x: torch.Tensor, lag: int) -> torch.Tensor:
    """The stream ``x`` (N, ...) delayed by ``lag`` slots, circularly: slot i then holds ``x[i - lag]``."""
    check_tensor(x, "x")
    return torch.roll(x, shifts=_check_lag(lag, "lag"), dims=0)


def lag_scores(log_probs: torch.Tensor, labels: torch.Tensor, max_lag: int) -> torch.Tensor:
    """(2 * max_lag + 1,) mean log-probability of the labels at each lag -max_lag, ..., max_lag.

    Entry k is for lag L = k - max_lag: the mean over slots i of
    ``log_probs[(i + L) % N, labels[i]]``. The reference answer of exercise 10.2.
    """
    check_tensor(log_probs, "log_probs", ndim=2)
    if not log_probs.is_floating_point():
        raise TypeError(f"log_probs must hold floating-point log-probabilities, got dtype {log_probs.dtype}")
    n = log_probs.shape[0]
    labels = check_labels(labels, "labels", num_classes=log_probs.shape[1])
    if labels.shape != (n,):
        raise ValueError(
            f"labels must have shape ({n},), one per slot of log_probs, got {tuple(labels.shape)}"
        )
    max_lag = _check_lag(max_lag, "max_lag")
    if not 0 <= max_lag < n:
        raise ValueError(f"max_lag must be in [0, {n - 1}] for a stream of {n} slots, got {max_lag}")
    slots = torch.arange(n, device=log_probs.device)
    return torch.stack([log_probs[(slots + lag) % n, labels].mean() for lag in range(-max_lag, max_lag + 1)])


def flip_labels(
    labels: torch.Tensor, fraction: float, num_classes: int, *, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(noisy labels, (N,) bool mask of the flipped ones): round(fraction * N) labels moved to another class.

    Which labels flip and the wrong class each gets (uniform over the other
    ``num_classes - 1``) are drawn with ``seed``.
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2 for a label to flip, got {num_classes}")
    labels = check_labels(labels, "labels", num_classes=num_classes)
    fraction = check_level(fraction, "fraction")
    gen = torch.Generator().manual_seed(check_seed(seed))
    n = labels.shape[0]
    chosen = torch.randperm(n, generator=gen)[: round(fraction * n)]
    offset = torch.randint(1, num_classes, (len(chosen),), generator=gen)
    noisy = labels.clone()
    noisy[chosen] = (labels[chosen] + offset.to(labels.device)) % num_classes
    flipped = torch.zeros(n, dtype=torch.bool, device=labels.device)
    flipped[chosen] = True
    return noisy, flipped


def second_take(
    data: MultimodalDataset,
    noise: Mapping[str, float],
    *,
    seed: int,
    clamp: Mapping[str, tuple[float, float]] | None = None,
) -> MultimodalDataset:
    """Every pair of ``data`` again, each modality with fresh Gaussian noise of std ``noise[modality]``.

    The labels and ``info`` (the source ids) are kept: a second take shows the
    same sources. ``clamp`` {modality: (low, high)} keeps values in range
    (e.g. image pixels in [0, 1]). A modality not named in ``noise`` is copied.
    """
    check_dataset(data, "data")
    if not isinstance(noise, Mapping):
        raise TypeError(f"noise must be a dict {{modality: std}}, got {type(noise).__name__}")
    unknown = sorted(set(noise) - set(data.modalities))
    if unknown:
        raise KeyError(f"noise names modalities {unknown} that data lacks; it has {sorted(data.modalities)}")
    if clamp is not None and not isinstance(clamp, Mapping):
        raise TypeError(f"clamp must be None or a dict {{modality: (low, high)}}, got {type(clamp).__name__}")
    clamp = dict(clamp or {})
    for m, bounds in clamp.items():
        ok = isinstance(bounds, Sequence) and len(bounds) == 2
        if not ok or check_number(bounds[0], f"clamp['{m}']") > check_number(bounds[1], f"clamp['{m}']"):
            raise ValueError(f"clamp['{m}'] must be two numbers (low, high) with low <= high, got {bounds!r}")
    gen = torch.Generator().manual_seed(check_seed(seed))
    out = {}
    for m, x in data.modalities.items():
        std = check_number(noise.get(m, 0.0), f"noise['{m}']", minimum=0.0)
        y = x + std * torch.randn(x.shape, generator=gen).to(x)
        if m in clamp:
            low, high = clamp[m]
            y = y.clamp(float(low), float(high))
        out[m] = y
    return MultimodalDataset(out, data.labels.clone(), dict(data.info), data.classes)


def pooled_random_split(
    splits: Sequence[MultimodalDataset], sizes: Sequence[int], *, seed: int
) -> list[MultimodalDataset]:
    """All pairs of ``splits`` pooled, shuffled with ``seed``, cut into parts of ``sizes``: a leaky split."""
    if isinstance(splits, MultimodalDataset) or not isinstance(splits, Sequence) or not splits:
        raise TypeError("splits must be a non-empty list of MultimodalDataset (e.g. train, val, test)")
    for i, s in enumerate(splits):
        check_dataset(s, f"splits[{i}]")
    names = set(splits[0].modalities)
    if any(set(s.modalities) != names for s in splits):
        raise ValueError(f"splits must all hold the same modalities, {sorted(names)}")
    keys = [k for k, v in splits[0].info.items() if isinstance(v, torch.Tensor)]
    if any(not isinstance(s.info.get(k), torch.Tensor) for s in splits for k in keys):
        keys = [k for k in keys if all(isinstance(s.info.get(k), torch.Tensor) for s in splits)]
    pooled = MultimodalDataset(
        {m: torch.cat([s.modalities[m] for s in splits]) for m in splits[0].modalities},
        torch.cat([s.labels for s in splits]),
        {k: torch.cat([s.info[k] for s in splits]) for k in keys},
        splits[0].classes,
    )
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence) or not sizes:
        raise TypeError(f"sizes must be a non-empty list of whole numbers, got {sizes!r}")
    sizes = [check_positive_int(k, "sizes") for k in sizes]
    if sum(sizes) > len(pooled):
        raise ValueError(f"sizes add up to {sum(sizes)} but the splits hold only {len(pooled)} pairs")
    order = torch.randperm(len(pooled), generator=torch.Generator().manual_seed(check_seed(seed)))
    parts, start = [], 0
    for k in sizes:
        parts.append(pooled.subset(order[start : start + k]))
        start += k
    return parts


def shared_source_mask(
    train: MultimodalDataset, test: MultimodalDataset, key: str | Sequence[str]
) -> torch.Tensor:
    """(len(test),) bool: which ``test`` pairs have a source ``info[key]`` (e.g. "image_id") in ``train``.

    With several keys (``["image_id", "clip_id"]``) a test pair is marked when one
    training pair has all of them equal: the same image *and* the same clip.
    """
    check_dataset(train, "train")
    check_dataset(test, "test")
    keys = [key] if isinstance(key, str) else key
    if isinstance(keys, bytes) or not isinstance(keys, Sequence) or not keys:
        raise TypeError(f"key must be an info key or a non-empty list of them, got {key!r}")
    for name, data in (("train", train), ("test", test)):
        for k in keys:
            if not isinstance(k, str) or not isinstance(data.info.get(k), torch.Tensor):
                raise KeyError(f"key {k!r} is not a tensor in {name}.info; it has {sorted(data.info)}")

    def rows(data):
        return list(zip(*(data.info[k].tolist() for k in keys), strict=True))

    seen = set(rows(train))
    return torch.tensor([r in seen for r in rows(test)], dtype=torch.bool)


def shared_source_fraction(
    train: MultimodalDataset, test: MultimodalDataset, key: str | Sequence[str]
) -> float:
    """Fraction of ``test`` pairs whose source ``info[key]`` (e.g. "image_id") also appears in ``train``.

    With several keys (``["image_id", "clip_id"]``) a test pair counts when one
    training pair has all of them equal: the same image *and* the same clip
    (``shared_source_mask`` marks which pairs).
    """
    return shared_source_mask(train, test, key).float().mean().item()
