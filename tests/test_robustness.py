"""Robustness curves and MultiBench's two summaries of them."""

import numpy as np
import pytest
import torch
from torch import nn

from mmlearn.data.base import MultimodalDataset
from mmlearn.inference import evaluate
from mmlearn.robustness import DEFAULT_LEVELS, effective_robustness, relative_robustness, robustness_curve


class SignOfFirstFeature(nn.Module):
    """A fixed classifier: class 1 when feature 0 of modality 'a' is positive."""

    def forward(self, inputs):
        x = inputs["a"][:, :1]
        return torch.cat([-x, x], dim=1)


def _dataset(n=400):
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, 3, generator=gen), torch.randn(n, 2, generator=gen)
    return MultimodalDataset({"a": a, "b": b}, (a[:, 0] > 0).long())


def replace_rows_with_noise(inputs, level, seed):
    """Replace a fraction ``level`` of the rows of modality 'a' by fresh noise (a new dict)."""
    gen = torch.Generator().manual_seed(seed)
    a = inputs["a"]
    hit = torch.rand(len(a), generator=gen) < level
    noise = torch.randn(a.shape, generator=gen)
    return {**inputs, "a": torch.where(hit[:, None], noise, a)}


def test_robustness_curve_matches_evaluating_each_corrupted_copy():
    data = _dataset()
    original = data.modalities["a"].clone()
    accs = robustness_curve(SignOfFirstFeature(), data, replace_rows_with_noise, batch_size=64, seed=5)
    assert DEFAULT_LEVELS == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    assert accs.shape == (11,)
    assert accs[0] == 1.0
    assert 0.4 < accs[-1] < 0.6  # all of 'a' is noise: chance
    assert np.all(np.diff(accs) <= 0.03)  # degrades (nearly) monotonically
    for level, acc in zip(DEFAULT_LEVELS, accs, strict=True):
        corrupted = MultimodalDataset(replace_rows_with_noise(data.modalities, level, 5), data.labels)
        assert acc == pytest.approx(evaluate(SignOfFirstFeature(), corrupted))
    assert torch.equal(data.modalities["a"], original)
    again = robustness_curve(SignOfFirstFeature(), data, replace_rows_with_noise, batch_size=400, seed=5)
    assert np.array_equal(accs, again)


def test_robustness_curve_passes_level_and_seed():
    seen = []

    def spy(inputs, level, seed):
        seen.append((sorted(inputs), level, seed))
        return inputs

    robustness_curve(SignOfFirstFeature(), _dataset(20), spy, levels=[0.0, 0.5], seed=7)
    assert seen == [(["a", "b"], 0.0, 7), (["a", "b"], 0.5, 7)]


def test_robustness_curve_bad_inputs():
    model, data = SignOfFirstFeature(), _dataset(20)
    with pytest.raises(ValueError, match="between 0 and 1"):
        robustness_curve(model, data, replace_rows_with_noise, levels=[0.0, 1.5])
    with pytest.raises(ValueError, match="empty"):
        robustness_curve(model, data, replace_rows_with_noise, levels=[])
    with pytest.raises(TypeError, match="corrupt_fn"):
        robustness_curve(model, data, "gaussian")
    with pytest.raises(ValueError, match="returned 10 samples"):
        robustness_curve(model, data, lambda x, level, seed: {k: v[:10] for k, v in x.items()})
    with pytest.raises(TypeError, match="MultimodalDataset"):
        robustness_curve(model, data.modalities, replace_rows_with_noise)


def test_relative_robustness_is_the_area_under_the_curve():
    levels = np.array(DEFAULT_LEVELS)
    assert relative_robustness(levels, np.full(11, 0.8)) == pytest.approx(0.8)
    assert relative_robustness(levels, 1 - levels) == pytest.approx(0.5)
    accs = np.random.default_rng(0).random(11)
    multibench = sum((accs[i] + accs[i + 1]) * 0.1 / 2 for i in range(10))  # MultiBench's helper
    assert relative_robustness(levels, accs) == pytest.approx(multibench)
    assert relative_robustness([0.0, 0.5], torch.tensor([1.0, 0.0])) == pytest.approx(0.25)


def test_effective_robustness_against_late_fusion():
    late = [0.8, 0.7, 0.6]
    assert effective_robustness([0.9, 0.8, 0.7], late) == pytest.approx(0.0)  # same drop, higher start
    assert effective_robustness([0.9, 0.85, 0.8], late) == pytest.approx(0.15)
    assert effective_robustness([0.9, 0.7, 0.5], late) == pytest.approx(-0.3)


def test_summary_bad_inputs():
    with pytest.raises(ValueError, match="has 3 values"):
        relative_robustness([0.0, 0.5, 1.0], [1.0, 0.5])
    with pytest.raises(ValueError, match="increasing"):
        relative_robustness([0.0, 1.0, 0.5], [1.0, 0.5, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        relative_robustness([0.0, 1.0], [1.0, float("nan")])
    with pytest.raises(ValueError, match="at least 2"):
        effective_robustness([0.9], [0.8])
    with pytest.raises(ValueError, match="has 2 values"):
        effective_robustness([0.9, 0.8], [0.8, 0.7, 0.6])
