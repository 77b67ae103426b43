"""Exercises of lesson 10 (the open challenges): exact Shapley values over modalities, a shift detector.

Taught in lesson 10 (sections 2, "Which modality did the model use?", and 4, "Building a dataset").

10.1 computes exact Shapley values from the values of every coalition of
modalities; the lesson's modality attribution (``shapley_audio``,
``shapley_image``) runs on it. 10.2
scores every lag between an audio stream and its label stream; the lesson
detects the shift it made with the student's scores and realigns the stream
with them. The references are ``mmlearn.modality_shapley.shapley_values`` and
``mmlearn.data_checks.lag_scores``.
"""

from __future__ import annotations

import itertools
import math

import torch

from mmlearn.data_checks import lag_scores
from mmlearn.exercises.checker import ExerciseFailure, exercise, expect_close
from mmlearn.modality_shapley import coalitions, shapley_values

# --- 10.1: exact Shapley values over modalities ---------------------------------------------------------


def _random_game(names, seed):
    gen = torch.Generator().manual_seed(seed)
    values = {c: round(float(torch.rand(1, generator=gen)), 4) for c in coalitions(names)}
    values[frozenset()] = 0.1
    return values


def _banzhaf(values, names):
    """Every subset weighted equally (a different index, not Shapley's)."""
    out = {}
    for m in names:
        others = [o for o in names if o != m]
        subsets = [frozenset(c) for k in range(len(others) + 1) for c in itertools.combinations(others, k)]
        out[m] = sum(values[s | {m}] - values[s] for s in subsets) / len(subsets)
    return out


def _same(a, b):
    return (
        isinstance(a, dict)
        and set(a) == set(b)
        and all(isinstance(a[k], int | float) and math.isclose(a[k], b[k], abs_tol=1e-6) for k in b)
    )


@exercise(
    "10.1",
    "exact Shapley values over the modalities",
    (
        "A modality's Shapley value averages what it adds, v(S with it) - v(S), over every order in which "
        "the modalities could arrive. Which coalitions S can come before it, and how many of the n! orders "
        "put exactly the coalition S (of size k) before it?",
        "The weight in the formula is the fraction of the n! orders that put exactly S before the "
        "modality. itertools.combinations lists the coalitions of the others size by size, math.factorial "
        "counts orders, and values is keyed by frozensets.",
    ),
    reference=shapley_values,
)
def check_shapley(student):
    additive = {"image": 0.3, "audio": 0.45, "record": -0.05}  # v(S) = 0.1 + sum of the terms in S
    cases = [
        ("a two-modality game", ["image", "audio"], _random_game(["image", "audio"], 1)),
        ("a three-modality game", list(additive), _random_game(list(additive), 2)),
        (
            "an additive three-modality game, v(S) = 0.1 + the sum of each modality's own term",
            ["image", "audio", "record"],
            {c: 0.1 + sum(additive[m] for m in c) for c in coalitions(list(additive))},
        ),
    ]
    for what, names, values in cases:
        expected = shapley_values(values, names)
        shown = {"+".join(sorted(c)) or "{}": round(v, 4) for c, v in values.items()}
        got = student(dict(values), list(names))
        if not isinstance(got, dict):
            raise ExerciseFailure(
                f"on {what}, your function should return a dict {{modality: value}}, got {type(got).__name__}"
            )
        if set(got) != set(names):
            raise ExerciseFailure(
                f"on {what}, expected one value for each of {names}, got keys {sorted(got)}"
            )
        n = len(names)
        full, empty = values[frozenset(names)], values[frozenset()]
        slips = {
            "gives every modality its gain over the empty coalition, v({m}) - v({}): average over all the "
            "orders instead": {m: values[frozenset([m])] - empty for m in names},
            "gives every modality its leave-one-out gain, v(all) - v(all without m): average over all the "
            "orders instead": {m: full - values[frozenset(names) - {m}] for m in names},
            "weights every coalition equally (that is the Banzhaf index): weight a coalition of size k by "
            "k! (n-k-1)! / n!": _banzhaf(values, names),
        }
        for slip, variant in slips.items():
            if not _same(expected, variant) and _same(got, variant):
                raise ExerciseFailure(f"on {what} (values {shown}), your function {slip}")
        for m in names:
            expect_close(got[m], expected[m], f"on {what} (values {shown}), the value of '{m}'")
        total = sum(got.values())
        if not math.isclose(total, full - empty, abs_tol=1e-6):
            raise ExerciseFailure(
                f"on {what}, your values sum to {total:.4f}, not to v(all) - v({{}}) = {full - empty:.4f}"
            )
        if n == 3 and what.startswith("an additive"):
            for m in names:
                if not math.isclose(got[m], additive[m], abs_tol=1e-6):
                    raise ExerciseFailure(f"on {what}, '{m}' should get its own term {additive[m]}")


# --- 10.2: scoring the lags between a stream and its labels --------------------------------------------


def _stream(n, classes, seed):
    gen = torch.Generator().manual_seed(seed)
    log_probs = torch.log_softmax(2.0 * torch.randn(n, classes, generator=gen), dim=1)
    return log_probs, torch.randint(0, classes, (n,), generator=gen)


@exercise(
    "10.2",
    "score every lag between an audio stream and its labels",
    (
        "If the audio was delayed by L slots, the clip that belongs to label i now sits in slot i + L. For "
        "each candidate L, how probable does the audio classifier find each label at the slot where its "
        "clip would be, and what happens at the end of the stream (the shift wraps around)?",
        "For one lag, compute the slots of all N labels' clips at once (modulo N), then index rows and "
        "labels together (advanced indexing).",
    ),
    reference=lag_scores,
)
def check_lag_scores(student):
    for n, classes, max_lag, seed in [(12, 3, 2, 0), (40, 10, 5, 1), (7, 4, 0, 2)]:
        log_probs, labels = _stream(n, classes, seed)
        expected = lag_scores(log_probs, labels, max_lag)
        what = f"on a stream of {n} slots with {classes} classes and max_lag={max_lag}"
        got = student(log_probs.clone(), labels.clone(), max_lag)
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and max_lag > 0:
            if torch.allclose(got, expected.flip(0), atol=1e-5) and not torch.allclose(
                expected, expected.flip(0), atol=1e-5
            ):
                raise ExerciseFailure(
                    f"{what}: your scores come in the reverse order of lags: entry 0 is lag -max_lag, the "
                    "label i then read at slot (i - max_lag) mod N"
                )
            guess, slots = log_probs.argmax(dim=1), torch.arange(n)
            accuracy = torch.stack(
                [(guess[(slots + lag) % n] == labels).float().mean() for lag in range(-max_lag, max_lag + 1)]
            )
            if torch.allclose(got, accuracy, atol=1e-5):
                raise ExerciseFailure(
                    f"{what}: your scores look like accuracies of the argmax; score each lag by the mean "
                    "log-probability of the labels, which uses how sure the classifier is"
                )
        expect_close(got, expected, what)
