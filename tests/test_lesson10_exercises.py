"""The lesson-10 exercise specs accept the references and the notebook's solutions, and reject wrong ones."""

import itertools
import math

import pytest
import torch

from mmlearn.data_checks import lag_scores
from mmlearn.exercises import check
from mmlearn.exercises.checker import passed
from mmlearn.modality_shapley import coalitions, shapley_values

# --- the answers as the solution notebook writes them ----------------------------------------------------


def solution_shapley(values, modalities):
    n = len(modalities)
    phi = {}
    for m in modalities:
        others = [o for o in modalities if o != m]
        total = 0.0
        for k in range(n):
            weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            for rest in itertools.combinations(others, k):
                s = frozenset(rest)
                total += weight * (float(values[s | {m}]) - float(values[s]))
        phi[m] = total
    return phi


def solution_lag_scores(log_probs, labels, max_lag):
    n = log_probs.shape[0]
    slots = torch.arange(n)
    return torch.stack([log_probs[(slots + lag) % n, labels].mean() for lag in range(-max_lag, max_lag + 1)])


def test_references_and_solutions_pass(capsys):
    for exercise_id, answer in [
        ("10.1", shapley_values),
        ("10.1", solution_shapley),
        ("10.2", lag_scores),
        ("10.2", solution_lag_scores),
    ]:
        check(exercise_id, answer)
        assert passed(exercise_id), capsys.readouterr().out


def test_solutions_are_bit_identical_to_the_references():
    names = ["image", "audio", "record"]
    gen = torch.Generator().manual_seed(0)
    values = {c: float(torch.rand(1, generator=gen)) for c in coalitions(names)}
    assert solution_shapley(values, names) == shapley_values(values, names)
    log_probs = torch.log_softmax(torch.randn(30, 10, generator=gen), dim=1)
    labels = torch.randint(0, 10, (30,), generator=gen)
    assert torch.equal(solution_lag_scores(log_probs, labels, 5), lag_scores(log_probs, labels, 5))


# --- typical wrong answers and what the check says -------------------------------------------------------


def from_empty(values, modalities):
    return {m: values[frozenset([m])] - values[frozenset()] for m in modalities}


def leave_one_out(values, modalities):
    full = frozenset(modalities)
    return {m: values[full] - values[full - {m}] for m in modalities}


def banzhaf(values, modalities):
    out = {}
    for m in modalities:
        others = [o for o in modalities if o != m]
        subsets = [frozenset(c) for k in range(len(others) + 1) for c in itertools.combinations(others, k)]
        out[m] = sum(values[s | {m}] - values[s] for s in subsets) / len(subsets)
    return out


def as_list(values, modalities):
    return list(shapley_values(values, modalities).values())


def reversed_lags(log_probs, labels, max_lag):
    return lag_scores(log_probs, labels, max_lag).flip(0)


def argmax_accuracy(log_probs, labels, max_lag):
    n = log_probs.shape[0]
    guess, slots = log_probs.argmax(dim=1), torch.arange(n)
    return torch.stack(
        [(guess[(slots + lag) % n] == labels).float().mean() for lag in range(-max_lag, max_lag + 1)]
    )


def no_wrap(log_probs, labels, max_lag):
    n = log_probs.shape[0]
    out = []
    for lag in range(-max_lag, max_lag + 1):
        i = torch.arange(max(0, -lag), min(n, n - lag))
        out.append(log_probs[i + lag, labels[i]].mean())
    return torch.stack(out)


@pytest.mark.parametrize(
    "exercise_id, answer, words",
    [
        ("10.1", from_empty, "gain over the empty coalition"),
        ("10.1", leave_one_out, "leave-one-out"),
        ("10.1", banzhaf, "Banzhaf"),
        ("10.1", as_list, "should return a dict"),
        ("10.2", reversed_lags, "reverse order"),
        ("10.2", argmax_accuracy, "log-probability"),
        ("10.2", no_wrap, "wrong values"),
    ],
)
def test_wrong_answers_fail_with_a_useful_message(capsys, exercise_id, answer, words):
    check(exercise_id, answer)
    out = capsys.readouterr().out
    assert not passed(exercise_id)
    assert words in out, out
