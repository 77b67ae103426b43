"""Log-mel and MFCC features: shapes, agreement with librosa, batch independence, errors."""

import librosa
import numpy as np
import pytest
import torch

from mmlearn.data.audio_features import HOP_LENGTH, N_MELS, N_MFCC, log_mel, mfcc, n_frames


@pytest.fixture(scope="module")
def waves():
    rng = np.random.default_rng(0)
    t = np.arange(5600) / 8000
    tones = np.stack([0.5 * np.sin(2 * np.pi * f * t) for f in (300, 1200, 2500)])
    return (tones + 0.01 * rng.standard_normal(tones.shape)).astype(np.float32)  # (3, 5600)


def test_shapes_and_types(waves):
    mel, coeffs = log_mel(waves), mfcc(waves)
    frames = n_frames(5600)
    assert frames == 1 + 5600 // HOP_LENGTH == 44
    assert mel.shape == (3, N_MELS, frames) and coeffs.shape == (3, N_MFCC, frames)
    assert mel.dtype == coeffs.dtype == torch.float32
    assert mfcc(waves, n_mfcc=20).shape == (3, 20, frames)
    assert log_mel(torch.from_numpy(waves), n_mels=64).shape == (3, 64, frames)


def test_matches_a_per_clip_librosa_reference(waves):
    """Batched result equals librosa run clip by clip with the same settings."""
    mel, coeffs = log_mel(waves).numpy(), mfcc(waves).numpy()
    for i, y in enumerate(waves):
        power = librosa.feature.melspectrogram(
            y=y, sr=8000, n_fft=256, hop_length=128, n_mels=40, fmin=0.0, fmax=4000.0
        )
        ref = 10 * np.log10(np.maximum(power, 1e-5))
        np.testing.assert_allclose(mel[i], ref, atol=1e-3)
        np.testing.assert_allclose(coeffs[i], librosa.feature.mfcc(S=ref, n_mfcc=13), atol=1e-2)


def test_tone_energy_lands_in_the_right_mel_band(waves):
    mel = log_mel(waves).mean(dim=2)  # (3, n_mels) average over time
    peaks = mel.argmax(dim=1)
    assert peaks[0] < peaks[1] < peaks[2]  # 300 Hz < 1200 Hz < 2500 Hz


def test_features_of_a_clip_do_not_depend_on_the_batch(waves):
    alone = mfcc(waves[:1])
    with_loud_neighbour = mfcc(np.concatenate([waves[:1], 0.99 * np.sign(waves[1:2])]))
    torch.testing.assert_close(alone[0], with_loud_neighbour[0])


def test_silence_hits_the_floor_not_minus_infinity():
    mel = log_mel(np.zeros((2, 800), dtype=np.float32))
    assert torch.isfinite(mel).all() and torch.allclose(mel, torch.full_like(mel, -50.0))


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.zeros(5600, dtype=np.float32), ValueError, "shape"),
        (np.zeros((0, 5600), dtype=np.float32), ValueError, "empty"),
        (np.zeros((2, 50), dtype=np.float32), ValueError, "too short"),
        (np.zeros((2, 5600), dtype=np.int16), TypeError, "floats"),
        ([[0.0] * 5600], TypeError, "numpy array"),
    ],
)
def test_bad_waveforms_raise(bad, error, match):
    with pytest.raises(error, match=match):
        mfcc(bad)


def test_nan_raises(waves):
    bad = waves.copy()
    bad[1, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        log_mel(bad)


def test_bad_parameters_raise(waves):
    with pytest.raises(ValueError, match="hop_length"):
        log_mel(waves, hop_length=0)
    with pytest.raises(ValueError, match="sample_rate"):
        log_mel(waves, sample_rate=8000.0)
    with pytest.raises(ValueError, match="n_mfcc"):
        mfcc(waves, n_mfcc=41)
