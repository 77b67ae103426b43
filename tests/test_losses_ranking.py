"""Tests of the hinge ranking loss (VSE / VSE++) against an explicit loop over pairs."""

import pytest
import torch
import torch.nn.functional as F

from mmlearn.losses import RankingLoss, ranking_loss


def loop_ranking_loss(image, text, margin, reduction):
    """The same loss written pair by pair, straight from the paper's formula."""
    img, txt = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
    b = len(img)
    total = 0.0
    for i in range(b):
        costs_i2t, costs_t2i = [], []
        for j in range(b):
            if j == i:
                continue
            costs_i2t.append(max(0.0, margin - float(img[i] @ txt[i]) + float(img[i] @ txt[j])))
            costs_t2i.append(max(0.0, margin - float(img[i] @ txt[i]) + float(img[j] @ txt[i])))
        pick = max if reduction == "max" else sum
        total += pick(costs_i2t) + pick(costs_t2i)
    return total / b


@pytest.mark.parametrize("reduction", ["max", "sum"])
@pytest.mark.parametrize("margin", [0.0, 0.2, 1.0])
def test_matches_loop(reduction, margin):
    gen = torch.Generator().manual_seed(0)
    image, text = torch.randn(7, 5, generator=gen), torch.randn(7, 5, generator=gen)
    got = ranking_loss(image, text, margin, reduction)
    assert got.item() == pytest.approx(loop_ranking_loss(image, text, margin, reduction), abs=1e-5)


def test_hardest_negative_is_at_most_sum_and_zero_for_separated_pairs():
    gen = torch.Generator().manual_seed(1)
    image, text = torch.randn(6, 4, generator=gen), torch.randn(6, 4, generator=gen)
    assert ranking_loss(image, text, reduction="max") <= ranking_loss(image, text, reduction="sum")
    identity = torch.eye(4)  # each pair identical, orthogonal to the others: cosine gap 1 > margin
    assert ranking_loss(identity, identity, margin=0.5).item() == 0.0
    assert ranking_loss(identity, identity, margin=1.5).item() == pytest.approx(2 * 0.5)


def test_gradients_flow_and_module_matches_function():
    gen = torch.Generator().manual_seed(2)
    image = torch.randn(5, 3, generator=gen, requires_grad=True)
    text = torch.randn(5, 3, generator=gen)
    loss = RankingLoss(margin=0.3)(image, text)
    assert loss.item() == pytest.approx(ranking_loss(image, text, 0.3).item())
    loss.backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert "margin=0.3" in repr(RankingLoss(margin=0.3))


def test_bad_inputs():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match="same shape"):
        ranking_loss(x, torch.randn(4, 2))
    with pytest.raises(ValueError, match="at least 2 pairs"):
        ranking_loss(x[:1], x[:1])
    with pytest.raises(ValueError, match="margin"):
        ranking_loss(x, x, margin=-0.1)
    with pytest.raises(ValueError, match="reduction"):
        ranking_loss(x, x, reduction="mean")
    with pytest.raises(TypeError, match="torch.Tensor"):
        ranking_loss(x.numpy(), x)
    with pytest.raises(ValueError, match="2 dimensions"):
        ranking_loss(torch.randn(4), torch.randn(4))
    with pytest.raises(ValueError, match="NaN"):
        ranking_loss(torch.full((3, 2), float("nan")), torch.randn(3, 2))
    with pytest.raises(ValueError, match="margin"):
        RankingLoss(margin=-1)
    with pytest.raises(ValueError, match="reduction"):
        RankingLoss(reduction="avg")
