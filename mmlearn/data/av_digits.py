"""Audio-visual digits: handwritten digits paired with spoken ones.

Taught in lessons 02 and 05 (section 1 of each) and used again in lesson 08.
Why this module exists: those lessons need a task where neither modality alone is
enough, in the spirit of AV-MNIST (Vielzeuf et al. 2018), with no download.

- Images: real 8x8 handwriting from scikit-learn's digits set (1,797 images,
  pixel values 0-16, scaled here to [0, 1]). As in AV-MNIST, most of their
  PCA energy is removed: only the leading principal components up to
  ``image_energy`` of the cumulative variance are kept (0.25 keeps 2 of 64),
  and Gaussian pixel noise of std ``image_noise`` may be added on top.
- Audio: the shipped espeak-ng clips (:mod:`mmlearn.data.spoken_digits`),
  mixed with white Gaussian noise at ``audio_snr_db`` (relative to each
  clip's RMS over its 0.7 s window) BEFORE the features are computed, as a
  microphone would hear it; a fresh noise draw for every pair.

Honest evaluation needs unseen sources at test time. So the SOURCE images and
the SOURCE speakers are first split into disjoint train / val / test pools
(``pool_fractions``); only then are pairs formed, by label, inside each pool.
A test pair therefore shows a handwritten image and a voice that no training
pair contained. (scikit-learn's digits carry no writer ids, so "unseen
handwriting" means unseen images; the same writer may appear in two pools.)

With the defaults, one-hidden-layer MLPs trained for a few seconds on a CPU
reach about 0.64 (image only) and 0.67 (audio only) test accuracy, and
concatenation fusion about 0.77 (raw inputs concatenated) to 0.80 (one hidden
layer per modality, then concatenated), 11-13 points above the better single
modality: see ``benchmarks/bench_datasets_av.py --accuracy``. The image pixels
(in [0, 1], low contrast after PCA) carry far less variance than the
standardised MFCCs, so a model that concatenates raw inputs gains from
normalising each modality first.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from mmlearn.data.audio_features import log_mel, mfcc
from mmlearn.data.base import SPLITS, DatasetSplits, MultimodalDataset, split_sizes
from mmlearn.data.spoken_digits import load_spoken_digits
from mmlearn.validation import check_level, check_number, check_seed

FEATURES = ("mfcc", "logmel", "waveform")


AVDigits = DatasetSplits  # the three splits; unpack as ``train, val, test = av_digits()``
CLASSES = tuple(str(d) for d in range(10))


@functools.lru_cache(maxsize=1)
def _digit_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's handwritten digits: (1797, 8, 8) float32 in [0, 1] and (1797,) labels."""
    from sklearn.datasets import load_digits  # imported here: scikit-learn takes ~2 s to import

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _check_fractions(fractions) -> tuple[float, float, float]:
    """Three numbers in (0, 1) summing to 1; NaN fails ``0 < f`` instead of slipping through."""
    ok = not isinstance(fractions, str | bytes) and isinstance(fractions, Sequence) and len(fractions) == 3
    ok = ok and all(isinstance(f, int | float) and not isinstance(f, bool) and 0 < f < 1 for f in fractions)
    if not ok or not abs(sum(fractions) - 1.0) <= 1e-6:
        raise ValueError(f"pool_fractions must be three positive numbers summing to 1, got {fractions!r}")
    return tuple(float(f) for f in fractions)


def _split_pools(ids: np.ndarray, fractions, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle ``ids`` and cut them into three disjoint pools of the given fractions."""
    order = rng.permutation(ids)
    cuts = np.round(np.cumsum(fractions)[:2] * len(ids)).astype(int)
    return np.split(order, cuts)


def _stratified_pools(labels: np.ndarray, fractions, rng: np.random.Generator) -> list[np.ndarray]:
    """Indices into ``labels`` split per class, so every pool holds every digit in proportion."""
    parts = [[], [], []]
    for digit in range(10):
        for part, pool in zip(
            parts, _split_pools(np.flatnonzero(labels == digit), fractions, rng), strict=True
        ):
            part.append(pool)
    return [np.sort(np.concatenate(p)) for p in parts]


def _pair(
    image_pool: np.ndarray,
    image_labels: np.ndarray,
    clip_pool: np.ndarray,
    clip_labels: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (image id, clip id) pairs with equal labels, drawn inside the given pools.

    Images are used in turn (a shuffled pass through the pool, repeated), so
    each one appears about equally often; each gets a random clip of its digit.
    """
    passes = -(-n // len(image_pool))
    image_ids = np.concatenate([rng.permutation(image_pool) for _ in range(passes)])[:n]
    wanted = image_labels[image_ids]  # (n,) digit of each pair
    clips_by_label = clip_pool[np.argsort(clip_labels[clip_pool], kind="stable")]
    counts = np.bincount(clip_labels[clip_pool], minlength=10)  # clips of each digit in the pool
    if (counts == 0).any():
        raise ValueError(f"the clip pool lacks digits {np.flatnonzero(counts == 0).tolist()}")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = starts[wanted] + (rng.random(n) * counts[wanted]).astype(np.int64)
    return image_ids, clips_by_label[pick]


def _add_noise(waves: np.ndarray, snr_db: float | None, gen: torch.Generator) -> np.ndarray:
    """White Gaussian noise at ``snr_db`` relative to each clip's RMS: (n, T) -> (n, T)."""
    if snr_db is None:
        return waves
    rms = np.sqrt(np.mean(waves**2, axis=1, keepdims=True))  # (n, 1)
    noise = torch.randn(waves.shape, generator=gen).numpy()  # torch's sampler is the faster one
    return waves + noise * (rms * np.float32(10.0 ** (-snr_db / 20.0)))


def _build(sizes, seed, image_energy, image_noise, audio_snr_db, features, n_mfcc, normalize, fractions):
    """The work behind :func:`av_digits`, on checked arguments: a list of
    (image, audio, labels, info) tuples for train, val and test."""
    images, image_labels = _digit_images()
    speech = load_spoken_digits()
    pools_rng, *split_rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]

    # 1. Disjoint source pools: images stratified by digit, clips by speaker.
    image_pools = _stratified_pools(image_labels, fractions, pools_rng)
    speaker_pools = _split_pools(np.arange(speech.n_variants), fractions, pools_rng)
    clip_pools = [np.flatnonzero(np.isin(speech.variant_ids, s)) for s in speaker_pools]
    for split, ipool, spool in zip(SPLITS, image_pools, speaker_pools, strict=True):
        if len(ipool) == 0 or len(spool) == 0:
            raise ValueError(f"pool_fractions {fractions} leave the {split} pool without images or speakers")

    # 2. Degrade the images: PCA energy removal fitted on the training pool only.
    flat = images.reshape(len(images), -1)  # (1797, 64)
    if image_energy is not None and image_energy < 1.0:
        # A float n_components keeps the fewest components whose variance exceeds that fraction.
        from sklearn.decomposition import PCA

        pca = PCA(n_components=float(image_energy), svd_solver="full").fit(flat[image_pools[0]])
        flat = pca.inverse_transform(pca.transform(flat)).astype(np.float32)

    # 3. Pair by label inside each pool, then add the per-pair noise.
    parts = []
    for n, rng, ipool, cpool in zip(sizes, split_rngs, image_pools, clip_pools, strict=True):
        image_ids, clip_ids = _pair(ipool, image_labels, cpool, speech.labels, n, rng)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        img = flat[image_ids]  # (n, 64)
        if image_noise > 0:
            img = img + torch.randn(img.shape, generator=gen).numpy() * np.float32(image_noise)
        img = np.clip(img, 0.0, 1.0).reshape(n, 1, 8, 8)
        waves = _add_noise(speech.waveforms[clip_ids], audio_snr_db, gen)  # (n, 5600)
        if features == "mfcc":
            audio = mfcc(waves, speech.sample_rate, n_mfcc=n_mfcc)  # (n, n_mfcc, frames)
        elif features == "logmel":
            audio = log_mel(waves, speech.sample_rate)  # (n, n_mels, frames)
        else:
            audio = torch.from_numpy(np.ascontiguousarray(waves[:, None, :]))  # (n, 1, T)
        info = {
            "image_id": torch.from_numpy(image_ids.astype(np.int64)),
            "clip_id": torch.from_numpy(clip_ids.astype(np.int64)),
            "variant_id": torch.from_numpy(speech.variant_ids[clip_ids].copy()),
        }
        parts.append((torch.from_numpy(img), audio, torch.from_numpy(image_labels[image_ids].copy()), info))

    # 4. Standardise each feature band with training statistics only.
    if normalize and features != "waveform":
        train_audio = parts[0][1]
        mean = train_audio.mean(dim=(0, 2), keepdim=True)  # (1, n_feat, 1)
        std = train_audio.std(dim=(0, 2), keepdim=True).clamp_min(1e-6)
        parts = [(img, (audio - mean) / std, y, info) for img, audio, y, info in parts]

    return parts


def av_digits(
    n: int = 3500,
    *,
    seed: int = 0,
    fractions=(4 / 7, 1 / 7, 2 / 7),
    image_energy: float | None = 0.25,
    image_noise: float = 0.0,
    audio_snr_db: float | None = -13.0,
    features: str = "mfcc",
    n_mfcc: int = 13,
    normalize: bool = True,
    pool_fractions=(0.6, 0.2, 0.2),
) -> AVDigits:
    """``n`` (written, spoken) digit pairs as train / val / test ``MultimodalDataset`` s.

    ``fractions`` cut ``n`` into the three splits (the default: 2000 / 500 /
    1000 pairs). The splits draw from disjoint pools of handwritten images and
    speakers, so they are made together rather than cut from one dataset.

    Modalities:
      "image": (N, 1, 8, 8) float32 in [0, 1]
      "audio": (N, n_mfcc, 44) MFCC (``features="mfcc"``), (N, 40, 44) log-mel
               (``"logmel"``) or (N, 1, 5600) raw 8 kHz waveform (``"waveform"``)
    labels: (N,) int64 digits. info: "image_id" (row of sklearn's digits),
    "clip_id" (row of the spoken-digit asset) and "variant_id" (speaker).

    image_energy: keep the leading PCA components up to this fraction of the
      variance (fitted on the training image pool); None keeps the images whole.
    image_noise: std of Gaussian pixel noise added after that; images are then
      clipped to [0, 1].
    audio_snr_db: signal-to-noise ratio of the white noise mixed into each clip
      (lower is noisier); None leaves the speech clean.
    normalize: standardise each MFCC / mel band with the training split's mean
      and std (not applied to waveforms).
    pool_fractions: how the source images and speakers are split between the
      train / val / test pools before pairing.
    """
    sizes = split_sizes(n, fractions)
    if len(sizes) != 3:
        raise ValueError(f"fractions must give three parts (train, val, test), got {list(fractions)}")
    check_seed(seed)
    if image_energy is not None and not 0.0 < check_level(image_energy, "image_energy"):
        raise ValueError(f"image_energy must be in (0, 1] or None, got {image_energy}")
    image_noise = check_number(image_noise, "image_noise", minimum=0.0)
    if audio_snr_db is not None:
        check_number(audio_snr_db, "audio_snr_db")
    if features not in FEATURES:
        raise ValueError(f"features must be one of {list(FEATURES)}, got {features!r}")
    fractions = _check_fractions(pool_fractions)

    # The matrices here are small: extra BLAS threads cost more than they save, and on a busy
    # 2-core machine they made the build 2-3x slower (see benchmarks/bench_datasets_av.py).
    with threadpool_limits(limits=1, user_api="blas"):
        parts = _build(
            sizes, seed, image_energy, image_noise, audio_snr_db, features, n_mfcc, normalize, fractions
        )
    datasets = [
        MultimodalDataset({"image": img, "audio": audio}, y, info, CLASSES) for img, audio, y, info in parts
    ]
    return DatasetSplits(*datasets)
