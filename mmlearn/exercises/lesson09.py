"""Exercises of lesson 09 (medical fusion): the product rule, expected calibration error, temperature scaling.

Taught in lesson 09 (sections 3, "Late fusion by Bayes' rule", and 6, "Calibration").

09.1 combines the image classifier's and the record classifier's logits by
Bayes' rule under conditional independence (the product rule); the lesson's
late fusion and its missing-record case run on it. 09.2 is the expected
calibration error of binary probabilities, which the lesson reports before
and after calibration. 09.3 fits the temperature of temperature scaling on
the validation split by minimising the negative log-likelihood; the lesson
calibrates with it. The references are ``mmlearn.posterior_fusion.product_rule``,
``mmlearn.metrics.expected_calibration_error`` and
``mmlearn.calibration.fit_temperature``, which give the same numbers as the
solutions.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mmlearn.calibration import fit_temperature
from mmlearn.exercises.checker import ExerciseFailure, _guarded, exercise, expect_close
from mmlearn.metrics import expected_calibration_error
from mmlearn.posterior_fusion import product_rule

# --- 09.1: the product rule ------------------------------------------------------------------------------


def _logits(n: int, c: int, m: int, seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    names = ["image", "record", "audio"][:m]
    return {name: 2.0 * torch.randn(n, c, generator=gen) for name in names}


@exercise(
    "09.1",
    "late fusion by the product rule",
    (
        "Under conditional independence, p(y | image, record) is proportional to p(y | image) p(y | record) "
        "/ p(y). How many times does the prior appear in the numerator, and how many times should it "
        "remain? Work with log-probabilities: products become sums.",
        "A log-softmax over the class dimension turns each classifier's logits into log-probabilities, and "
        "torch.log of the prior gives log p(y).",
    ),
    reference=product_rule,
)
def check_product_rule(student):
    answer = _guarded(student)
    cases = [
        (_logits(6, 2, 2, 1), torch.tensor([0.5, 0.5]), "two modalities, 2 classes, uniform prior"),
        (_logits(6, 2, 2, 2), torch.tensor([0.7, 0.3]), "two modalities, 2 classes, prior (0.7, 0.3)"),
        (
            _logits(5, 3, 3, 3),
            torch.tensor([0.2, 0.5, 0.3]),
            "three modalities, 3 classes, prior (0.2, 0.5, 0.3)",
        ),
        (
            _logits(4, 2, 1, 4),
            torch.tensor([0.7, 0.3]),
            "one modality only (the other missing), prior (0.7, 0.3)",
        ),
    ]
    for logits, prior, what in cases:
        result = answer({k: v.clone() for k, v in logits.items()}, prior.clone())
        expected = product_rule(logits, prior)
        if isinstance(result, torch.Tensor) and result.shape == expected.shape:
            sums = result.exp().sum(dim=1)
            if not torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
                raise ExerciseFailure(
                    f"on {what}: exp(result) should sum to 1 over the classes of each row "
                    "(log-probabilities), "
                    f"got row sums {[round(float(s), 3) for s in sums]}"
                )
        expect_close(result, expected, f"the fused log-probabilities on {what}")


# --- 09.2: expected calibration error -------------------------------------------------------------------


def _calibration_case(n: int, seed: int, sharpen: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary probabilities that are over-confident when ``sharpen`` > 1, with labels drawn from the truth."""
    gen = torch.Generator().manual_seed(seed)
    true_logit = 1.5 * torch.randn(n, generator=gen)
    labels = (torch.rand(n, generator=gen) < torch.sigmoid(true_logit)).long()
    return torch.sigmoid(sharpen * true_logit), labels


@exercise(
    "09.2",
    "expected calibration error of binary probabilities",
    (
        "A binary model predicts class 1 when p >= 0.5; its confidence is the probability of the class it "
        "predicts, so it lies in [0.5, 1]. Each bin compares the mean confidence with the fraction of "
        "correct predictions, and bins count in proportion to the cases they hold.",
        "Give each confidence the index of its bin among n_bins equal-width bins over [0, 1]; a confidence "
        "that sits exactly on an edge belongs to the bin below it (bins are closed on the right). Then "
        "count the cases, and sum the confidences and the correct answers, per bin; skip empty bins.",
        "NumPy has a call for each step: one for equally spaced edges, one that finds where values fall "
        "among sorted edges (mind which side an edge value goes to), one that counts and sums per index.",
    ),
    reference=expected_calibration_error,
)
def check_ece(student):
    answer = _guarded(student)
    for n, seed, sharpen, bins in ((400, 1, 3.0, 15), (300, 2, 0.5, 10), (50, 3, 1.0, 5)):
        probs, labels = _calibration_case(n, seed, sharpen)
        kind = "over-confident" if sharpen > 1 else "under-confident" if sharpen < 1 else "calibrated"
        result = answer(probs.clone(), labels.clone(), bins)
        expected = expected_calibration_error(probs, labels, bins)
        if isinstance(result, torch.Tensor) and result.numel() == 1:
            result = float(result)
        expect_close(
            float(result) if isinstance(result, np.floating) else result,
            expected,
            f"the ECE of {n} {kind} probabilities with n_bins={bins}",
            atol=1e-9,
            rtol=1e-7,
        )
    edge = torch.tensor([0.5, 1.0, 0.0, 0.75, 0.3])  # confidences 0.5, 1.0, 1.0, 0.75, 0.7: on bin edges
    labels = torch.tensor([1, 1, 0, 0, 0])
    result = answer(edge.clone(), labels.clone(), 4)
    expect_close(
        float(result) if isinstance(result, np.floating | torch.Tensor) else result,
        expected_calibration_error(edge, labels, 4),
        "the ECE of p = [0.5, 1.0, 0.0, 0.75, 0.3], labels [1, 1, 0, 0, 0], n_bins=4 (confidences on the "
        "bin edges 0.5, 0.75 and 1.0 belong to the bin below: bins are closed on the right)",
        atol=1e-9,
        rtol=1e-7,
    )


# --- 09.3: temperature scaling ----------------------------------------------------------------------------


def _temperature_case(n: int, seed: int, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 2) logits ``scale`` times too large (or small), and labels drawn from the true probabilities."""
    gen = torch.Generator().manual_seed(seed)
    true_logit = 1.5 * torch.randn(n, generator=gen)
    labels = (torch.rand(n, generator=gen) < torch.sigmoid(true_logit)).long()
    logits = torch.stack([torch.zeros(n), scale * true_logit], dim=1) + 0.3 * torch.randn(n, 1, generator=gen)
    return logits, labels


@exercise(
    "09.3",
    "fit the temperature of temperature scaling",
    (
        "Which single number T, dividing every logit, makes the validation labels most probable? Write "
        "the mean negative log-likelihood of softmax(logits / T) as a function of T; T must stay "
        "positive, so search over log T.",
        "Minimise that NLL with a bounded one-dimensional minimiser over log T (SciPy has one), on the "
        "interval from log 0.05 to log 20, and return T itself as a float.",
    ),
    reference=fit_temperature,
)
def check_fit_temperature(student):
    answer = _guarded(student)
    for n, seed, scale, kind in ((2000, 1, 3.0, "over-confident"), (2000, 2, 0.4, "under-confident")):
        logits, labels = _temperature_case(n, seed, scale)
        result = answer(logits.clone(), labels.clone())
        expected = fit_temperature(logits, labels)
        if isinstance(result, torch.Tensor) and result.numel() == 1:
            result = float(result)
        if isinstance(result, float) and (not math.isfinite(result) or result <= 0):
            raise ExerciseFailure(
                f"on {kind} logits the temperature should be a positive number, got {result}"
            )
        expect_close(
            result,
            expected,
            f"the temperature fitted on {n} {kind} logits (scaled by {scale}; about {expected:.2f} expected)",
            atol=1e-3,
            rtol=1e-3,
        )
