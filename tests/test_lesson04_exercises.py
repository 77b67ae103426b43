"""The lesson-04 exercise specs accept the reference answers and reject wrong ones."""

import pytest
import torch

from mmlearn.exercises import check
from mmlearn.exercises.checker import passed
from mmlearn.exercises.lesson04 import info_nce_reference, recall_at_k_reference
from mmlearn.losses import clip_loss
from mmlearn.metrics import recall_at_k


def test_references_pass(capsys):
    check("04.1", info_nce_reference)
    check("04.2", recall_at_k_reference)
    assert passed("04.1") and passed("04.2")


def test_info_nce_matches_package_loss():
    gen = torch.Generator().manual_seed(0)
    image, text = torch.randn(6, 4, generator=gen), torch.randn(6, 4, generator=gen)
    assert torch.allclose(info_nce_reference(image, text, 7.0), clip_loss(image, text, 7.0))
    with pytest.raises(ValueError, match="same shape"):
        info_nce_reference(torch.zeros(3, 2), torch.zeros(2, 2), 1.0)


def test_recall_matches_package_metric():
    gen = torch.Generator().manual_seed(1)
    similarity = torch.randn(20, 20, generator=gen)
    for k in (1, 3, 10):
        assert recall_at_k_reference(similarity, k) == pytest.approx(recall_at_k(similarity, k))
    with pytest.raises(ValueError, match="k must lie"):
        recall_at_k_reference(similarity, 21)


def test_wrong_answers_fail(capsys):
    # one direction only: not the symmetric loss
    check("04.1", lambda i, t, s: torch.nn.functional.cross_entropy(s * i @ t.T, torch.arange(len(i))))
    assert not passed("04.1")
    # off by one: counts ranks <= k
    check("04.2", lambda sim, k: ((sim > sim.diagonal()[:, None]).sum(1) <= k).float().mean().item())
    assert not passed("04.2")


def test_recall_ties_count_against_the_right_candidate():
    """The pessimistic rule of mmlearn.metrics.recall_at_k: a collapsed model gets no lucky recall."""
    collapsed = torch.ones(6, 6)
    assert recall_at_k_reference(collapsed, 1) == 0.0 == recall_at_k(collapsed, 1)
    assert recall_at_k_reference(collapsed, 6) == 1.0 == recall_at_k(collapsed, 6)
    gen = torch.Generator().manual_seed(2)
    for _ in range(5):
        s = torch.randint(0, 3, (8, 8), generator=gen).float()  # many ties
        for k in range(1, 9):
            assert recall_at_k_reference(s, k) == pytest.approx(recall_at_k(s, k))


def test_a_string_is_not_a_recall(capsys):
    check("04.2", lambda s, k: str(recall_at_k_reference(s, k)))
    assert not passed("04.2")
    assert "should be a number (a Python float), got str" in capsys.readouterr().out


def test_zeroing_the_inputs_in_place_cannot_pass(capsys):
    """The aligned case used to hand the student the very tensor the reference read afterwards:
    zeroing it made the loss of zeros match a reference computed on the same zeros."""

    def zeroes_the_aligned_case(image, text, scale):
        if image.shape != text.shape:
            raise ValueError("shapes differ")
        if len(image) == 8:  # only the aligned pairs come 8 at a time
            image.zero_()
            text.zero_()
        return info_nce_reference(image, text, scale)

    check("04.1", zeroes_the_aligned_case)
    assert not passed("04.1")
    assert "the loss of perfectly aligned pairs" in capsys.readouterr().out


def test_an_answer_that_breaks_ties_in_its_favour_fails():
    def optimistic(similarity, k):
        if not 1 <= k <= similarity.shape[1]:
            raise ValueError("k")
        rank = (similarity > similarity.diagonal().unsqueeze(1)).sum(dim=1)  # ties not counted
        return (rank < k).float().mean().item()

    check("04.2", optimistic)
    assert not passed("04.2")
