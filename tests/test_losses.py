"""Contrastive losses against open_clip and against slow, written-out formulations."""

import math

import pytest
import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss as OpenClipLoss
from open_clip.loss import SigLipLoss as OpenSigLipLoss

from mmlearn.losses import ClipLoss, NaiveCosineLoss, SigLipLoss, clip_loss, naive_cosine_loss, siglip_loss


def _features(n, d, seed, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen, dtype=dtype), torch.randn(n, d, generator=gen, dtype=dtype)


def _slow_clip_loss(image, text, scale):
    """Cross-entropy written out pair by pair with Python floats."""
    image = [[v / math.sqrt(sum(u * u for u in row)) for v in row] for row in image.tolist()]
    text = [[v / math.sqrt(sum(u * u for u in row)) for v in row] for row in text.tolist()]
    n = len(image)

    def dot(a, b):
        return sum(x * y for x, y in zip(a, b, strict=True))

    total = 0.0
    for i in range(n):
        row = [scale * dot(image[i], text[j]) for j in range(n)]  # image i against every text
        col = [scale * dot(image[j], text[i]) for j in range(n)]  # text i against every image
        total += -row[i] + math.log(sum(math.exp(v) for v in row))
        total += -col[i] + math.log(sum(math.exp(v) for v in col))
    return total / (2 * n)


def _slow_siglip_loss(image, text, scale, bias):
    image = F.normalize(image, dim=-1).tolist()
    text = F.normalize(text, dim=-1).tolist()
    n = len(image)
    total = 0.0
    for i in range(n):
        for j in range(n):
            label = 1.0 if i == j else -1.0
            logit = scale * sum(a * b for a, b in zip(image[i], text[j], strict=True)) + bias
            total += math.log(1 + math.exp(-label * logit))  # -log(sigmoid(label * logit))
    return total / n


@pytest.mark.parametrize(
    ("n", "d", "scale", "seed"), [(2, 3, 1.0, 0), (8, 16, 1 / 0.07, 1), (32, 64, 100.0, 2)]
)
def test_clip_loss_equals_open_clip(n, d, scale, seed):
    image, text = _features(n, d, seed)
    expected = OpenClipLoss()(F.normalize(image, dim=-1), F.normalize(text, dim=-1), torch.tensor(scale))
    assert torch.allclose(clip_loss(image, text, scale), expected, atol=1e-5)


@pytest.mark.parametrize(("n", "scale", "seed"), [(3, 2.0, 3), (6, 14.0, 4)])
def test_clip_loss_equals_written_out_formulation(n, scale, seed):
    image, text = _features(n, 5, seed, torch.float64)
    assert clip_loss(image, text, scale).item() == pytest.approx(
        _slow_clip_loss(image, text, scale), rel=1e-9
    )


def test_clip_loss_ignores_feature_norms_and_is_zero_for_perfect_pairs():
    image, text = _features(6, 8, 5)
    assert torch.allclose(clip_loss(3 * image, 0.5 * text, 10.0), clip_loss(image, text, 10.0), atol=1e-6)
    eye = torch.eye(4)
    assert clip_loss(eye, eye, 100.0).item() < 1e-6
    # Swapping the pairing makes the same features a bad match.
    assert clip_loss(eye, eye.flip(0), 100.0).item() > 50


def test_clip_loss_gradients():
    image, text = _features(5, 4, 6, torch.float64)
    image.requires_grad_(True)
    text.requires_grad_(True)
    scale = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(clip_loss, (image, text, scale))


def test_siglip_loss_equals_written_out_formulation_and_open_clip():
    image, text = _features(5, 6, 7, torch.float64)
    got = siglip_loss(image, text, 10.0, -10.0).item()
    assert got == pytest.approx(_slow_siglip_loss(image, text, 10.0, -10.0), rel=1e-9)
    expected = OpenSigLipLoss()(
        F.normalize(image, dim=-1), F.normalize(text, dim=-1), torch.tensor(10.0), torch.tensor(-10.0)
    )
    assert got == pytest.approx(expected.item(), rel=1e-9)


def test_siglip_loss_gradients():
    image, text = _features(4, 3, 8, torch.float64)
    image.requires_grad_(True)
    text.requires_grad_(True)
    scale = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(-2.0, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(siglip_loss, (image, text, scale, bias))


def test_clip_module_starts_at_clip_temperature_and_learns_it():
    loss = ClipLoss()
    assert loss.logit_scale.item() == pytest.approx(1 / 0.07, rel=1e-6)
    assert loss.temperature == pytest.approx(0.07, rel=1e-6)
    assert [p is loss.log_logit_scale for p in loss.parameters()] == [True]
    image, text = _features(8, 4, 9)
    value = loss(image, text)
    assert torch.allclose(value, clip_loss(image, text, 1 / 0.07), atol=1e-6)
    value.backward()
    assert loss.log_logit_scale.grad is not None and loss.log_logit_scale.grad.abs().item() > 0
    assert not ClipLoss(learnable=False).log_logit_scale.requires_grad


def test_clip_module_clamps_scale_at_100():
    loss = ClipLoss()
    with torch.no_grad():
        loss.log_logit_scale.fill_(math.log(1000.0))
    assert loss.logit_scale.item() == pytest.approx(100.0)
    image, text = _features(8, 4, 10)
    value = loss(image, text)
    assert torch.allclose(value, clip_loss(image, text, 100.0), atol=1e-6)
    value.backward()
    assert loss.log_logit_scale.grad.item() == 0.0  # above the cap the scale gets no gradient


def test_siglip_module_initial_values():
    loss = SigLipLoss()
    assert loss.logit_scale.item() == pytest.approx(10.0, rel=1e-6)
    assert loss.logit_bias.item() == -10.0
    image, text = _features(6, 4, 11)
    assert torch.allclose(loss(image, text), siglip_loss(image, text, 10.0, -10.0), atol=1e-6)
    assert len(list(loss.parameters())) == 2


def test_naive_loss_is_minimised_by_a_constant_embedding():
    image, text = _features(16, 8, 12)
    assert naive_cosine_loss(image, text).item() > 0.5
    constant = torch.ones(16, 8)
    # The collapsed embedding reaches the global minimum of the naive loss...
    assert naive_cosine_loss(constant, constant).item() == pytest.approx(0.0, abs=1e-6)
    # ...while the CLIP loss scores it like a random guess among the 16 partners.
    assert clip_loss(constant, constant, 1 / 0.07).item() == pytest.approx(math.log(16), rel=1e-5)
    module = NaiveCosineLoss()
    assert module(image, text).item() == naive_cosine_loss(image, text).item()
    assert list(module.parameters()) == []  # nothing to learn: no temperature


@pytest.mark.parametrize("fn", [lambda a, b: clip_loss(a, b, 1.0), lambda a, b: siglip_loss(a, b, 1.0, 0.0)])
def test_bad_inputs(fn):
    good = torch.randn(4, 3)
    with pytest.raises(ValueError, match="2 dimensions"):
        fn(torch.randn(4), torch.randn(4))
    with pytest.raises(ValueError, match="same shape"):
        fn(good, torch.randn(5, 3))
    with pytest.raises(ValueError, match="negatives"):
        fn(torch.randn(1, 3), torch.randn(1, 3))
    nan = good.clone()
    nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fn(nan, good)
    with pytest.raises(TypeError, match="torch.Tensor"):
        fn(good.numpy(), good)


def test_token_ids_are_refused():
    ids = torch.arange(6).reshape(3, 2)
    with pytest.raises(TypeError, match="floating point"):
        clip_loss(ids, ids, 1.0)


def test_bad_scales():
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    with pytest.raises(ValueError, match="positive"):
        clip_loss(a, b, 0.0)
    with pytest.raises(ValueError, match="finite"):
        clip_loss(a, b, float("inf"))
    with pytest.raises(ValueError, match="single number"):
        clip_loss(a, b, torch.ones(2))
    with pytest.raises(ValueError, match="positive"):
        ClipLoss(init_temperature=0.0)
    with pytest.raises(ValueError, match="positive"):
        SigLipLoss(init_scale=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        naive_cosine_loss(a, torch.randn(4, 2))
