"""What the real-data loaders share, so that they have one shape.

Shared by the opt-in real-data loaders; no lesson needs them.

Every loader is ``load_name(root, split, *, download=False, ...)`` and returns
a ``MultimodalDataset``. ``split`` is always one of ``train``, ``val``,
``test`` (``mmlearn.data.base.SPLITS``), whatever the source calls them; each
loader maps these names to its source's own and documents how.
"""

from __future__ import annotations

from pathlib import Path

from mmlearn.data.base import SPLITS
from mmlearn.data.download import default_data_dir


def check_split(split: str, note: str = "") -> str:
    """Return ``split`` if it is one of ``SPLITS``; otherwise a ValueError naming ``split`` (and ``note``)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}{note}")
    return split


def data_root(root: str | Path | None, folder: str = "") -> Path:
    """``root`` as a Path, or ``default_data_dir() / folder`` when ``root`` is None."""
    return Path(root).expanduser() if root is not None else default_data_dir() / folder
