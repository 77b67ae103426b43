"""Log-mel spectrograms and MFCCs for batches of short 8 kHz clips.

Taught in lesson 01 (section 3, "Audio"); the audio of lessons 02, 05 and 08 goes through it.

Why this module exists: a network learns faster from a time-frequency picture
of speech than from raw samples. librosa computes the features; this module
fixes parameters that suit 0.7 s clips at 8 kHz, works on a whole batch in one
call, and makes each clip's features independent of the rest of the batch
(librosa's default decibel scaling is relative to the loudest value in the
whole array, which would let one loud clip change every other clip's features).

Defaults at 8 kHz: a 32 ms Hann window (``n_fft=256``) moved by half its
length (``hop_length=128``, 16 ms), 40 mel bands from 0 to 4 kHz (the Nyquist
frequency) and the classic 13 MFCCs. A 5,600-sample (0.7 s) clip gives
1 + 5600 // 128 = 44 frames.

The steps inside librosa are also written out here, in torch, as the
references of lesson 01's exercises 01.1 and 01.2: ``power_spectrogram``
(centred Hann-windowed frames, ``|rfft|^2``) and ``mel_filterbank`` (Slaney's
mel scale and area-normalised triangles, librosa's default). The tests check
them against librosa; ``log_mel`` and ``mfcc`` keep calling librosa.
"""

from __future__ import annotations

import librosa
import numpy as np
import torch
import torch.nn.functional as F

from mmlearn.validation import check_positive_int, check_tensor

SAMPLE_RATE = 8000
N_FFT = 256  # 32 ms analysis window
HOP_LENGTH = 128  # 16 ms between frames (half a window)
N_MELS = 40
N_MFCC = 13
AMIN = 1e-5  # power floor: digital silence maps to -50 dB instead of -inf


def _as_batch(waveforms, n_fft: int, name: str = "waveforms") -> np.ndarray:
    """(N, T) float32 numpy array from a tensor or array, with clear errors; each clip holds a window."""
    if isinstance(waveforms, torch.Tensor):
        waveforms = waveforms.detach().cpu().numpy()
    if not isinstance(waveforms, np.ndarray):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(waveforms).__name__}")
    if waveforms.ndim != 2:
        raise ValueError(f"{name} must have shape (N, T) (a batch of mono clips), got {waveforms.shape}")
    if waveforms.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {waveforms.shape})")
    if waveforms.shape[1] < n_fft:
        raise ValueError(
            f"{name} clips are too short ({waveforms.shape[1]} samples) for a spectrogram window of "
            f"n_fft={n_fft} samples"
        )
    if not np.issubdtype(waveforms.dtype, np.floating):
        raise TypeError(f"{name} must hold floats in [-1, 1], got dtype {waveforms.dtype}")
    if not np.isfinite(waveforms).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return waveforms.astype(np.float32, copy=False)


def _check_params(sample_rate: int, n_fft: int, hop_length: int, n_mels: int) -> None:
    params = {"sample_rate": sample_rate, "n_fft": n_fft, "hop_length": hop_length, "n_mels": n_mels}
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def n_frames(n_samples: int, hop_length: int = HOP_LENGTH) -> int:
    """Frames a centred STFT gives for a clip of ``n_samples``."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 0:
        raise ValueError(f"n_samples must be a whole number of samples >= 0, got {n_samples!r}")
    return 1 + n_samples // check_positive_int(hop_length, "hop_length")


def log_mel(
    waveforms,
    sample_rate: int = SAMPLE_RATE,
    *,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
    n_mels: int = N_MELS,
) -> torch.Tensor:
    """Log-mel spectrogram in dB, (N, T) -> (N, n_mels, frames) float32 tensor.

    Power mel spectrogram (librosa.feature.melspectrogram), then
    ``10 * log10(max(power, 1e-5))``: an absolute scale, so features of one clip
    do not depend on the other clips in the batch.
    """
    _check_params(sample_rate, n_fft, hop_length, n_mels)
    y = _as_batch(waveforms, n_fft)
    mel = librosa.feature.melspectrogram(
        y=y, sr=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=0.0, fmax=sample_rate / 2
    )  # (N, n_mels, frames), vectorised over the batch
    db = librosa.power_to_db(mel, ref=1.0, amin=AMIN, top_db=None)
    return torch.from_numpy(np.ascontiguousarray(db, dtype=np.float32))


def mfcc(
    waveforms,
    sample_rate: int = SAMPLE_RATE,
    *,
    n_mfcc: int = N_MFCC,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
    n_mels: int = N_MELS,
) -> torch.Tensor:
    """MFCCs, (N, T) -> (N, n_mfcc, frames) float32 tensor.

    The discrete cosine transform (librosa.feature.mfcc) of :func:`log_mel`:
    coefficient 0 tracks loudness, the next ones the shape of the spectral
    envelope (which vowel, which consonant).
    """
    _check_params(sample_rate, n_fft, hop_length, n_mels)
    if isinstance(n_mfcc, bool) or not isinstance(n_mfcc, int | np.integer) or not 0 < n_mfcc <= n_mels:
        raise ValueError(f"n_mfcc must be an integer in 1..n_mels={n_mels}, got {n_mfcc!r}")
    db = log_mel(waveforms, sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels).numpy()
    coeffs = librosa.feature.mfcc(S=db, n_mfcc=n_mfcc)  # (N, n_mfcc, frames)
    return torch.from_numpy(np.ascontiguousarray(coeffs, dtype=np.float32))


# --- the same steps written out (lesson 01, exercises 01.1 and 01.2) --------------------------------------


def power_spectrogram(
    waveforms: torch.Tensor, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH
) -> torch.Tensor:
    """Power ``|X[m, k]|^2`` of centred frames, (B, T) -> (B, n_fft // 2 + 1, 1 + T // hop_length).

    As librosa's ``stft`` with its defaults (``center=True``, zero padding, a
    periodic Hann window): pad ``n_fft // 2`` zeros at both ends, so frame ``m``
    is centred on sample ``m * hop_length``; cut frames of ``n_fft`` samples
    every ``hop_length``; window; real FFT; squared magnitude. The reference of
    exercise 01.1.
    """
    if not isinstance(waveforms, torch.Tensor):
        raise TypeError(f"waveforms must be a torch.Tensor, got {type(waveforms).__name__}")
    if waveforms.dim() != 2:
        shape = tuple(waveforms.shape)
        raise ValueError(f"waveforms must have shape (B, T) (a batch of mono clips), got {shape}")
    if not waveforms.is_floating_point():
        raise TypeError(f"waveforms must hold floats, got dtype {waveforms.dtype}")
    check_tensor(waveforms, "waveforms")  # no empty batch, no NaN or infinity
    if waveforms.shape[1] == 0:
        raise ValueError(f"waveforms has clips of 0 samples (shape {tuple(waveforms.shape)})")
    n_fft = check_positive_int(n_fft, "n_fft")
    hop_length = check_positive_int(hop_length, "hop_length")
    half = n_fft // 2
    padded = F.pad(waveforms, (half, half))  # (B, T + 2 * half): zeros at both ends
    frames = padded.unfold(1, n_fft, hop_length)  # (B, frames, n_fft), frame m centred on sample m * hop
    window = torch.hann_window(n_fft, periodic=True, dtype=waveforms.dtype, device=waveforms.device)
    spectrum = torch.fft.rfft(frames * window, dim=-1)  # (B, frames, n_fft // 2 + 1) complex
    return spectrum.abs().pow(2).transpose(1, 2)  # (B, n_fft // 2 + 1, frames)


def mel_filterbank(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> torch.Tensor:
    """Slaney's mel filterbank from 0 Hz to the Nyquist frequency, an (n_mels, n_fft // 2 + 1) float32 tensor.

    Band ``b`` is a triangle over the FFT bin frequencies ``k * sample_rate / n_fft``
    that rises from edge ``f_b`` to 1 at ``f_{b+1}`` and falls to 0 at
    ``f_{b+2}``, where the ``n_mels + 2`` edges are equally spaced on the mel
    scale (Slaney's: linear below 1 kHz, logarithmic above; converted with
    librosa's ``hz_to_mel`` and ``mel_to_hz``); then it is scaled by
    ``2 / (f_{b+2} - f_b)`` so that every band has the same area. That is
    ``librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels,
    fmax=sample_rate / 2)`` (its defaults ``htk=False``, ``norm="slaney"``). The reference of exercise 01.2.
    """
    _check_params(sample_rate, n_fft, HOP_LENGTH, n_mels)
    top = librosa.hz_to_mel(sample_rate / 2)  # Slaney's scale (librosa's default, htk=False)
    edges = torch.from_numpy(librosa.mel_to_hz(np.linspace(0.0, top, n_mels + 2)))  # (n_mels + 2,) Hz
    freqs = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * sample_rate / n_fft  # (K,) bin frequencies
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (n_mels, 1) each
    rising = (freqs - lower) / (centre - lower)  # (n_mels, K)
    falling = (upper - freqs) / (upper - centre)  # (n_mels, K)
    triangles = torch.clamp(torch.minimum(rising, falling), min=0.0)  # (n_mels, K)
    return (triangles * 2.0 / (upper - lower)).float()  # equal area: scaled by 2 / width
