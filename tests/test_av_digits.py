"""Audio-visual digits: disjoint source pools, label agreement, degradation, determinism, errors."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from mmlearn.data.av_digits import av_digits
from mmlearn.data.base import MultimodalDataset
from mmlearn.data.spoken_digits import load_spoken_digits

SMALL = {"n": 600, "fractions": (0.5, 1 / 6, 1 / 3)}  # 300 / 100 / 200 pairs


@pytest.fixture(scope="module")
def default_splits():
    return av_digits()


@pytest.fixture(scope="module")
def clean_splits():
    """No degradation, raw waveforms: every value can be checked against its source."""
    return av_digits(**SMALL, seed=3, image_energy=None, audio_snr_db=None, features="waveform")


def test_default_shapes_and_types(default_splits):
    train, val, test = default_splits
    for part, n in [(train, 2000), (val, 500), (test, 1000)]:
        assert isinstance(part, MultimodalDataset) and len(part) == n
        assert part.modalities["image"].shape == (n, 1, 8, 8)
        assert part.modalities["audio"].shape == (n, 13, 44)
        assert part.modalities["image"].dtype == part.modalities["audio"].dtype == torch.float32
        assert part.labels.dtype == torch.int64
        img = part.modalities["image"]
        assert img.min() >= 0 and img.max() <= 1
        assert set(part.info) == {"image_id", "clip_id", "variant_id"}
    assert default_splits.test is test


def test_labels_of_image_and_audio_agree(default_splits):
    digit_labels = load_digits().target
    speech = load_spoken_digits()
    for part in default_splits:
        y = part.labels.numpy()
        assert (digit_labels[part.info["image_id"].numpy()] == y).all()
        assert (speech.labels[part.info["clip_id"].numpy()] == y).all()
        assert (speech.variant_ids[part.info["clip_id"].numpy()] == part.info["variant_id"].numpy()).all()
        assert set(np.unique(y)) == set(range(10))


def test_source_pools_are_disjoint_between_splits(default_splits):
    for key in ("image_id", "clip_id", "variant_id"):
        train, val, test = (set(part.info[key].tolist()) for part in default_splits)
        assert not (train & val) and not (train & test) and not (val & test), key
    # about 60 / 20 / 20 of the 88 speakers, and every training image is used
    n_speakers = [len(set(part.info["variant_id"].tolist())) for part in default_splits]
    assert n_speakers == [53, 17, 18]
    assert len(set(default_splits.train.info["image_id"].tolist())) == pytest.approx(0.6 * 1797, abs=10)


def test_clean_modalities_equal_their_sources(clean_splits):
    images = load_digits().images / 16.0
    speech = load_spoken_digits()
    for part in clean_splits:
        np.testing.assert_allclose(
            part.modalities["image"][:, 0].numpy(), images[part.info["image_id"].numpy()]
        )
        np.testing.assert_array_equal(
            part.modalities["audio"][:, 0].numpy(), speech.waveforms[part.info["clip_id"].numpy()]
        )


def test_pca_energy_removal_matches_an_svd_reference():
    """Images keep only the top principal components of the training pool (AV-MNIST style)."""
    splits = av_digits(
        2100, fractions=(2000 / 2100, 50 / 2100, 50 / 2100), seed=1, audio_snr_db=None, image_energy=0.25
    )
    originals = load_digits().images.reshape(-1, 64) / 16.0
    pool = np.unique(splits.train.info["image_id"].numpy())  # 2000 pairs use every training image
    mean = originals[pool].mean(axis=0)
    _, s, vt = np.linalg.svd(originals[pool] - mean, full_matrices=False)
    k = int(np.argmax(np.cumsum(s**2) / np.sum(s**2) > 0.25)) + 1  # fewest components above 25 %
    assert k == 2
    for part in splits:
        x = originals[part.info["image_id"].numpy()]
        expected = np.clip((x - mean) @ vt[:k].T @ vt[:k] + mean, 0, 1)
        np.testing.assert_allclose(part.modalities["image"].flatten(1).numpy(), expected, atol=1e-4)


def test_audio_noise_has_the_requested_snr():
    splits = av_digits(**SMALL, audio_snr_db=-6.0, features="waveform")
    speech = load_spoken_digits()
    noisy = splits.train.modalities["audio"][:, 0].numpy()
    clean = speech.waveforms[splits.train.info["clip_id"].numpy()]
    noise_rms = np.sqrt(((noisy - clean) ** 2).mean(axis=1))
    clean_rms = np.sqrt((clean**2).mean(axis=1))
    snr = 20 * np.log10(clean_rms / noise_rms)
    assert snr.mean() == pytest.approx(-6.0, abs=0.05)
    # a fresh draw for every pair: two pairs sharing a clip get different noise
    ids = splits.train.info["clip_id"].numpy()
    dup = np.flatnonzero(ids == ids[np.argmax(np.bincount(ids))])
    assert len(dup) >= 2 and not np.allclose(noisy[dup[0]], noisy[dup[1]])


def test_image_noise_is_added_and_clipped():
    base = av_digits(**SMALL, image_energy=None, audio_snr_db=None)
    noisy = av_digits(**SMALL, image_energy=None, image_noise=0.3, audio_snr_db=None)
    assert torch.equal(base.train.info["image_id"], noisy.train.info["image_id"])
    diff = noisy.train.modalities["image"] - base.train.modalities["image"]
    assert 0.15 < diff.std() < 0.3  # clipping to [0, 1] removes part of the noise
    assert noisy.train.modalities["image"].min() >= 0 and noisy.train.modalities["image"].max() <= 1


def test_features_options_and_normalisation():
    mel = av_digits(**SMALL, features="logmel")
    assert mel.train.modalities["audio"].shape == (300, 40, 44)
    coeffs = av_digits(**SMALL, n_mfcc=20)
    raw = av_digits(**SMALL, n_mfcc=20, normalize=False)
    assert coeffs.train.modalities["audio"].shape == (300, 20, 44)
    # each coefficient standardised with the TRAINING split's mean and std, for every split
    train_raw = raw.train.modalities["audio"]
    mean, std = train_raw.mean(dim=(0, 2), keepdim=True), train_raw.std(dim=(0, 2), keepdim=True)
    for norm, unnorm in zip(coeffs, raw, strict=True):
        torch.testing.assert_close(norm.modalities["audio"], (unnorm.modalities["audio"] - mean) / std)
    assert abs(coeffs.test.modalities["audio"].mean()) < 0.3
    assert train_raw[:, 0].std() > 5  # unnormalised coefficient 0 is in dB-scaled units


def test_deterministic_per_seed_and_seeds_differ():
    a, b, c = (av_digits(**SMALL, seed=s) for s in (5, 5, 6))
    for x, y in zip(a, b, strict=True):
        for name in ("image", "audio"):
            assert torch.equal(x.modalities[name], y.modalities[name])
        assert torch.equal(x.labels, y.labels) and torch.equal(x.info["clip_id"], y.info["clip_id"])
    assert not torch.equal(a.test.info["image_id"], c.test.info["image_id"])
    assert set(a.test.info["variant_id"].tolist()) != set(c.test.info["variant_id"].tolist())


def test_degradation_makes_each_modality_weak_but_informative(default_splits):
    """Nearest-class-mean accuracy: far above chance (0.1) yet far from solved, per modality."""

    def nearest_mean_accuracy(name, train, test):
        x_train, x_test = train.modalities[name].flatten(1), test.modalities[name].flatten(1)
        means = torch.stack([x_train[train.labels == d].mean(0) for d in range(10)])
        return (torch.cdist(x_test, means).argmin(1) == test.labels).float().mean().item()

    train, _, test = default_splits
    for name in ("image", "audio"):
        assert 0.35 < nearest_mean_accuracy(name, train, test) < 0.8, name
    clean = av_digits(**SMALL, image_energy=None, audio_snr_db=None)
    assert nearest_mean_accuracy("image", clean.train, clean.test) > 0.85


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n": 0}, ValueError, "n must be a positive integer"),
        ({"n": 2.5}, ValueError, "n must be a positive integer"),
        ({"fractions": (0.5, 0.5)}, ValueError, "three parts"),
        ({"fractions": (0.5, 0.6, -0.1)}, ValueError, "fractions"),
        ({"fractions": "abc"}, TypeError, "fractions"),
        ({"seed": "0"}, TypeError, "seed"),
        ({"image_energy": 1.5}, ValueError, "image_energy"),
        ({"image_energy": 0.0}, ValueError, "image_energy"),
        ({"image_noise": -0.1}, ValueError, "image_noise"),
        ({"audio_snr_db": float("nan")}, ValueError, "audio_snr_db"),
        ({"features": "spectrogram"}, ValueError, "features"),
        ({"pool_fractions": (0.5, 0.5)}, ValueError, "pool_fractions"),
        ({"pool_fractions": (0.7, 0.2, 0.2)}, ValueError, "pool_fractions"),
        ({"pool_fractions": (0.994, 0.003, 0.003)}, ValueError, "pool"),
    ],
)
def test_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        av_digits(**{**SMALL, **kwargs})
