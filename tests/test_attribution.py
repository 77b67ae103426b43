"""Captum wrappers (mmlearn.attribution) on a model that takes a dict of modalities."""

import pytest
import torch
from torch import nn

from mmlearn.attribution import completeness_gap, integrated_gradients, modality_totals, saliency, score


class TwoModalities(nn.Module):
    """A small nonlinear model on {"image": (B, 1, 4, 4), "record": (B, 3)} -> (B, 2) logits."""

    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.wi = nn.Parameter(0.5 * torch.randn(16, 8, generator=gen))
        self.wr = nn.Parameter(0.5 * torch.randn(3, 8, generator=gen))
        self.out = nn.Parameter(torch.randn(8, 2, generator=gen))
        self.norm = nn.BatchNorm1d(8)

    def forward(self, inputs):
        h = inputs["image"].flatten(1) @ self.wi + inputs["record"] @ self.wr
        return torch.tanh(self.norm(h)) @ self.out


def batch(n=5):
    gen = torch.Generator().manual_seed(1)
    return {"image": torch.rand(n, 1, 4, 4, generator=gen), "record": torch.randn(n, 3, generator=gen)}


def test_integrated_gradients_are_complete_and_shaped_like_the_inputs():
    model, x = TwoModalities(), batch()
    ig = integrated_gradients(model, x, steps=64)
    assert {k: v.shape for k, v in ig.items()} == {k: v.shape for k, v in x.items()}
    gap = completeness_gap(model, x, ig)
    with torch.no_grad():
        model.eval()
        change = score(model, x, "log_odds") - score(
            model, {k: torch.zeros_like(v) for k, v in x.items()}, "log_odds"
        )
    assert gap.abs().max() < 0.01 * change.abs().mean() + 1e-4
    totals = modality_totals(ig)
    assert torch.allclose(totals["image"] + totals["record"] - gap, change, atol=1e-5)


def test_more_steps_shrink_the_completeness_gap():
    model, x = TwoModalities(), batch()
    gaps = [completeness_gap(model, x, integrated_gradients(model, x, steps=s)).abs().mean() for s in (2, 64)]
    assert gaps[1] < gaps[0]


def test_one_baseline_per_case_or_for_all_and_a_class_target():
    model, x = TwoModalities(), batch()
    one = {"image": torch.full((1, 4, 4), 0.5), "record": torch.zeros(3)}
    every = {k: v.expand_as(x[k]).clone() for k, v in one.items()}
    a = integrated_gradients(model, x, one, target=1, steps=16)
    b = integrated_gradients(model, x, every, target=1, steps=16)
    assert all(torch.allclose(a[k], b[k]) for k in a)


def test_model_mode_is_restored_and_saliency_is_non_negative():
    model, x = TwoModalities(), batch()
    model.train()
    sal = saliency(model, x)
    assert model.training
    assert all((s >= 0).all() and s.shape == x[k].shape for k, s in sal.items())


def test_bad_inputs_name_the_argument():
    model, x = TwoModalities(), batch()
    with pytest.raises(ValueError, match="target"):
        integrated_gradients(model, x, target=-1)
    with pytest.raises(KeyError, match="baselines"):
        integrated_gradients(model, x, {"image": torch.zeros_like(x["image"])})
    with pytest.raises(ValueError, match="baselines"):
        integrated_gradients(model, x, {"image": torch.zeros(2, 2), "record": torch.zeros(3)})
    with pytest.raises(TypeError, match="inputs"):
        integrated_gradients(model, {**x, "record": x["record"].long()})
    with pytest.raises(ValueError, match="steps"):
        integrated_gradients(model, x, steps=0)
    with pytest.raises(KeyError, match="attributions"):
        completeness_gap(model, x, {"image": x["image"]})
