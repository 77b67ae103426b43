"""Temperature scaling (mmlearn.calibration): it fits the temperature that minimises the NLL."""

import math

import pytest
import torch

from mmlearn.calibration import TemperatureScaled, as_logits, fit_temperature, negative_log_likelihood
from mmlearn.metrics import expected_calibration_error


def overconfident(n=4000, scale=3.0, seed=0):
    """Logits ``scale`` times the true log-odds, labels drawn from the true probabilities."""
    gen = torch.Generator().manual_seed(seed)
    true = 1.5 * torch.randn(n, generator=gen)
    labels = (torch.rand(n, generator=gen) < torch.sigmoid(true)).long()
    return torch.stack([torch.zeros(n), scale * true], dim=1), labels


def test_recovers_the_scale_of_an_overconfident_model():
    logits, labels = overconfident(scale=3.0)
    T = fit_temperature(logits, labels)
    assert 2.6 < T < 3.4  # the true log-odds are the logits / 3


def test_lowers_nll_and_ece_and_keeps_every_prediction():
    logits, labels = overconfident(scale=3.0, seed=1)
    T = fit_temperature(logits[:2000], labels[:2000])  # fitted on a "validation" half
    test_logits, test_labels = logits[2000:], labels[2000:]
    assert negative_log_likelihood(test_logits, test_labels, T) < negative_log_likelihood(
        test_logits, test_labels
    )
    before = test_logits.softmax(dim=1)[:, 1]
    after = (test_logits / T).softmax(dim=1)[:, 1]
    assert expected_calibration_error(after, test_labels) < expected_calibration_error(before, test_labels)
    assert torch.equal((test_logits / T).argmax(dim=1), test_logits.argmax(dim=1))


def test_sharpens_an_underconfident_model_and_is_a_minimum():
    logits, labels = overconfident(scale=0.4, seed=2)
    T = fit_temperature(logits, labels)
    assert T < 1
    best = negative_log_likelihood(logits, labels, T)
    for factor in (0.9, 1.1):
        assert best <= negative_log_likelihood(logits, labels, T * factor)


def test_binary_log_odds_give_the_same_temperature_as_two_logits():
    logits, labels = overconfident(scale=2.0, seed=3)
    assert fit_temperature(logits[:, 1] - logits[:, 0], labels) == pytest.approx(
        fit_temperature(logits, labels)
    )


def test_temperature_scaled_module_divides_the_logits():
    model = torch.nn.Linear(3, 2)

    class OnDict(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, inputs):
            return self.inner(inputs["x"])

    x = {"x": torch.randn(5, 3)}
    scaled = TemperatureScaled(OnDict(), 2.0)
    assert torch.allclose(scaled(x), model(x["x"]) / 2.0)


def test_bad_inputs_name_the_argument():
    logits, labels = overconfident(n=10)
    with pytest.raises(ValueError, match="labels"):
        fit_temperature(logits, labels[:5])
    with pytest.raises(ValueError, match="labels"):
        fit_temperature(logits, labels + 5)
    with pytest.raises(TypeError, match="labels"):
        fit_temperature(logits, labels.float())
    with pytest.raises(ValueError, match="logits"):
        fit_temperature(logits[:, :1], labels)
    with pytest.raises(ValueError, match="logits"):
        as_logits(torch.full((3, 2), math.nan))
    with pytest.raises(ValueError, match="temperature"):
        negative_log_likelihood(logits, labels, -1.0)
