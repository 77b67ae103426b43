"""AV-MNIST style data from real recordings: MNIST images paired with spoken digits.

A real-data alternative to the audio-visual digits of lessons 02, 05 and 08; no lesson needs it.

The offline lesson pairs written digits with synthesised speech
(``mmlearn.data.av_digits``). This loader builds the same kind of dataset from
real data, in the spirit of AV-MNIST (Vielzeuf et al. 2018): each MNIST image
is paired, by label, with a random recording of that digit from the Free
Spoken Digit Dataset (FSDD, 8 kHz wav files named
``{digit}_{speaker}_{index}.wav``). Like every real-data loader it is
``load_av_mnist(root, split, *, download=False, ...)`` and returns one split
as a ``MultimodalDataset``, with the offline data's modalities and shapes.

- MNIST comes through ``torchvision.datasets.MNIST``, which downloads and
  checks its own files (MD5) into ``root/MNIST/raw``.
- FSDD comes as the archive of a tagged GitHub release, pinned by URL and
  SHA-256, downloaded with ``download_file`` (verified, atomic) and unpacked
  with ``safe_extract`` into ``root/fsdd``.

Splits never share a recording: FSDD's README makes recordings 0-4 of each
speaker and digit the test set; of the rest, this loader keeps 5-9 for
validation and 10-49 for training. MNIST's test images go to the test split;
MNIST has no validation split, so its training images are cut into train and
validation with the seed (the same cut whichever split is asked for).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from mmlearn.data.base import SPLITS, MultimodalDataset
from mmlearn.data.download import ChecksumError, OfflineError, download_file, safe_extract, verify_sha256
from mmlearn.data.real._common import check_split, data_root
from mmlearn.validation import check_positive_int, check_seed

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

DIGIT_CLASSES = tuple(str(d) for d in range(10))  # as the offline av_digits: classes[label] == str(label)

_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


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
    folder = data_root(root) / "fsdd"
    recordings = folder / FSDD_FOLDER / "recordings"
    if recordings.is_dir():
        return recordings
    archive = folder / FSDD_ARCHIVE
    if download:
        download_file(url, archive, sha256, offline_hint=OFFLINE_HINT)
    elif archive.is_file():
        try:
            if sha256 is not None:
                verify_sha256(archive, sha256)
        except ChecksumError as e:
            raise ChecksumError(
                f"{e}. {archive} is damaged or another version: delete it, or pass download=True "
                "to replace it with a fresh download."
            ) from e
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

    check_split(split)
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
    info = {"speaker": speakers, "file": [p.name for p in paths]}
    return MultimodalDataset({"audio": audio}, labels, info, classes=DIGIT_CLASSES)


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


def load_av_mnist(
    root: str | Path | None = None,
    split: str = "train",
    *,
    download: bool = False,
    n_val: int = 5000,
    max_images: int | None = None,
    seed: int = 0,
    n_mfcc: int = 20,
    seconds: float = 0.7,
    normalize: bool = True,
    fsdd_url: str = FSDD_URL,
    fsdd_sha256: str | None = FSDD_SHA256,
) -> MultimodalDataset:
    """MNIST images paired by label with FSDD recordings: one split as a ``MultimodalDataset``.

    The same modalities as the offline ``av_digits``: ``"image"``
    (N, 1, 28, 28) float in [0, 1] and ``"audio"`` MFCCs (N, n_mfcc, 44 for
    0.7 s); labels (N,) digits, ``classes`` "0" to "9". ``info``: ``image_id``
    (row in MNIST's train or test file), ``speaker`` and ``file`` per pair.

    MNIST has no validation split: ``val`` is ``n_val`` images drawn from
    MNIST's training file with ``seed``, and ``train`` is the rest (call both
    with the same ``seed`` and ``n_val``); ``test`` is MNIST's test file.
    ``max_images`` keeps the first images of the split. Each image gets a
    random recording of its digit from its split's recordings (see
    ``FSDD_SPLIT_INDICES``), drawn with ``seed``. ``normalize`` standardises
    each MFCC band with the mean and std of FSDD's training recordings.
    Files live under ``root`` (default ``$MMLEARN_DATA`` or ``~/.cache/mmlearn``).
    """
    check_split(split)
    check_positive_int(n_val, "n_val")
    if max_images is not None:
        check_positive_int(max_images, "max_images")
    seed = check_seed(seed)
    root = data_root(root)
    mnist = _load_mnist(root, train=split != "test", download=download)
    if split == "test":
        image_ids = np.arange(len(mnist.targets))
    else:
        available = len(mnist.targets) - 1  # at least one image must stay for training
        if n_val > available:
            raise ValueError(f"n_val={n_val} but MNIST's training set has only {available} images to spare")
        order = np.random.default_rng(seed).permutation(len(mnist.targets))  # the same cut for train and val
        image_ids = np.sort(order[:n_val] if split == "val" else order[n_val:])
    image_ids = torch.from_numpy(image_ids[:max_images])

    fsdd = dict(download=download, n_mfcc=n_mfcc, seconds=seconds, url=fsdd_url, sha256=fsdd_sha256)
    clips = load_fsdd(root, split, **fsdd)
    labels = mnist.targets[image_ids].long()  # (N,)
    rng = np.random.default_rng([seed, SPLITS.index(split)])  # each split's own draws
    choice = torch.from_numpy(_pair_by_label(labels.numpy(), clips.labels.numpy(), split, rng))
    images = mnist.data[image_ids].unsqueeze(1).float() / 255.0  # (N, 1, 28, 28)
    audio = clips.modalities["audio"][choice]  # (N, n_mfcc, frames)
    if normalize:  # per MFCC band, with statistics of the training recordings only
        pool = (clips if split == "train" else load_fsdd(root, "train", **fsdd)).modalities["audio"]
        mean = pool.mean(dim=(0, 2), keepdim=True)  # (1, n_mfcc, 1)
        std = pool.std(dim=(0, 2), keepdim=True).clamp_min(1e-6)
        audio = (audio - mean) / std
    info = {
        "image_id": image_ids,
        "speaker": [clips.info["speaker"][i] for i in choice.tolist()],
        "file": [clips.info["file"][i] for i in choice.tolist()],
    }
    return MultimodalDataset({"image": images, "audio": audio}, labels, info, classes=DIGIT_CLASSES)
