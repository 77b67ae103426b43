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
