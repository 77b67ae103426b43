"""Spoken digits "zero" ... "nine", shipped inside the package.

Taught in lesson 01 (section 3, "Audio"); the spoken half of the digits of lessons 02, 05 and 08.

Why this module exists: the audio-visual lesson needs real-sounding speech
with no download. ``scripts/make_spoken_digits.py`` synthesised 880 clips
(88 espeak-ng speakers x 10 digits, 8 kHz, 0.7 s, 8-bit mu-law) into
``mmlearn/data/assets/spoken_digits.npz``; this module loads them, checks the
file's SHA-256 first, and decodes them to float waveforms. espeak-ng is not
needed here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np

from mmlearn.data.download import sha256_of
from mmlearn.validation import check_path

ASSET_PATH = Path(__file__).resolve().parent / "assets" / "spoken_digits.npz"
# Printed by scripts/make_spoken_digits.py; also in mmlearn/data/assets/README.md.
ASSET_SHA256 = "18287b45cb9c6e9fb67fa747236b6ed2967716c4ff4145858bff3a3a0c346295"
_KEYS = ("mulaw", "labels", "variant_ids", "speeds", "variant_voices", "variant_pitches", "sample_rate")


@dataclass(frozen=True)
class SpokenDigits:
    """The decoded asset. Arrays are read-only (they are cached and shared).

    waveforms:      (N, T) float32 in [-1, 1], T = 5,600 (0.7 s at 8 kHz)
    labels:         (N,) int64, the digit said, 0-9
    variant_ids:    (N,) int64, which speaker said it (0 .. n_variants-1)
    sample_rate:    8000
    variant_voices: (n_variants,) espeak-ng voice of each speaker, e.g. "en-us+f3"
    variant_pitches:(n_variants,) espeak-ng pitch (0-99) of each speaker
    speeds:         (N,) words per minute each clip was spoken at
    """

    waveforms: np.ndarray
    labels: np.ndarray
    variant_ids: np.ndarray
    sample_rate: int
    variant_voices: np.ndarray
    variant_pitches: np.ndarray
    speeds: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_variants(self) -> int:
        return len(self.variant_voices)


def load_spoken_digits(path: str | Path | None = None, *, sha256: str | None = ASSET_SHA256) -> SpokenDigits:
    """Load and decode the spoken-digit asset.

    ``path`` defaults to the shipped asset. The file's SHA-256 must equal
    ``sha256`` (pass ``sha256=None`` to skip the check, e.g. for a freshly
    regenerated asset). Raises FileNotFoundError if the file is missing and
    ValueError if it is corrupt or malformed, naming the file either way.
    """
    path = Path(ASSET_PATH if path is None else check_path(path)).resolve()
    if sha256 is not None and (not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256)):
        raise ValueError(f"sha256 must be 64 hexadecimal digits (or None to skip the check), got {sha256!r}")
    if not path.is_file():
        raise FileNotFoundError(
            f"spoken-digit asset not found: {path}. Reinstall mmlearn, or rebuild it with "
            "scripts/make_spoken_digits.py (needs espeak-ng)."
        )
    stat = path.stat()
    return _load_cached(str(path), stat.st_size, stat.st_mtime_ns, sha256 and sha256.lower())


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, size: int, mtime_ns: int, sha256: str | None) -> SpokenDigits:
    # size and mtime are in the cache key so that a changed file is read again.
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256:
            raise ValueError(
                f"spoken-digit asset {path} is corrupt: SHA-256 {actual} does not match the expected "
                f"{sha256}. Reinstall mmlearn or rebuild it with scripts/make_spoken_digits.py."
            )
    try:
        with np.load(path, allow_pickle=False) as npz:
            raw = {k: npz[k] for k in _KEYS if k in npz.files}
    except Exception as err:  # a damaged zip or .npy raises several different types
        raise ValueError(f"spoken-digit asset {path} cannot be read ({type(err).__name__}: {err})") from err
    missing = [k for k in _KEYS if k not in raw]
    if missing:
        raise ValueError(f"spoken-digit asset {path} lacks the arrays {missing}")

    codes = raw["mulaw"]
    if codes.ndim != 2 or codes.dtype != np.int8 or len(raw["labels"]) != len(codes):
        raise ValueError(f"spoken-digit asset {path} has malformed arrays: mulaw {codes.shape} {codes.dtype}")
    waveforms = librosa.mu_expand(codes.astype(np.float32), mu=255, quantize=True).astype(np.float32)
    arrays = {
        "waveforms": waveforms,  # (N, T)
        "labels": raw["labels"].astype(np.int64),
        "variant_ids": raw["variant_ids"].astype(np.int64),
        "variant_voices": raw["variant_voices"],
        "variant_pitches": raw["variant_pitches"].astype(np.int64),
        "speeds": raw["speeds"].astype(np.int64),
    }
    for a in arrays.values():
        a.setflags(write=False)
    return SpokenDigits(sample_rate=int(raw["sample_rate"]), **arrays)
