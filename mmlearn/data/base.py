"""The one dataset shape every lesson uses.

Taught in lesson 00 (section 4, "Modalities as tensors: a first look") and
lesson 01; every lesson after them loads its data as a ``MultimodalDataset``.

The data contract: every offline generator is ``name(n, *, seed, ...)`` and
returns a ``MultimodalDataset`` (or, for a generator whose splits must not
share sources, a ``DatasetSplits`` of three); real-data loaders are
``load_name(root, split, *, download=False)`` with ``split`` one of
``SPLITS``. Class names, when the labels are classes, are in ``classes``,
as in torchvision's datasets.

A multimodal dataset is a dict of modality tensors that share their first
(sample) dimension, plus a label tensor. ``MultimodalDataset`` is a normal
``torch.utils.data.Dataset`` for DataLoader users, and keeps the whole tensors
in ``.modalities`` / ``.labels`` so training on a CPU can slice batches
directly (``batches``) without per-sample Python overhead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

import torch
from torch.utils.data import Dataset

from mmlearn.validation import check_device, check_index, check_modalities, check_positive_int, check_seed

SPLITS = ("train", "val", "test")


class MultimodalDataset(Dataset):
    """Samples as ``({modality: tensor}, label)`` pairs, all held in memory.

    ``info`` carries anything else a generator wants to keep per sample
    (for example scene metadata or caption strings) as tensors or lists
    indexed like the labels. ``classes`` names the classes when the labels
    are class indices (``classes[label]``), as torchvision's datasets do;
    None otherwise.
    """

    def __init__(
        self,
        modalities: Mapping[str, torch.Tensor],
        labels: torch.Tensor,
        info: Mapping | None = None,
        classes: Sequence[str] | None = None,
    ):
        n = check_modalities(modalities)
        if not isinstance(labels, torch.Tensor):
            raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
        if labels.dim() == 0 or labels.shape[0] != n:
            raise ValueError(f"labels have shape {tuple(labels.shape)} but the modalities have {n} rows")
        if labels.is_floating_point() and not torch.isfinite(labels).all():
            raise ValueError("labels contain NaN or infinite values")
        if info is not None and not isinstance(info, Mapping):
            raise TypeError(f"info must be a dict of per-sample lists or tensors, got {type(info).__name__}")
        self.modalities = dict(modalities)
        self.labels = labels
        self.info = dict(info or {})
        for key, value in self.info.items():
            if len(value) != n:
                raise ValueError(f"info['{key}'] has {len(value)} rows but the dataset has {n}")
        self.classes = _check_classes(classes, labels)

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, i: int):
        return {k: v[i] for k, v in self.modalities.items()}, self.labels[i]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in self.modalities.items())
        return f"MultimodalDataset(n={len(self)}, {shapes}, labels: {tuple(self.labels.shape)})"

    def subset(self, index: torch.Tensor | Sequence[int]) -> MultimodalDataset:
        """A new dataset holding the rows in ``index`` (tensors are sliced, not copied lazily)."""
        index = check_index(index, len(self)).to(self.labels.device)
        info = {}
        for key, value in self.info.items():
            info[key] = (
                value[index] if isinstance(value, torch.Tensor) else [value[i] for i in index.tolist()]
            )
        return MultimodalDataset(
            {k: v[index] for k, v in self.modalities.items()}, self.labels[index], info, self.classes
        )

    def split(
        self, fractions: Sequence[float] = (0.7, 0.15, 0.15), *, seed: int = 0
    ) -> list[MultimodalDataset]:
        """Shuffle with ``seed`` and cut into parts of the given fractions (train, validation, test)."""
        sizes = split_sizes(len(self), fractions)
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(check_seed(seed)))
        parts = torch.split(order, sizes)
        return [self.subset(p) for p in parts]

    def to(self, device) -> MultimodalDataset:
        """Move every tensor to ``device`` (for the fast path on a GPU)."""
        device = check_device(device)
        info = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.info.items()}
        return MultimodalDataset(
            {k: v.to(device) for k, v in self.modalities.items()}, self.labels.to(device), info, self.classes
        )


class DatasetSplits(NamedTuple):
    """Train, validation and test sets made together; unpack as ``train, val, test = generator(...)``."""

    train: MultimodalDataset
    val: MultimodalDataset
    test: MultimodalDataset


def split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Sizes of the parts of ``n`` samples cut at the given ``fractions`` (positive, summing to 1)."""
    n = check_positive_int(n, "n")
    if isinstance(fractions, str | bytes) or not isinstance(fractions, Sequence) or not fractions:
        raise TypeError(f"fractions must be a non-empty sequence of numbers, got {fractions!r}")
    for f in fractions:
        if isinstance(f, bool) or not isinstance(f, int | float) or not (0 < f <= 1):
            raise ValueError(f"fractions must be numbers in (0, 1] that sum to 1, got {list(fractions)}")
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {list(fractions)} (sum {sum(fractions)})")
    bounds = [round(sum(fractions[:i]) * n) for i in range(len(fractions))] + [n]  # the last part ends at n
    sizes = [b - a for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    if any(s == 0 for s in sizes):
        raise ValueError(f"a split of {n} samples into {list(fractions)} leaves an empty part")
    return sizes


def _check_classes(classes, labels: torch.Tensor) -> tuple[str, ...] | None:
    if classes is None:
        return None
    if isinstance(classes, str | bytes) or not isinstance(classes, Iterable):
        raise TypeError(f"classes must be a sequence of class names (strings), got {classes!r}")
    classes = tuple(classes)  # once: a generator would be used up by the check below
    if not all(isinstance(c, str) for c in classes):
        raise TypeError(f"classes must be a sequence of class names (strings), got {classes!r}")
    is_index = labels.numel() and not labels.is_floating_point()
    if is_index and (labels.min() < 0 or labels.max() >= len(classes)):
        raise ValueError(
            f"labels run from {labels.min().item()} to {labels.max().item()} but there are "
            f"{len(classes)} classes"
        )
    return classes


def batches(
    dataset: MultimodalDataset, batch_size: int, *, shuffle: bool = False, seed: int | None = None
) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor]]:
    """Yield ``(inputs, labels)`` batches by slicing the in-memory tensors.

    The fast path for small models on a CPU: a DataLoader would build each
    batch sample by sample in Python, which costs more than the model.
    """
    if not isinstance(dataset, MultimodalDataset):
        raise TypeError(f"dataset must be a MultimodalDataset, got {type(dataset).__name__}")
    batch_size = check_positive_int(batch_size, "batch_size")
    n = len(dataset)
    if shuffle:
        gen = torch.Generator().manual_seed(check_seed(seed)) if seed is not None else None
        order = torch.randperm(n, generator=gen).to(dataset.labels.device)
    else:
        order = None
    for start in range(0, n, batch_size):
        if order is None:
            sl = slice(start, start + batch_size)
            yield {k: v[sl] for k, v in dataset.modalities.items()}, dataset.labels[sl]
        else:
            idx = order[start : start + batch_size]
            yield {k: v[idx] for k, v in dataset.modalities.items()}, dataset.labels[idx]
