"""Metrics against hand-computed values and slow, written-out references."""

import numpy as np
import pytest
import torch

from mmlearn.metrics import (
    accuracy,
    auroc,
    balanced_accuracy,
    chance_recall_at_k,
    confusion_matrix,
    expected_calibration_error,
    recall_at_k,
    reliability_bins,
    retrieval_ranks,
    retrieval_report,
)


def test_accuracy_from_logits_and_predictions():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [0.1, 0.2]])
    targets = torch.tensor([0, 1, 1, 1])
    assert accuracy(logits, targets) == 0.75
    assert accuracy(np.array([0, 1, 0, 1]), [0, 1, 1, 1]) == 0.75
    assert accuracy(logits.numpy(), targets.numpy()) == 0.75


def test_accuracy_bad_inputs():
    with pytest.raises(ValueError, match="rows"):
        accuracy(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        accuracy(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="NaN"):
        accuracy(torch.tensor([[float("nan"), 0.0]]), torch.tensor([0]))
    with pytest.raises(TypeError, match="integer"):
        accuracy(torch.zeros(2, 2), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="integer predictions"):
        accuracy(torch.tensor([0.2, 0.9]), torch.tensor([0, 1]))


def test_balanced_accuracy_and_confusion_matrix():
    targets = [0, 0, 0, 1]
    predictions = np.array([0, 0, 0, 0])
    assert accuracy(predictions, targets) == 0.75
    assert balanced_accuracy(predictions, targets) == 0.5  # class 1 is never found
    logits = torch.tensor([[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 3.0, 0.0], [3.0, 0.0, 0.0]])
    cm = confusion_matrix(logits, [0, 1, 0, 1])
    assert cm.tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]  # 3 classes from the logits' width
    assert np.allclose(confusion_matrix(logits, [0, 1, 0, 1], normalize="true")[:2, :2], 0.5)
    assert confusion_matrix(np.array([0, 2]), [0, 2]).shape == (3, 3)
    with pytest.raises(ValueError, match="class indices"):
        confusion_matrix(np.array([0, 5]), [0, 1], num_classes=3)


def _slow_auroc(scores, y):
    """Probability that a random positive outranks a random negative (ties count half)."""
    pos = [s for s, t in zip(scores, y, strict=True) if t == 1]
    neg = [s for s, t in zip(scores, y, strict=True) if t == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_auroc_binary_and_multiclass():
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    probs = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
    assert auroc(probs, torch.tensor([0, 0, 1, 1])) == 0.75
    assert auroc(probs[:, 1:], [0, 0, 1, 1]) == 0.75  # (N, 1) scores
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(60, 3))
    y = rng.integers(0, 3, size=60)
    logits[np.arange(60), y] += 1.0
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    one_vs_rest = [_slow_auroc(p[:, c], (y == c).astype(int)) for c in range(3)]
    assert auroc(p, y) == pytest.approx(np.mean(one_vs_rest))


def test_auroc_bad_inputs():
    with pytest.raises(ValueError, match="single class"):
        auroc([0.1, 0.9], [1, 1])
    with pytest.raises(ValueError, match="softmax"):
        auroc(np.ones((4, 3)), [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"\{0, 1\}"):
        auroc([0.1, 0.5, 0.9], [0, 1, 2])


def _slow_rank(scores, relevant):
    """Sort candidates by score, wrong ones first among equals, and find the first correct one."""
    order = sorted(range(len(scores)), key=lambda j: (-scores[j], relevant[j]))
    return next(pos for pos, j in enumerate(order) if relevant[j])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recall_at_k_matches_slow_reference_with_ties(seed):
    rng = np.random.default_rng(seed)
    sim = rng.integers(0, 4, size=(12, 15)).astype(float)  # few distinct values: many ties
    relevant = rng.random((12, 15)) < 0.15
    relevant[np.arange(12), rng.integers(0, 15, size=12)] = True
    ranks = [_slow_rank(sim[i].tolist(), relevant[i].tolist()) for i in range(12)]
    assert retrieval_ranks(sim, relevant).tolist() == ranks
    for k in (1, 3, 15):
        assert recall_at_k(torch.tensor(sim), k, targets=relevant) == np.mean(np.array(ranks) < k)
    targets = rng.integers(0, 15, size=12)
    one_hot = np.zeros((12, 15), dtype=bool)
    one_hot[np.arange(12), targets] = True
    assert recall_at_k(sim, 2, targets=targets) == recall_at_k(sim, 2, targets=one_hot)


def test_recall_at_k_diagonal_default_and_pessimistic_ties():
    assert recall_at_k(torch.eye(5), 1) == 1.0
    assert recall_at_k(torch.eye(5).flip(0), 1) == 0.2  # only the middle row keeps its partner on top
    constant = torch.ones(6, 6)  # a collapsed embedding: every score ties
    assert recall_at_k(constant, 5) == 0.0
    assert recall_at_k(constant, 6) == 1.0


def test_recall_at_k_bad_inputs():
    with pytest.raises(ValueError, match="between 1 and"):
        recall_at_k(torch.eye(4), 0)
    with pytest.raises(ValueError, match="between 1 and"):
        recall_at_k(torch.eye(4), 5)
    with pytest.raises(ValueError, match="square"):
        recall_at_k(torch.zeros(3, 4), 1)
    with pytest.raises(ValueError, match="2-D"):
        recall_at_k(torch.zeros(4), 1)
    nan = torch.eye(3)
    nan[1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        recall_at_k(nan, 1)
    with pytest.raises(ValueError, match="index candidates"):
        recall_at_k(torch.zeros(2, 3), 1, targets=[0, 3])
    with pytest.raises(ValueError, match="no correct candidate"):
        recall_at_k(torch.zeros(2, 3), 1, targets=np.array([[True, False, False], [False, False, False]]))
    with pytest.raises(ValueError, match="boolean"):
        recall_at_k(torch.zeros(2, 3), 1, targets=np.ones((3, 3), dtype=bool))


def test_retrieval_report_uses_rows_and_columns():
    sim = np.array([[1.0, 0.0], [1.0, 0.0]])
    report = retrieval_report(sim, ks=(1, 2))
    assert report == {
        "i2t_r1": 0.5,
        "i2t_r2": 1.0,
        "i2t_medr": 1.5,
        "t2i_r1": 0.0,
        "t2i_r2": 1.0,
        "t2i_medr": 2.0,
    }
    assert all(key.isidentifier() for key in report)
    with pytest.raises(ValueError, match="out of range"):
        retrieval_report(np.eye(4))  # k = 5 and 10 need more candidates


def test_chance_recall():
    assert chance_recall_at_k(100, 5) == 0.05
    rng = np.random.default_rng(0)
    random_sim = rng.random((2000, 20))
    assert recall_at_k(random_sim, 5, targets=np.zeros(2000, dtype=int)) == pytest.approx(0.25, abs=0.03)
    with pytest.raises(ValueError, match="between 1 and n"):
        chance_recall_at_k(10, 11)
    with pytest.raises(ValueError, match="positive"):
        chance_recall_at_k(0, 1)


def _slow_ece(probs, y, n_bins):
    edges = np.linspace(0, 1, n_bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        members = [
            (p.max(), p.argmax() == t)
            for p, t in zip(probs, y, strict=True)
            if lo < p.max() <= hi or (lo == 0 and p.max() == 0)
        ]
        if members:
            conf = np.mean([m[0] for m in members])
            acc = np.mean([m[1] for m in members])
            total += len(members) / len(probs) * abs(acc - conf)
    return total


def test_expected_calibration_error():
    # Confidence 0.75 everywhere and 3 of 4 right: perfectly calibrated.
    probs = np.tile([0.75, 0.25], (4, 1))
    assert expected_calibration_error(probs, [0, 0, 0, 1]) == pytest.approx(0.0)
    # Certain and right half of the time: off by 0.5.
    assert expected_calibration_error(np.tile([1.0, 0.0], (4, 1)), [0, 1, 0, 1]) == pytest.approx(0.5)
    # Binary probabilities of class 1 work too.
    assert expected_calibration_error(np.array([0.25, 0.25, 0.25, 0.25]), [0, 0, 0, 1]) == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 4)) * 2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, size=200)
    assert expected_calibration_error(p, y, n_bins=10) == pytest.approx(_slow_ece(p, y, 10))


def test_reliability_bins_are_right_closed():
    probs = np.array([[0.5, 0.5], [1.0, 0.0], [0.9, 0.1]])
    bins = reliability_bins(probs, [0, 0, 1], n_bins=2)
    assert bins["count"].tolist() == [1, 2]  # 0.5 falls in (0, 0.5], 0.9 and 1.0 in (0.5, 1]
    assert bins["accuracy"].tolist() == [1.0, 0.5]
    assert bins["confidence"][1] == pytest.approx(0.95)
    empty = reliability_bins(probs, [0, 0, 1], n_bins=10)
    assert np.isnan(empty["accuracy"][0]) and empty["count"][0] == 0


def test_calibration_bad_inputs():
    with pytest.raises(ValueError, match="softmax"):
        expected_calibration_error(np.array([[2.0, -1.0]]), [0])
    with pytest.raises(ValueError, match="sum to 1"):
        expected_calibration_error(np.array([[0.5, 0.6]]), [0])
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(np.array([[0.5, 0.5]]), [0], n_bins=0)
    with pytest.raises(ValueError, match="rows"):
        expected_calibration_error(np.array([[0.5, 0.5]]), [0, 1])
