"""AV-MNIST style data from real recordings: MNIST images paired with spoken digits.

The offline lesson pairs written digits with synthesised speech
(``mmlearn.data.av_digits``). This loader builds the same kind of dataset from
real data, in the spirit of AV-MNIST (Vielzeuf et al. 2018): each MNIST image
is paired, by label, with a random recording of that digit from the Free
Spoken Digit Dataset (FSDD, 8 kHz wav files named
``{digit}_{speaker}_{index}.wav``). It returns the same ``AVDigits``
(train, val, test) triple, with the same modalities and feature shapes.

- MNIST comes through ``torchvision.datasets.MNIST``, which downloads and
  checks its own files (MD5) into ``root/MNIST/raw``.
- FSDD comes as the archive of a tagged GitHub release, pinned by URL and
  SHA-256, downloaded with ``download_file`` (verified, atomic) and unpacked
  with ``safe_extract`` into ``root/fsdd``.

Splits never share a recording: FSDD's README makes recordings 0-4 of each
speaker and digit the test set; of the rest, this loader keeps 5-9 for
validation and 10-49 for training. MNIST's test images go to the test split;
its training images are cut into train and validation with the seed.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.download import OfflineError, default_data_dir, download_file, safe_extract, verify_sha256
from mmlearn.validation import check_positive_int

FSDD_VERSION = "1.0.9"
FSDD_URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/v{FSDD_VERSION}.tar.gz"
# SHA-256 of that archive (11,975,353 bytes) as recorded by TensorFlow Datasets in
# tensorflow_datasets/datasets/spoken_digit/checksums.tsv. A different value means GitHub
# served different bytes: the download is then refused rather than trusted.
FSDD_SHA256 = "8bc44cde129d505cbbb6b365c09f80c663f2aa77578afc634e6141a2f87100c0"
FSDD_ARCHIVE = f"free-spoken-digit-dataset-{FSDD_VERSION}.tar.gz"
FSDD_FOLDER = f"free-spoken-digit-dataset-{FSDD_VERSION}"
FSDD_SAMPLE_RATE = 8000
# Recording index -> split. FSDD's README defines the test set (0-4); the validation carve is ours.
FSDD_SPLIT_INDICES = {"test": range(0, 5), "val": range(5, 10), "train": range(10, 50)}

OFFLINE_HINT = "the offline audio-visual digits of the course (mmlearn.data.av_digits.av_digits)"

_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")
_SPLITS = ("train", "val", "test")


def _check_split(split: str) -> str:
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {list(_SPLITS)}, got {split!r}")
    return split


def _root(root) -> Path:
    return Path(root).expanduser() if root is not None else default_data_dir()


def fsdd_recordings(
    root: str | Path | None = None,
    *,
    download: bool = False,
    url: str = FSDD_URL,
    sha256: str | None = FSDD_SHA256,
) -> Path:
    """The folder of FSDD wav files under ``root/fsdd``, fetching and unpacking the archive if asked.

    With ``download=False`` an archive already in ``root/fsdd`` is verified and
    unpacked; with ``download=True`` it is downloaded first if missing or wrong.
    ``sha256=None`` skips verification (not recommended).
    """
    folder = _root(root) / "fsdd"
    recordings = folder / FSDD_FOLDER / "recordings"
    if recordings.is_dir():
        return recordings
    archive = folder / FSDD_ARCHIVE
    if download:
        download_file(url, archive, sha256, offline_hint=OFFLINE_HINT)
    elif archive.is_file():
        if sha256 is not None:
            verify_sha256(archive, sha256)
    else:
        raise FileNotFoundError(
            f"the Free Spoken Digit Dataset is not in {folder}. Pass download=True on a machine with "
            f"internet (it fetches {url}), or use {OFFLINE_HINT}, which needs no download."
        )
    # Unpack into a staging folder and move the result into place in one step, so an
    # interrupted extraction never leaves a half-filled recordings folder behind.
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".extract-"))
    try:
        safe_extract(archive, staging)
        if not (staging / FSDD_FOLDER / "recordings").is_dir():
            raise FileNotFoundError(f"{archive.name} did not contain {FSDD_FOLDER}/recordings/")
        shutil.rmtree(folder / FSDD_FOLDER, ignore_errors=True)  # a broken earlier copy, if any
        os.replace(staging / FSDD_FOLDER, folder / FSDD_FOLDER)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return recordings


def _read_wavs(paths: list[Path], n_samples: int) -> np.ndarray:
    """Read 8 kHz wav files into one array, zero-padded or cut to ``n_samples``: (R, n_samples) float32."""
    import soundfile

    waves = np.zeros((len(paths), n_samples), dtype=np.float32)
    for i, path in enumerate(paths):
        wave, rate = soundfile.read(path, dtype="float32")
        if rate != FSDD_SAMPLE_RATE:
            raise ValueError(
                f"{path.name} is sampled at {rate} Hz; FSDD recordings are {FSDD_SAMPLE_RATE} Hz"
            )
        if wave.ndim == 2:  # stereo file: average the channels
            wave = wave.mean(axis=1)
        length = min(len(wave), n_samples)
        waves[i, :length] = wave[:length]
    return waves


def load_fsdd(
    root: str | Path | None = None,
    split: str = "train",
    *,
    download: bool = False,
    n_mfcc: int = 20,
    seconds: float = 0.7,
    url: str = FSDD_URL,
    sha256: str | None = FSDD_SHA256,
) -> MultimodalDataset:
    """Spoken digits alone: modality ``"audio"`` = MFCCs (N, n_mfcc, frames), labels = digits (N,).

    Recordings are cut or zero-padded to ``seconds`` (0.7 s gives the 44
    frames of the offline clips) before ``audio_features.mfcc``. ``split``
    picks recordings by index (``FSDD_SPLIT_INDICES``). ``info`` holds each
    recording's ``speaker`` and ``file`` name.
    """
    from mmlearn.data.audio_features import mfcc

    _check_split(split)
    check_positive_int(n_mfcc, "n_mfcc")
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    recordings = fsdd_recordings(root, download=download, url=url, sha256=sha256)

    paths, digits, speakers = [], [], []
    for path in sorted(recordings.glob("*.wav")):
        match = _FSDD_NAME.match(path.name)
        if match is None:
            raise ValueError(
                f"{path.name} does not follow FSDD's '{{digit}}_{{speaker}}_{{index}}.wav' naming"
            )
        if int(match[3]) in FSDD_SPLIT_INDICES[split]:
            paths.append(path)
            digits.append(int(match[1]))
            speakers.append(match[2])
    if not paths:
        raise FileNotFoundError(f"no FSDD recordings of the {split} split in {recordings}")

    waves = _read_wavs(paths, round(seconds * FSDD_SAMPLE_RATE))  # (R, T)
    audio = mfcc(waves, FSDD_SAMPLE_RATE, n_mfcc=n_mfcc)  # (R, n_mfcc, frames)
    labels = torch.tensor(digits, dtype=torch.long)
    return MultimodalDataset({"audio": audio}, labels, {"speaker": speakers, "file": [p.name for p in paths]})


def _load_mnist(root: Path, train: bool, download: bool):
    from torchvision.datasets import MNIST

    try:
        return MNIST(str(root), train=train, download=download)
    except RuntimeError as e:
        if not download:
            raise FileNotFoundError(
                f"MNIST is not in {root / 'MNIST' / 'raw'}. Pass download=True on a machine with internet "
                f"(torchvision downloads and checks it), or use {OFFLINE_HINT}, which needs no download."
            ) from e
        if "urlopen error" in str(e):  # torchvision gathers each mirror's URLError into one message
            raise OfflineError(
                f"torchvision could not reach any MNIST mirror. This machine seems to be offline. "
                f"Use {OFFLINE_HINT} instead: it needs no download."
            ) from e
        raise RuntimeError(f"torchvision could not download MNIST into {root}: {e}") from e


def _pair_by_label(image_labels: np.ndarray, clip_labels: np.ndarray, split: str, rng) -> np.ndarray:
    """For each image label, the index of a random clip with the same label: (N,) -> (N,)."""
    choice = np.empty(len(image_labels), dtype=np.int64)
    for digit in np.unique(image_labels):
        where = np.flatnonzero(image_labels == digit)
        candidates = np.flatnonzero(clip_labels == digit)
        if len(candidates) == 0:
            raise ValueError(f"FSDD's {split} split has no recording of digit {digit}")
        choice[where] = candidates[rng.integers(0, len(candidates), size=len(where))]
    return choice


def _size(n, name: str, available: int, what: str) -> int:
    if n is None:
        return available
    check_positive_int(n, name)
    if n > available:
        raise ValueError(f"{name}={n} but {what} has only {available} images")
    return n


def load_av_mnist(
    root: str | Path | None = None,
    *,
    n_train: int | None = None,
    n_val: int = 5000,
    n_test: int | None = None,
    seed: int = 0,
    download: bool = False,
    n_mfcc: int = 20,
    seconds: float = 0.7,
    normalize: bool = True,
    fsdd_url: str = FSDD_URL,
    fsdd_sha256: str | None = FSDD_SHA256,
):
    """MNIST images paired by label with FSDD recordings: ``train, val, test = load_av_mnist(...)``.

    The same ``AVDigits`` triple as the offline ``av_digits``: modalities
    ``"image"`` (N, 1, 28, 28) float in [0, 1] and ``"audio"`` MFCCs
    (N, n_mfcc, 44 for 0.7 s); labels (N,) digits. ``info``: ``image_id``
    (row in MNIST's train or test file), ``speaker`` and ``file`` per pair.

    ``n_val`` images are drawn from MNIST's training set for validation;
    ``n_train`` (default: all the rest, 55,000) and ``n_test`` (default: all
    10,000) may take fewer. Each image gets a random recording of its digit
    from its split's recordings; ``seed`` fixes every choice. ``normalize``
    standardises each MFCC band with the training split's mean and std.
    Files live under ``root`` (default ``$MMLEARN_DATA`` or ``~/.cache/mmlearn``).
    """
    from mmlearn.data.av_digits import AVDigits

    root = _root(root)
    mnist_train = _load_mnist(root, train=True, download=download)
    mnist_test = _load_mnist(root, train=False, download=download)
    n_val = _size(
        n_val, "n_val", len(mnist_train.targets) - 1, "MNIST's training set (less one for training)"
    )
    n_train = _size(
        n_train, "n_train", len(mnist_train.targets) - n_val, "MNIST's training set after validation"
    )
    n_test = _size(n_test, "n_test", len(mnist_test.targets), "MNIST's test set")
    fsdd = {
        "download": download,
        "n_mfcc": n_mfcc,
        "seconds": seconds,
        "url": fsdd_url,
        "sha256": fsdd_sha256,
    }
    speech = {split: load_fsdd(root, split, **fsdd) for split in _SPLITS}

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(mnist_train.targets))
    image_ids = {
        "val": np.sort(order[:n_val]),
        "train": np.sort(order[n_val : n_val + n_train]),
        "test": np.sort(rng.permutation(len(mnist_test.targets))[:n_test]),
    }
    parts = {}
    for split in _SPLITS:
        mnist = mnist_test if split == "test" else mnist_train
        ids = torch.from_numpy(image_ids[split])
        labels = mnist.targets[ids].long()  # (N,)
        clips = speech[split]
        choice = _pair_by_label(labels.numpy(), clips.labels.numpy(), split, rng)
        images = mnist.data[ids].unsqueeze(1).float() / 255.0  # (N, 1, 28, 28)
        audio = clips.modalities["audio"][torch.from_numpy(choice)]  # (N, n_mfcc, frames)
        info = {
            "image_id": ids,
            "speaker": [clips.info["speaker"][i] for i in choice],
            "file": [clips.info["file"][i] for i in choice],
        }
        parts[split] = (images, audio, labels, info)

    if normalize:  # per MFCC band, with training statistics only
        train_audio = parts["train"][1]
        mean = train_audio.mean(dim=(0, 2), keepdim=True)  # (1, n_mfcc, 1)
        std = train_audio.std(dim=(0, 2), keepdim=True).clamp_min(1e-6)
        parts = {k: (img, (audio - mean) / std, y, info) for k, (img, audio, y, info) in parts.items()}
    return AVDigits(
        *[
            MultimodalDataset({"image": img, "audio": audio}, y, info)
            for img, audio, y, info in parts.values()
        ]
    )
