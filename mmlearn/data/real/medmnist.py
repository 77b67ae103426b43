"""MedMNIST images through the ``medmnist`` package, as a ``MultimodalDataset``.

The medical lesson runs on generated lesions whose Bayes-optimal accuracy is
known. MedMNIST (Yang et al. 2023) is the real counterpart: small, labelled
medical images (DermaMNIST: dermatoscopic lesions, 7 classes;
PneumoniaMNIST: chest X-rays, 2 classes; ...). The ``medmnist`` package
downloads each subset as one ``.npz`` file and knows its MD5; this wrapper

- loads from ``root`` with no network when the npz is there,
- checks that npz against the package's MD5 before trusting it,
- downloads through the package only when asked, and
- says clearly what to do when the file is missing or the machine is offline.
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.download import ChecksumError, OfflineError, default_data_dir

OFFLINE_HINT = "the offline clinical lesions of the course (mmlearn.data.clinical.clinical_lesions)"
_SPLITS = ("train", "val", "test")


def _medmnist():
    try:
        import medmnist
    except ImportError as e:  # an optional dependency: only this opt-in loader needs it
        raise ImportError("load_medmnist needs the medmnist package: pip install medmnist") from e
    return medmnist


def _info(flag: str) -> dict:
    medmnist = _medmnist()
    if flag not in medmnist.INFO:
        raise KeyError(f"unknown MedMNIST subset {flag!r}; known: {sorted(medmnist.INFO)}")
    return medmnist.INFO[flag]


def medmnist_classes(flag: str) -> list[str]:
    """The class names of a MedMNIST subset, in label order (e.g. 'normal', 'pneumonia')."""
    labels = _info(flag)["label"]
    return [labels[str(i)] for i in range(len(labels))]


def load_medmnist(
    flag: str = "dermamnist",
    split: str = "train",
    root: str | Path | None = None,
    *,
    size: int = 28,
    download: bool = False,
    verify: bool = True,
) -> MultimodalDataset:
    """One split of a 2-D MedMNIST subset: modality ``"image"`` (N, C, size, size) float in [0, 1].

    Labels: (N,) class indices, or (N, L) 0/1 floats for the multi-label
    ChestMNIST. The npz is read from ``root/{flag}[_{size}].npz`` (default
    ``root``: ``$MMLEARN_DATA/medmnist`` or ``~/.cache/mmlearn/medmnist``);
    ``download=True`` fetches it through the medmnist package first if missing.
    ``verify`` checks the file's MD5 against the package's before loading.
    """
    medmnist = _medmnist()
    info = _info(flag)
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {list(_SPLITS)}, got {split!r}")
    cls = getattr(medmnist, info["python_class"])
    if not issubclass(cls, medmnist.dataset.MedMNIST2D):
        raise ValueError(f"{flag} is a 3-D subset; load_medmnist handles the 2-D ones")
    if size not in cls.available_sizes:
        raise ValueError(f"size must be one of {cls.available_sizes} for {flag}, got {size}")
    size_flag = "" if size == 28 else f"_{size}"
    root = Path(root).expanduser() if root is not None else default_data_dir() / "medmnist"
    npz = root / f"{flag}{size_flag}.npz"

    if not npz.is_file():
        if not download:
            raise FileNotFoundError(
                f"{npz.name} is not in {root}. Pass download=True on a machine with internet, or download "
                f"{info['url' + size_flag]} yourself and put it there; offline, use {OFFLINE_HINT}."
            )
        root.mkdir(parents=True, exist_ok=True)
        try:
            cls(split=split, root=str(root), size=size, download=True)
        except RuntimeError as e:
            cause = e.__context__  # medmnist re-raises every download failure as one RuntimeError
            if isinstance(cause, urllib.error.URLError) and not isinstance(cause, urllib.error.HTTPError):
                raise OfflineError(
                    f"could not download {npz.name} ({cause.reason}). This machine seems to be offline. "
                    f"Use {OFFLINE_HINT} instead: it needs no download."
                ) from e
            raise
    if verify:
        from torchvision.datasets.utils import calculate_md5

        expected, actual = info["MD5" + size_flag], calculate_md5(npz)
        if actual != expected:
            raise ChecksumError(
                f"MD5 mismatch for {npz}: expected {expected}, got {actual}. "
                "Delete the file and download it again."
            )

    data = cls(split=split, root=str(root), size=size, download=False)
    pixels = torch.from_numpy(data.imgs)  # (N, H, W) grey or (N, H, W, 3) colour, uint8
    images = pixels.unsqueeze(1) if pixels.dim() == 3 else pixels.permute(0, 3, 1, 2)
    images = images.float() / 255.0  # (N, C, H, W)
    raw = torch.from_numpy(data.labels.astype("int64"))  # (N, L)
    labels = raw.float() if info["task"].startswith("multi-label") else raw[:, 0]
    return MultimodalDataset({"image": images}, labels)
