"""Hinge-based ranking loss for a shared image-text space (VSE++, Faghri et al. 2018).

Before contrastive learning with a softmax (CLIP's InfoNCE, ``mmlearn.losses``),
joint embeddings were trained with a margin: a matching pair must score higher
than every non-matching pair by at least ``margin``. VSE++ keeps only the
hardest negative of each query, which gives much better recall@1 than summing
over all negatives. This module holds that loss, as a function and as a module
that ``mmlearn.training.train_contrastive`` can train with.
"""

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.validation import check_tensor

REDUCTIONS = ("max", "sum")


def _check_inputs(image_features, text_features, margin, reduction) -> float:
    check_tensor(image_features, "image_features", ndim=2)
    check_tensor(text_features, "text_features", ndim=2)
    if image_features.shape != text_features.shape:
        raise ValueError(
            "image_features and text_features must have the same shape (B, D), got "
            f"{tuple(image_features.shape)} and {tuple(text_features.shape)}"
        )
    if len(image_features) < 2:
        raise ValueError(
            "a ranking loss needs at least 2 pairs: the other pairs of the batch are the negatives"
        )
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not margin >= 0:
        raise ValueError(f"margin must be a non-negative number, got {margin!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return float(margin)


def ranking_loss(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    margin: float = 0.2,
    reduction: str = "max",
) -> torch.Tensor:
    """Bidirectional hinge ranking loss over a batch of B matching pairs (row i goes with row i).

    Features are L2-normalised, s = cosine similarity (B, B). For each image i,
    every caption j != i costs ``max(0, margin - s[i, i] + s[i, j])``, and each
    caption likewise against the other images. ``reduction="max"`` keeps the
    hardest negative per query (VSE++); ``"sum"`` adds all of them (the older
    VSE loss). Returns the mean over the B queries of both directions.
    """
    margin = _check_inputs(image_features, text_features, margin, reduction)
    img = F.normalize(image_features, dim=-1)
    txt = F.normalize(text_features, dim=-1)
    s = img @ txt.T  # (B, B) cosine similarities; matching pairs on the diagonal
    positive = s.diagonal()  # (B,)
    eye = torch.eye(len(s), dtype=torch.bool, device=s.device)
    cost_i2t = (margin - positive[:, None] + s).clamp(min=0).masked_fill(eye, 0)  # image i vs caption j
    cost_t2i = (margin - positive[None, :] + s).clamp(min=0).masked_fill(eye, 0)  # caption j vs image i
    if reduction == "max":
        return cost_i2t.max(dim=1).values.mean() + cost_t2i.max(dim=0).values.mean()
    return cost_i2t.sum(dim=1).mean() + cost_t2i.sum(dim=0).mean()


class RankingLoss(nn.Module):
    """``ranking_loss`` as a module (no parameters), for ``train_contrastive``."""

    def __init__(self, margin: float = 0.2, reduction: str = "max"):
        super().__init__()
        if isinstance(margin, bool) or not isinstance(margin, int | float) or not margin >= 0:
            raise ValueError(f"margin must be a non-negative number, got {margin!r}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.margin, self.reduction = float(margin), reduction

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        return ranking_loss(image_features, text_features, self.margin, self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, reduction={self.reduction!r}"
