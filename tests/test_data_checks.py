"""Dataset checks: a shift is found, labels flip as asked, second takes keep their sources, leakage shows."""

import pytest
import torch

from mmlearn.data import MultimodalDataset
from mmlearn.data_checks import (
    flip_labels,
    lag_scores,
    pooled_random_split,
    second_take,
    shared_source_fraction,
    shared_source_mask,
    shift_stream,
)


def _stream(n=60, classes=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (n,), generator=gen)
    logits = torch.randn(n, classes, generator=gen)
    logits[torch.arange(n), labels] += 2.0  # a classifier that is right most of the time
    return torch.log_softmax(logits, dim=1), labels


@pytest.mark.parametrize("lag", [-4, 0, 3, 7])
def test_the_detector_finds_a_known_shift(lag):
    log_probs, labels = _stream()
    shifted = shift_stream(log_probs, lag)  # slot i now holds the classifier output of clip i - lag
    scores = lag_scores(shifted, labels, max_lag=8)
    assert scores.shape == (17,)
    assert int(scores.argmax()) - 8 == lag


def test_lag_scores_match_a_slow_loop():
    log_probs, labels = _stream(n=9, classes=3, seed=1)
    scores = lag_scores(log_probs, labels, max_lag=2)
    for k, lag in enumerate(range(-2, 3)):
        slow = sum(log_probs[(i + lag) % 9, labels[i]].item() for i in range(9)) / 9
        assert scores[k].item() == pytest.approx(slow, abs=1e-6)


def test_shift_and_shift_back_is_the_identity():
    x = torch.arange(10.0).reshape(5, 2)
    assert torch.equal(shift_stream(shift_stream(x, 2), -2), x)
    assert torch.equal(shift_stream(x, 1)[1], x[0])


def test_flip_labels_flips_exactly_the_fraction_to_other_classes():
    labels = torch.arange(100) % 10
    noisy, flipped = flip_labels(labels, 0.3, 10, seed=0)
    assert int(flipped.sum()) == 30
    assert (noisy[flipped] != labels[flipped]).all() and torch.equal(noisy[~flipped], labels[~flipped])
    assert noisy.min() >= 0 and noisy.max() < 10
    again, _ = flip_labels(labels, 0.3, 10, seed=0)
    assert torch.equal(noisy, again)


def _pairs(n, start=0):
    ids = torch.arange(start, start + n)
    return MultimodalDataset(
        {"image": torch.rand(n, 4), "audio": torch.randn(n, 3)},
        ids % 10,
        {"image_id": ids, "clip_id": ids + 1000},
    )


def test_second_take_keeps_sources_and_adds_noise():
    data = _pairs(20)
    take = second_take(data, {"image": 0.5, "audio": 0.1}, seed=0, clamp={"image": (0.0, 1.0)})
    assert torch.equal(take.info["image_id"], data.info["image_id"]) and torch.equal(take.labels, data.labels)
    assert not torch.equal(take.modalities["image"], data.modalities["image"])
    assert take.modalities["image"].min() >= 0 and take.modalities["image"].max() <= 1


def test_leakage_is_measured_on_a_pooled_split_and_absent_from_a_clean_one():
    train, test = _pairs(30), _pairs(10, start=30)
    assert shared_source_fraction(train, test, "image_id") == 0.0
    takes = [second_take(d, {"audio": 0.1}, seed=1) for d in (train, test)]
    leaky_train, leaky_test = pooled_random_split([train, test, *takes], [60, 20], seed=0)
    assert len(leaky_train) == 60 and len(leaky_test) == 20
    both = shared_source_fraction(leaky_train, leaky_test, ["image_id", "clip_id"])
    assert 0.0 < both <= 1.0
    # a joint key is stricter than either alone
    assert both <= shared_source_fraction(leaky_train, leaky_test, "image_id")


def test_shared_source_mask_marks_the_pairs_the_fraction_counts():
    train, test = _pairs(6), _pairs(4, start=4)  # test ids 4..7, train ids 0..5: the first two are shared
    mask = shared_source_mask(train, test, ["image_id", "clip_id"])
    assert mask.dtype == torch.bool and mask.tolist() == [True, True, False, False]
    assert shared_source_fraction(train, test, ["image_id", "clip_id"]) == 0.5


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: shift_stream(torch.ones(3), 1.5), "lag"),
        (lambda: lag_scores(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), 4), "max_lag"),
        (lambda: lag_scores(torch.zeros(4, 3), torch.zeros(5, dtype=torch.long), 1), "labels"),
        (lambda: flip_labels(torch.zeros(4, dtype=torch.long), 1.5, 3, seed=0), "fraction"),
        (lambda: flip_labels(torch.zeros(4, dtype=torch.long), 0.5, 1, seed=0), "num_classes"),
        (lambda: second_take(_pairs(3), {"text": 0.1}, seed=0), "noise"),
        (lambda: second_take(_pairs(3), {"image": 0.1}, seed=0, clamp={"image": (1, 0)}), "clamp"),
        (lambda: pooled_random_split([_pairs(3)], [5], seed=0), "sizes"),
        (lambda: shared_source_fraction(_pairs(3), _pairs(3), "speaker"), "key"),
        (lambda: shared_source_mask(_pairs(3), _pairs(3), []), "key"),
    ],
)
def test_bad_inputs_name_the_argument(call, words):
    with pytest.raises((TypeError, ValueError, KeyError)) as err:
        call()
    assert words in str(err.value)
