"""Tests of mmlearn.adversarial: FGSM / PGD on one modality and the transform wrapper."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.adversarial import AdversarialPerturbation, fgsm, pgd


class _Linear(nn.Module):
    """logits = W_a . audio + W_i . image: gradients known in closed form."""

    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.wa = nn.Parameter(torch.randn(6, 3, generator=gen))
        self.wi = nn.Parameter(torch.randn(4, 3, generator=gen))

    def forward(self, inputs):
        return inputs["audio"] @ self.wa + inputs["image"] @ self.wi  # (B, 3)


def _inputs(n=32):
    gen = torch.Generator().manual_seed(1)
    return {
        "audio": torch.randn(n, 6, generator=gen),
        "image": torch.randn(n, 4, generator=gen),
    }, torch.randint(0, 3, (n,), generator=gen)


def _loss(model, inputs, labels):
    with torch.no_grad():
        return F.cross_entropy(model(inputs), labels).item()


def test_fgsm_is_sign_of_gradient_on_one_modality():
    model, (inputs, labels) = _Linear(), _inputs()
    out = fgsm(model, inputs, labels, "audio", 0.1)
    assert model.wa.grad is None  # the model's own gradients are left alone
    x = inputs["audio"].clone().requires_grad_(True)
    F.cross_entropy(model({**inputs, "audio": x}), labels).backward()
    assert torch.allclose(out["audio"], inputs["audio"] + 0.1 * x.grad.sign())
    assert torch.equal(out["image"], inputs["image"])  # the other modality is untouched
    assert _loss(model, out, labels) > _loss(model, inputs, labels)
    assert not out["audio"].requires_grad


def test_pgd_stays_in_ball_and_beats_fgsm():
    model, (inputs, labels) = _Linear(), _inputs()
    eps = 0.3
    out = pgd(model, inputs, labels, "audio", eps, steps=10, seed=0)
    assert (out["audio"] - inputs["audio"]).abs().max() <= eps + 1e-6
    assert torch.equal(out["image"], inputs["image"])
    assert _loss(model, out, labels) >= _loss(model, fgsm(model, inputs, labels, "audio", eps), labels) - 1e-4
    again = pgd(model, inputs, labels, "audio", eps, steps=10, seed=0)
    assert torch.equal(out["audio"], again["audio"])  # deterministic per seed


def test_epsilon_zero_changes_nothing():
    model, (inputs, labels) = _Linear(), _inputs()
    assert torch.equal(fgsm(model, inputs, labels, "audio", 0.0)["audio"], inputs["audio"])
    assert torch.equal(pgd(model, inputs, labels, "audio", 0)["audio"], inputs["audio"])


def test_transform_fraction_and_method():
    model, (inputs, labels) = _Linear(), _inputs(20)
    half = AdversarialPerturbation(model, "audio", 0.2, fraction=0.5)(inputs, labels)
    changed = (half["audio"] != inputs["audio"]).any(dim=1)
    assert changed[:10].all() and not changed[10:].any()
    full = AdversarialPerturbation(model, "image", 0.2, method="pgd", steps=3)(inputs, labels)
    assert torch.equal(full["audio"], inputs["audio"])
    assert (full["image"] - inputs["image"]).abs().max() <= 0.2 + 1e-6


def test_bad_inputs():
    model, (inputs, labels) = _Linear(), _inputs()
    with pytest.raises(KeyError, match="text"):
        fgsm(model, inputs, labels, "text", 0.1)
    with pytest.raises(ValueError, match="epsilon"):
        fgsm(model, inputs, labels, "audio", -0.1)
    with pytest.raises(ValueError, match="labels"):
        fgsm(model, inputs, labels[:5], "audio", 0.1)
    with pytest.raises(TypeError, match="floats"):
        fgsm(model, {**inputs, "audio": torch.ones(32, 6, dtype=torch.long)}, labels, "audio", 0.1)
    with pytest.raises(ValueError, match="steps"):
        pgd(model, inputs, labels, "audio", 0.1, steps=0)
    with pytest.raises(ValueError, match="method"):
        AdversarialPerturbation(model, "audio", 0.1, method="cw")
    with pytest.raises(ValueError, match="fraction"):
        AdversarialPerturbation(model, "audio", 0.1, fraction=0)
    with pytest.raises(TypeError, match="nn.Module"):
        fgsm("model", inputs, labels, "audio", 0.1)


def test_transform_runs_an_attack_function():
    model, (inputs, labels) = _Linear(), _inputs(20)
    calls = []

    def my_pgd(model, inputs, labels, modality, epsilon, *, steps, seed):
        calls.append((modality, epsilon, steps, seed))
        return pgd(model, inputs, labels, modality, epsilon, steps=steps, seed=seed)

    mine = AdversarialPerturbation(model, "audio", 0.2, method=my_pgd, steps=3, seed=5)
    theirs = AdversarialPerturbation(model, "audio", 0.2, method="pgd", steps=3, seed=5)
    for _ in range(2):  # the seed moves on with every batch, for both
        assert torch.equal(mine(inputs, labels)["audio"], theirs(inputs, labels)["audio"])
    assert calls == [("audio", 0.2, 3, 5), ("audio", 0.2, 3, 6)]
    assert "my_pgd" in repr(mine)
    with pytest.raises(TypeError, match="attack method must return"):
        AdversarialPerturbation(model, "audio", 0.2, method=lambda *a, **k: None)(inputs, labels)
