"""Corruption controls: level semantics, determinism, shapes, no mutation, errors."""

import pytest
import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.corruption import (
    KINDS,
    NOISE_AT_FULL,
    corrupt,
    corrupt_dataset,
    drop,
    gaussian_noise,
    occlude,
    remove_modality,
)

SHAPES = {"image": (6, 1, 8, 8), "waveform": (6, 400), "features": (6, 13, 44)}


def sample(shape, seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) + 0.5  # no zeros: masks show


@pytest.fixture
def inputs():
    return {"image": sample((6, 1, 8, 8)), "audio": sample((6, 13, 44), seed=1)}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("kind", KINDS)
def test_level_zero_is_identity_and_shape_is_kept(shape, kind):
    x = sample(shape)
    for level in (0.0, 0.3, 1.0):
        out = corrupt({"m": x}, "m", kind, level, seed=3)["m"]
        assert out.shape == x.shape and out.dtype == x.dtype
        if level == 0.0:
            torch.testing.assert_close(out, x, rtol=0, atol=0)
        else:
            assert not torch.equal(out, x)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_per_seed(shape, kind):
    x = sample(shape)
    a = corrupt({"m": x}, "m", kind, 0.5, seed=7)["m"]
    b = corrupt({"m": x}, "m", kind, 0.5, seed=7)["m"]
    c = corrupt({"m": x}, "m", kind, 0.5, seed=8)["m"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)


def test_noise_std_follows_the_documented_schedule():
    x = torch.randn(20, 4000, generator=torch.Generator().manual_seed(0))
    for level in (0.1, 0.5, 1.0):
        added = gaussian_noise(x, level, seed=1) - x
        ratio = (added.std(dim=1) / x.std(dim=1)).mean().item()
        assert ratio == pytest.approx(NOISE_AT_FULL * level**2, rel=0.03)


def test_full_noise_destroys_the_signal():
    """At level 1 a clean template barely correlates with the noisy sample any more."""
    x = torch.randn(50, 4000, generator=torch.Generator().manual_seed(0))
    noisy = gaussian_noise(x, 1.0, seed=2)
    corr = torch.nn.functional.cosine_similarity(noisy - noisy.mean(1, keepdim=True), x, dim=1)
    assert corr.abs().max() < 0.15


@pytest.mark.parametrize("level", [0.1, 0.25, 0.5, 0.75, 1.0])
def test_occlusion_covers_about_level_of_each_sample(level):
    for name, shape in SHAPES.items():
        x = sample(shape)
        covered = (occlude(x, level, seed=0) == 0).flatten(1).float().mean(dim=1)  # (N,)
        tolerance = 0.04 if name == "image" else 0.01  # an 8x8 patch cannot hit every fraction
        assert torch.allclose(covered, torch.full_like(covered, level), atol=tolerance), name


def test_occlusion_is_one_contiguous_block():
    x = sample((5, 1, 8, 8))
    mask = occlude(x, 0.3, seed=4)[:, 0] == 0  # (N, H, W)
    for m in mask:
        rows, cols = m.any(dim=1).nonzero().flatten(), m.any(dim=0).nonzero().flatten()
        assert m.sum() == len(rows) * len(cols)  # a full rectangle
        assert rows.max() - rows.min() + 1 == len(rows) and cols.max() - cols.min() + 1 == len(cols)
    # feature maps lose whole frames (every coefficient of a time step)
    feats = occlude(sample((4, 13, 44)), 0.5, seed=0) == 0  # (N, F, T)
    assert torch.equal(feats.all(dim=1), feats.any(dim=1))
    assert (feats.all(dim=1).sum(dim=1) == 22).all()


def test_drop_zeroes_the_given_fraction_of_samples():
    x = sample((10, 13, 44))
    for level, expected in [(0.0, 0), (0.3, 3), (0.5, 5), (1.0, 10)]:
        out = drop(x, level, seed=1)
        zeroed = (out == 0).flatten(1).all(dim=1)
        kept = (out == x).flatten(1).all(dim=1)
        assert zeroed.sum() == expected and (zeroed | kept).all()


def test_corrupt_touches_only_the_named_modality_and_never_mutates(inputs):
    before = {k: v.clone() for k, v in inputs.items()}
    out = corrupt(inputs, "audio", "noise", 0.8, seed=0)
    assert out is not inputs and set(out) == set(inputs)
    assert out["image"] is inputs["image"]
    assert not torch.equal(out["audio"], inputs["audio"])
    for k in inputs:
        assert torch.equal(inputs[k], before[k])


def test_corrupt_dataset_keeps_labels_and_info(inputs):
    ds = MultimodalDataset(inputs, torch.arange(6), {"id": torch.arange(6) * 10})
    out = corrupt_dataset(ds, "image", "drop", 1.0, seed=0)
    assert (out.modalities["image"] == 0).all()
    assert torch.equal(out.modalities["audio"], ds.modalities["audio"])
    assert torch.equal(out.labels, ds.labels) and torch.equal(out.info["id"], ds.info["id"])
    assert not (ds.modalities["image"] == 0).any()


def test_remove_modality(inputs):
    out = remove_modality(inputs, "image")
    assert set(out) == {"audio"} and set(inputs) == {"image", "audio"}


@pytest.mark.parametrize("level", [-0.1, 1.01, float("nan")])
def test_levels_outside_unit_interval_raise(inputs, level):
    with pytest.raises(ValueError, match="between 0 and 1"):
        corrupt(inputs, "image", "noise", level)


def test_bad_arguments_raise(inputs):
    with pytest.raises(KeyError, match=r"'video'.*\['audio', 'image'\]"):
        corrupt(inputs, "video", "noise", 0.5)
    with pytest.raises(KeyError, match="video"):
        remove_modality(inputs, "video")
    with pytest.raises(ValueError, match="unknown corruption kind 'blur'"):
        corrupt(inputs, "image", "blur", 0.5)
    with pytest.raises(TypeError, match="seed"):
        corrupt(inputs, "image", "noise", 0.5, seed=1.5)
    with pytest.raises(TypeError, match="dict"):
        corrupt([inputs["image"]], "image", "noise", 0.5)
    with pytest.raises(ValueError, match="dimensions|shape"):
        gaussian_noise(torch.rand(5), 0.5)
    with pytest.raises(TypeError, match="float"):
        occlude(torch.ones(2, 10, dtype=torch.long), 0.5)
    with pytest.raises(ValueError, match="NaN"):
        drop(torch.tensor([[float("nan"), 1.0]]), 0.5)
    with pytest.raises(TypeError, match="MultimodalDataset"):
        corrupt_dataset(inputs, "image", "noise", 0.5)
