"""Exact Shapley values over modalities: the additive case, efficiency, symmetry, ablation with baselines."""

import itertools
import math

import pytest
import torch
from torch import nn

from mmlearn.data import MultimodalDataset
from mmlearn.modality_shapley import ablate, coalition_values, coalitions, mean_baselines, shapley_values


class AdditiveModel(nn.Module):
    """Logits = a term of the image plus a term of the audio: each modality's effect is its own."""

    def forward(self, inputs):
        image = inputs["image"].sum(dim=1, keepdim=True)  # (B, 1)
        audio = inputs["audio"].sum(dim=1, keepdim=True)
        return torch.cat([image + 2 * audio, torch.zeros_like(image)], dim=1)  # (B, 2)


def _mean_logit(model, data):
    with torch.no_grad():
        return model(data.modalities)[:, 0].mean().item()


def test_additive_model_gives_each_modality_its_own_term():
    gen = torch.Generator().manual_seed(0)
    train = MultimodalDataset(
        {"image": torch.randn(50, 3, generator=gen), "audio": torch.randn(50, 4, generator=gen)},
        torch.zeros(50, dtype=torch.long),
    )
    test = MultimodalDataset(
        {"image": torch.randn(20, 3, generator=gen) + 1.0, "audio": torch.randn(20, 4, generator=gen) - 0.5},
        torch.zeros(20, dtype=torch.long),
    )
    base = mean_baselines(train)
    values = coalition_values(AdditiveModel(), test, base, score=_mean_logit)
    phi = shapley_values(values, ["image", "audio"])
    own_image = (test.modalities["image"].sum(1) - base["image"].sum()).mean().item()
    own_audio = 2 * (test.modalities["audio"].sum(1) - base["audio"].sum()).mean().item()
    assert phi["image"] == pytest.approx(own_image, abs=1e-5)
    assert phi["audio"] == pytest.approx(own_audio, abs=1e-5)


def test_efficiency_and_symmetry_on_random_games():
    names = ["a", "b", "c"]
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        values = {c: float(torch.rand(1, generator=gen)) for c in coalitions(names)}
        phi = shapley_values(values, names)
        assert sum(phi.values()) == pytest.approx(values[frozenset(names)] - values[frozenset()], abs=1e-12)
    # a and b interchangeable: v depends only on how many of them are present
    sym = {c: len(c & {"a", "b"}) ** 2 + 3 * ("c" in c) for c in coalitions(names)}
    phi = shapley_values(sym, names)
    assert phi["a"] == pytest.approx(phi["b"])
    assert phi["c"] == pytest.approx(3.0)


def test_shapley_equals_the_average_over_orders():
    names = ["x", "y", "z"]
    gen = torch.Generator().manual_seed(2)
    values = {c: float(torch.randn(1, generator=gen)) for c in coalitions(names)}
    by_orders = dict.fromkeys(names, 0.0)
    orders = list(itertools.permutations(names))
    for order in orders:
        before = frozenset()
        for m in order:
            by_orders[m] += (values[before | {m}] - values[before]) / len(orders)
            before = before | {m}
    phi = shapley_values(values, names)
    for m in names:
        assert phi[m] == pytest.approx(by_orders[m], abs=1e-12)


def test_ablate_replaces_only_the_removed_modalities():
    inputs = {"image": torch.ones(4, 2), "audio": torch.full((4, 3), 5.0)}
    base = {"image": torch.zeros(1, 2), "audio": torch.tensor([1.0, 2.0, 3.0])}
    out = ablate(inputs, ["image"], base)
    assert torch.equal(out["image"], inputs["image"])
    assert torch.equal(out["audio"], torch.tensor([1.0, 2.0, 3.0]).expand(4, 3))
    none = ablate(inputs, [], base)
    assert torch.equal(none["image"], torch.zeros(4, 2))


def test_coalitions_are_every_subset():
    subsets = coalitions(["a", "b", "c"])
    assert len(subsets) == 8 and len(set(subsets)) == 8 and subsets[0] == frozenset()
    assert math.comb(3, 2) == sum(len(s) == 2 for s in subsets)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: shapley_values({frozenset(): 0.0}, ["a"]), "values lacks"),
        (lambda: shapley_values([], ["a"]), "values must be a dict"),
        (lambda: coalitions(["a", "a"]), "modalities must not repeat"),
        (lambda: ablate({"image": torch.ones(2, 2)}, "image", {}), "keep must be a list"),
        (lambda: ablate({"image": torch.ones(2, 2)}, ["audio"], {}), "keep names modalities"),
        (lambda: ablate({"image": torch.ones(2, 2)}, [], {}), "baselines has no entry"),
        (lambda: ablate({"image": torch.ones(2, 2)}, [], {"image": torch.ones(3)}), "baselines['image']"),
    ],
)
def test_bad_inputs_name_the_argument(call, words):
    with pytest.raises((TypeError, ValueError, KeyError)) as err:
        call()
    assert words in str(err.value)
