"""MedMNIST images through the ``medmnist`` package, as a ``MultimodalDataset``.

A real-data alternative to the lesion images of lesson 09; no lesson needs it.

The medical lesson runs on generated lesions whose Bayes-optimal accuracy is
known. MedMNIST (Yang et al. 2023) is the real counterpart: small, labelled
medical images (DermaMNIST: dermatoscopic lesions, 7 classes;
PneumoniaMNIST: chest X-rays, 2 classes; ...). The ``medmnist`` package
knows where each subset's ``.npz`` file is and its MD5, and reads the file;
this wrapper

- has the shape of every real-data loader: ``load_medmnist(root, split, *,
  download=False, flag=...)`` returning a ``MultimodalDataset``,
- loads from ``root`` with no network when the npz is there,
- checks that npz against the package's MD5 before trusting it,
- downloads only when asked, with the course's ``download_file`` (verified,
  atomic: never a partial file), and
- says clearly what to do when the file is missing or damaged, or the
  machine is offline.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.download import ChecksumError, download_file
from mmlearn.data.real._common import check_split, data_root

OFFLINE_HINT = "the offline clinical lesions of the course (mmlearn.data.clinical.clinical_lesions)"


def _medmnist():
    try:
        import medmnist
    except ImportError as e:  # an optional dependency: only this opt-in loader needs it
        raise ImportError("load_medmnist needs the medmnist package: pip install medmnist") from e
    return medmnist


def _info(flag: str) -> dict:
    medmnist = _medmnist()
    if flag not in medmnist.INFO:
        raise KeyError(f"unknown MedMNIST subset flag={flag!r}; known: {sorted(medmnist.INFO)}")
    return medmnist.INFO[flag]


def medmnist_classes(flag: str) -> list[str]:
    """The class names of a MedMNIST subset, in label order (e.g. 'normal', 'pneumonia')."""
    labels = _info(flag)["label"]
    return [labels[str(i)] for i in range(len(labels))]


def load_medmnist(
    root: str | Path | None = None,
    split: str = "train",
    *,
    download: bool = False,
    flag: str = "dermamnist",
    size: int = 28,
    verify: bool = True,
) -> MultimodalDataset:
    """One split of a 2-D MedMNIST subset: modality ``"image"`` (N, C, size, size) float in [0, 1].

    ``flag`` names the subset ("dermamnist", "pneumoniamnist", ...); its
    official ``train``, ``val`` and ``test`` splits are the course's. Labels:
    (N,) class indices, or (N, L) 0/1 floats for the multi-label ChestMNIST;
    ``classes`` holds the class names. The npz is read from
    ``root/{flag}[_{size}].npz`` (default ``root``: ``$MMLEARN_DATA/medmnist``
    or ``~/.cache/mmlearn/medmnist``).

    ``verify`` checks the file's MD5 against the medmnist package's.
    ``download=True`` fetches the npz when it is missing or fails that check,
    verified and written atomically; without it, a missing or damaged file
    is an error that says what to do.
    """
    medmnist = _medmnist()
    info = _info(flag)
    check_split(split)
    cls = getattr(medmnist, info["python_class"])
    if not issubclass(cls, medmnist.dataset.MedMNIST2D):
        raise ValueError(f"{flag} is a 3-D subset; load_medmnist handles the 2-D ones")
    if size not in cls.available_sizes:
        raise ValueError(f"size must be one of {cls.available_sizes} for {flag}, got {size}")
    size_flag = "" if size == 28 else f"_{size}"
    root = data_root(root, "medmnist")
    npz = root / f"{flag}{size_flag}.npz"
    url, md5 = info["url" + size_flag], info["MD5" + size_flag]

    if download:  # does nothing if the file is there and (when verify) its MD5 is right
        download_file(url, npz, None, md5=md5 if verify else None, offline_hint=OFFLINE_HINT)
    elif not npz.is_file():
        raise FileNotFoundError(
            f"{npz.name} is not in {root}. Pass download=True on a machine with internet, or download "
            f"{url} yourself and put it there; offline, use {OFFLINE_HINT}."
        )
    elif verify:
        from torchvision.datasets.utils import calculate_md5

        actual = calculate_md5(npz)
        if actual != md5:
            raise ChecksumError(
                f"MD5 mismatch for {npz}: expected {md5}, got {actual}. The file is damaged or another "
                "version: delete it, or pass download=True to replace it with a fresh download."
            )

    data = cls(split=split, root=str(root), size=size, download=False)
    pixels = torch.from_numpy(data.imgs)  # (N, H, W) grey or (N, H, W, 3) colour, uint8
    images = pixels.unsqueeze(1) if pixels.dim() == 3 else pixels.permute(0, 3, 1, 2)
    images = images.float() / 255.0  # (N, C, H, W)
    raw = torch.from_numpy(data.labels.astype("int64"))  # (N, L)
    labels = raw.float() if info["task"].startswith("multi-label") else raw[:, 0]
    return MultimodalDataset({"image": images}, labels, classes=medmnist_classes(flag))
