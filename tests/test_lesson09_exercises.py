"""The lesson-09 exercise specs accept the references and the notebook's solutions, and reject wrong ones."""

import math

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from mmlearn.calibration import fit_temperature
from mmlearn.exercises import check
from mmlearn.exercises.checker import passed
from mmlearn.metrics import expected_calibration_error
from mmlearn.posterior_fusion import product_rule

# --- the answers as the solution notebook writes them ----------------------------------------------------


def solution_product_rule(logits, prior):
    log_post = sum(torch.log_softmax(z, dim=1) for z in logits.values())
    fused = log_post - (len(logits) - 1) * torch.log(prior)
    return torch.log_softmax(fused, dim=1)


def solution_ece(probs, labels, n_bins=15):
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels)
    predicted = (p >= 0.5).astype(np.int64)
    confidence = np.where(predicted == 1, p, 1 - p)
    correct = (predicted == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], confidence, side="left")
    count = np.bincount(which, minlength=n_bins)
    filled = count > 0
    mean_confidence = np.bincount(which, weights=confidence, minlength=n_bins)[filled] / count[filled]
    accuracy = np.bincount(which, weights=correct, minlength=n_bins)[filled] / count[filled]
    return float(np.sum(count[filled] / count.sum() * np.abs(accuracy - mean_confidence)))


def solution_fit_temperature(logits, labels):
    z = logits.detach().to("cpu", torch.float64)
    y = labels.to("cpu", torch.int64)
    rows = torch.arange(len(y))

    def nll(log_t):
        return float(-torch.log_softmax(z / math.exp(log_t), dim=1)[rows, y].mean())

    result = minimize_scalar(
        nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded", options={"xatol": 1e-6}
    )
    return float(math.exp(result.x))


def test_references_and_solutions_pass(capsys):
    for exercise_id, answer in [
        ("09.1", product_rule),
        ("09.1", solution_product_rule),
        ("09.2", expected_calibration_error),
        ("09.2", solution_ece),
        ("09.3", fit_temperature),
        ("09.3", solution_fit_temperature),
    ]:
        check(exercise_id, answer)
        assert passed(exercise_id), capsys.readouterr().out


def test_solutions_are_bit_identical_to_the_references():
    gen = torch.Generator().manual_seed(5)
    logits = {"image": torch.randn(50, 2, generator=gen), "record": torch.randn(50, 2, generator=gen)}
    prior = torch.tensor([0.5, 0.5])
    assert torch.equal(solution_product_rule(logits, prior), product_rule(logits, prior))
    probs, labels = torch.rand(200, generator=gen), torch.randint(0, 2, (200,), generator=gen)
    assert solution_ece(probs, labels) == expected_calibration_error(probs, labels)
    z = 3 * torch.randn(300, 2, generator=gen)
    y = torch.randint(0, 2, (300,), generator=gen)
    assert solution_fit_temperature(z, y) == fit_temperature(z, y)


def verdict(capsys, exercise_id, answer) -> str:
    check(exercise_id, answer)
    out = capsys.readouterr().out
    assert not passed(exercise_id), out
    return out


def test_wrong_product_rules_fail_with_a_useful_message(capsys):
    def no_prior(logits, prior):  # forgets to divide out the prior
        return torch.log_softmax(sum(torch.log_softmax(z, dim=1) for z in logits.values()), dim=1)

    def sum_rule(logits, prior):  # averages probabilities instead
        return torch.log(sum(torch.softmax(z, dim=1) for z in logits.values()) / len(logits))

    def unnormalised(logits, prior):
        log_post = sum(torch.log_softmax(z, dim=1) for z in logits.values())
        return log_post - (len(logits) - 1) * torch.log(prior)

    assert "prior (0.7, 0.3)" in verdict(capsys, "09.1", no_prior)
    assert "fused log-probabilities" in verdict(capsys, "09.1", sum_rule)
    assert "sum to 1" in verdict(capsys, "09.1", unnormalised)


def test_wrong_eces_fail_with_a_useful_message(capsys):
    def unweighted(probs, labels, n_bins=15):  # plain mean over the filled bins
        p = np.asarray(probs, dtype=np.float64)
        conf = np.maximum(p, 1 - p)
        correct = ((p >= 0.5) == np.asarray(labels)).astype(float)
        which = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], conf, side="left")
        gaps = [abs(correct[which == b].mean() - conf[which == b].mean()) for b in np.unique(which)]
        return float(np.mean(gaps))

    def left_closed(probs, labels, n_bins=15):
        p = np.asarray(probs, dtype=np.float64)
        conf = np.maximum(p, 1 - p)
        correct = ((p >= 0.5) == np.asarray(labels)).astype(float)
        which = np.minimum(
            np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], conf, side="right"), n_bins - 1
        )
        total = 0.0
        for b in np.unique(which):
            rows = which == b
            total += rows.mean() * abs(correct[rows].mean() - conf[rows].mean())
        return float(total)

    assert "n_bins" in verdict(capsys, "09.2", unweighted)
    assert "closed on the right" in verdict(capsys, "09.2", left_closed)


def test_wrong_temperatures_fail_with_a_useful_message(capsys):
    def one(logits, labels):
        return 1.0

    def by_accuracy(logits, labels):  # minimises the error rate, which no temperature changes
        return 20.0

    assert "over-confident" in verdict(capsys, "09.3", one)
    assert "temperature" in verdict(capsys, "09.3", by_accuracy)
