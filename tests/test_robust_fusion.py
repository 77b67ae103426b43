"""Lesson 08's robust fusion: random-strength noise, decision rules, the noise-aware gate."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.data.corruption import gaussian_noise
from mmlearn.encoders import MLPEncoder
from mmlearn.fusion import make_fusion_model
from mmlearn.robust_fusion import (
    NoiseAwareGate,
    RandomStrengthNoise,
    RuledLateFusion,
    entropy_weighted_rule,
    noise_statistics,
    product_rule,
)


def batch(n=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {
        "image": torch.rand(n, 1, 8, 8, generator=gen),
        "audio": 2.0 * torch.randn(n, 13, 6, generator=gen),
    }


# --- RandomStrengthNoise ---------------------------------------------------------------------------------


def test_noise_touches_at_most_one_modality_per_pair_and_keeps_the_inputs():
    inputs = batch()
    copies = {m: x.clone() for m, x in inputs.items()}
    out = RandomStrengthNoise(0.3, seed=1)(inputs)
    assert all(torch.equal(inputs[m], copies[m]) for m in inputs)  # not modified
    changed = torch.stack([(out[m] != inputs[m]).flatten(1).any(dim=1) for m in inputs], dim=1)  # (B, M)
    assert changed.sum(dim=1).max() <= 1
    assert changed.any()  # with p_clean 0.3 some pairs get noise


def test_p_clean_one_and_zero():
    inputs = batch()
    out = RandomStrengthNoise(1.0, seed=0)(inputs)
    assert all(torch.equal(out[m], inputs[m]) for m in inputs)
    out = RandomStrengthNoise(0.0, seed=0)(inputs)
    changed = torch.stack([(out[m] != inputs[m]).flatten(1).any(dim=1) for m in inputs], dim=1)
    assert changed.sum(dim=1).eq(1).float().mean() > 0.95  # level 0 has probability zero


def test_noise_matches_the_test_corruption_at_the_drawn_level():
    """A pair's noise is gaussian_noise's: std NOISE_AT_FULL * level**2 times the pair's own std."""
    torch.manual_seed(0)
    x = {"audio": torch.randn(1, 2000) * 3.0}
    transform = RandomStrengthNoise(0.0, seed=3)
    g = torch.Generator().manual_seed(3)
    torch.randint(1, (1,), generator=g)
    torch.rand(1, generator=g)
    level = torch.rand(1, generator=g).item()
    out = transform(x)["audio"]
    expected_std = 10.0 * level**2 * x["audio"].std().item()
    assert (out - x["audio"]).std().item() == pytest.approx(expected_std, rel=0.1)
    reference = gaussian_noise(x["audio"], level, seed=0)
    assert (reference - x["audio"]).std().item() == pytest.approx(expected_std, rel=0.1)


def test_noise_is_deterministic_per_seed_and_moves_on_between_batches():
    inputs = batch()
    a, b = RandomStrengthNoise(seed=5), RandomStrengthNoise(seed=5)
    first_a, first_b = a(inputs), b(inputs)
    assert all(torch.equal(first_a[m], first_b[m]) for m in inputs)
    second = a(inputs)
    assert any(not torch.equal(second[m], first_a[m]) for m in inputs)


@pytest.mark.parametrize("p_clean", [-0.1, 1.5, float("nan")])
def test_noise_rejects_a_bad_probability(p_clean):
    with pytest.raises(ValueError, match="p_clean"):
        RandomStrengthNoise(p_clean)


# --- decision rules --------------------------------------------------------------------------------------


def log_probs(n=16, m=2, c=5, seed=0):
    return torch.log_softmax(2 * torch.randn(n, m, c, generator=torch.Generator().manual_seed(seed)), dim=2)


def test_product_rule_is_the_normalised_product():
    lp = log_probs()
    fused = product_rule(lp)
    product = lp.exp().prod(dim=1)
    assert torch.allclose(fused.exp(), product / product.sum(dim=1, keepdim=True), atol=1e-6)


def test_a_flat_modality_changes_nothing_under_the_product_rule():
    lp = log_probs(m=1)
    flat = torch.full_like(lp, -math.log(lp.shape[2]))
    assert torch.allclose(product_rule(torch.cat([lp, flat], dim=1)), lp[:, 0], atol=1e-6)


def test_entropy_weights_follow_confidence():
    sure = torch.log_softmax(torch.tensor([[20.0, 0.0, 0.0]]), dim=1)
    flat = torch.log_softmax(torch.zeros(1, 3), dim=1)
    fused = entropy_weighted_rule(torch.stack([sure, flat], dim=1), tau=0.1).exp()  # (1, 3)
    assert fused[0, 0] > 0.99  # the sure modality dominates
    equal = entropy_weighted_rule(torch.stack([flat, flat], dim=1), tau=0.5).exp()
    assert torch.allclose(equal, torch.full((1, 3), 1 / 3))
    # a large tau tends to the plain mean
    lp = log_probs()
    assert torch.allclose(entropy_weighted_rule(lp, tau=1e6).exp(), lp.exp().mean(dim=1), atol=1e-5)


def test_entropy_weighted_by_hand():
    lp = log_probs(n=3, m=3, c=4, seed=2)
    p = lp.exp()
    for b in range(3):
        h = [-(p[b, m] * lp[b, m]).sum().item() for m in range(3)]
        w = torch.softmax(-torch.tensor(h) / 0.5, dim=0)
        expected = sum(w[m] * p[b, m] for m in range(3))
        assert torch.allclose(entropy_weighted_rule(lp, 0.5)[b].exp(), expected, atol=1e-6)


def test_rules_reject_bad_input():
    with pytest.raises(ValueError, match="log_probs"):
        product_rule(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="tau"):
        entropy_weighted_rule(log_probs(), tau=0.0)
    bad = log_probs()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        product_rule(bad)


# --- RuledLateFusion -------------------------------------------------------------------------------------


def late_model():
    torch.manual_seed(0)
    encoders = {
        "image": MLPEncoder(64, out_dim=8, hidden=(8,)),
        "audio": MLPEncoder(78, out_dim=8, hidden=(8,)),
    }
    return make_fusion_model("late_mean", encoders, 5).eval()


def flat_batch(n=16):
    return {m: x.flatten(1) for m, x in batch(n).items()}


def test_ruled_late_fusion_applies_the_rule_to_the_classifiers():
    late = late_model()
    inputs = flat_batch()
    logits = late.unimodal_logits(inputs)
    lp = torch.stack([F.log_softmax(logits[m], dim=1) for m in late.modalities], dim=1)
    with torch.no_grad():
        assert torch.allclose(RuledLateFusion(late, product_rule)(inputs), product_rule(lp))
        mean = RuledLateFusion(late, lambda x: torch.log(x.exp().mean(dim=1)))(inputs)
        assert torch.allclose(mean, late(inputs), atol=1e-6)  # the mean rule is late fusion's own


def test_ruled_late_fusion_needs_a_late_model_and_every_modality():
    with pytest.raises(TypeError, match="late"):
        RuledLateFusion(nn.Linear(2, 2), product_rule)
    with pytest.raises(TypeError, match="rule"):
        RuledLateFusion(late_model(), "product")
    inputs = flat_batch()
    with pytest.raises(KeyError, match="audio"):
        RuledLateFusion(late_model(), product_rule)({"image": inputs["image"]})


# --- noise statistics and the gate -----------------------------------------------------------------------


def test_noise_statistics_rise_with_noise():
    inputs = batch()
    stats = noise_statistics(inputs, ["image", "audio"])
    assert stats.shape == (64, 2)
    noisy = {**inputs, "audio": gaussian_noise(inputs["audio"], 1.0, seed=0)}
    rise = noise_statistics(noisy, ["image", "audio"]) - stats
    assert torch.allclose(rise[:, 0], torch.zeros(64))
    assert rise[:, 1].mean().item() == pytest.approx(math.log(math.sqrt(1 + 100)), abs=0.15)
    with pytest.raises(KeyError, match="modalities"):
        noise_statistics(inputs, ["image", "text"])


class Constant(nn.Module):
    """An expert that always predicts one class with probability ~1."""

    def __init__(self, cls, classes=3):
        super().__init__()
        self.logits = torch.full((classes,), -20.0)
        self.logits[cls] = 20.0

    def forward(self, inputs):
        return self.logits.expand(len(next(iter(inputs.values()))), -1)


def test_gate_is_a_mixture_and_its_weights_sum_to_one():
    torch.manual_seed(0)
    gate = NoiseAwareGate({"zero": Constant(0), "one": Constant(1)}, ["image", "audio"], hidden=4).eval()
    inputs = batch(8)
    g = gate.gates(inputs)
    assert g.shape == (8, 2) and torch.allclose(g.sum(dim=1), torch.ones(8))
    out = gate(inputs).exp()  # (8, 3)
    assert torch.allclose(out[:, 0], g[:, 0], atol=1e-5) and torch.allclose(out[:, 1], g[:, 1], atol=1e-5)


def test_gate_freezes_its_experts_and_learns_to_follow_the_noise():
    """Expert "clean" is right on clean audio, "noisy" on noisy audio: the gate must learn which is which."""
    torch.manual_seed(0)
    experts = {"clean": Constant(0, 2), "noisy": Constant(1, 2)}
    frozen = NoiseAwareGate(
        {"bn": nn.Sequential(nn.Flatten(), nn.BatchNorm1d(64), nn.Linear(64, 2))}, ["image"]
    )
    assert not any(p.requires_grad for p in frozen.experts.parameters())
    frozen.train()
    assert all(not m.training for m in frozen.experts.modules())  # batch norm keeps its running statistics
    gate = NoiseAwareGate(experts, ["image", "audio"], hidden=8)
    opt = torch.optim.Adam(gate.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(1)
    for _ in range(150):
        inputs = batch(64, seed=int(torch.randint(1000, (1,), generator=gen)))
        noisy = torch.rand(64, generator=gen) < 0.5
        scale = torch.where(noisy, 10.0, 0.0).view(-1, 1, 1)
        inputs["audio"] = inputs["audio"] + scale * torch.randn(inputs["audio"].shape, generator=gen) * 2.0
        loss = F.nll_loss(gate(inputs), noisy.long())
        opt.zero_grad()
        loss.backward()
        opt.step()
    gate.eval()
    test = batch(200, seed=99)
    noisy = torch.arange(200) % 2 == 0
    test["audio"] = test["audio"] + torch.where(noisy, 10.0, 0.0).view(-1, 1, 1) * 2.0 * torch.randn(
        200, 13, 6
    )
    with torch.no_grad():
        accuracy = (gate(test).argmax(dim=1) == noisy.long()).float().mean().item()
    assert accuracy > 0.95


def test_gate_rejects_bad_arguments():
    with pytest.raises(TypeError, match="experts"):
        NoiseAwareGate({}, ["image"])
    with pytest.raises(ValueError, match="hidden"):
        NoiseAwareGate({"a": Constant(0)}, ["image"], hidden=0)
    with pytest.raises(ValueError, match="modalities"):
        NoiseAwareGate({"a": Constant(0)}, [])
