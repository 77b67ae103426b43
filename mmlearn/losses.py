"""Losses that pull paired modalities together in one embedding space.

Lesson 03 (section 3, "Learned projection heads with a ranking loss") trains with the hinge ranking
loss of VSE++ (Faghri et al. 2018), ``ranking_loss`` / ``RankingLoss``: a
matching pair must score higher than the non-matching pairs by a margin, and
keeping only the hardest negative of each query gave Faghri et al. a much
better recall@1 than summing over all of them. The lesson's exercise 03.1 has
the student write that loss; ``RankingLoss`` is its reference, which the lesson
trains with until the student's passes. Lesson 04 compares three more:

- ``naive_cosine_loss``: maximise the cosine similarity of each pair and
  nothing else. It has no negatives, so a constant embedding is a perfect
  solution: the model *collapses*. This is the mistake the course points out.
- ``clip_loss`` / ``ClipLoss`` (InfoNCE, Radford et al. 2021): every other
  item in the batch is a negative; a softmax over the batch picks the right
  partner, in both directions.
- ``siglip_loss`` / ``SigLipLoss`` (Zhai et al. 2023): each (image, text)
  pair is its own binary problem (match or not) scored by a sigmoid, so no
  softmax over the whole batch is needed.

``ClipLoss`` and ``SigLipLoss`` are also the references of lesson 04's
exercises 04.1 and 04.2, which the lesson trains with until the student's
own class passes.

Every function L2-normalises the features itself, so callers may pass raw
encoder outputs; the similarity is then a cosine in [-1, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.validation import check_number, check_tensor

__all__ = [
    "clip_loss",
    "ClipLoss",
    "siglip_loss",
    "SigLipLoss",
    "naive_cosine_loss",
    "NaiveCosineLoss",
    "ranking_loss",
    "RankingLoss",
]

REDUCTIONS = ("max", "sum")  # of the ranking loss: hardest negative (VSE++) or all of them (VSE)


def _check_pair(image_features, text_features, *, contrastive: bool) -> None:
    """Both feature batches: finite 2-D tensors of the same shape (and >= 2 rows to contrast)."""
    for name, features in (("image_features", image_features), ("text_features", text_features)):
        check_tensor(features, name, ndim=2)
        if not features.is_floating_point():
            raise TypeError(
                f"{name} must be floating point, got {features.dtype} "
                "(token ids go through the text encoder first)"
            )
    if image_features.shape != text_features.shape:
        raise ValueError(
            f"image_features {tuple(image_features.shape)} and text_features "
            f"{tuple(text_features.shape)} must have the same shape (row i of each is a pair)"
        )
    if contrastive and image_features.shape[0] < 2:
        raise ValueError(
            "a contrastive loss needs a batch of at least 2 pairs: the other items in the batch "
            "are the negatives, and with a single pair there is nothing to contrast it with"
        )


def _as_scalar(value, name: str, like: torch.Tensor, *, positive: bool) -> torch.Tensor:
    """A float or 0-d/1-element tensor as a tensor on ``like``'s device, checked finite (and > 0)."""
    if not isinstance(value, torch.Tensor):
        check_number(value, name)
    value = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if value.numel() != 1:
        raise ValueError(f"{name} must be a single number, got shape {tuple(value.shape)}")
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} is {value.item()}: it must be finite")
    if positive and value.item() <= 0:
        raise ValueError(f"{name} must be positive (it multiplies cosine similarities), got {value.item()}")
    return value.reshape(())


def clip_loss(image_features: torch.Tensor, text_features: torch.Tensor, logit_scale) -> torch.Tensor:
    """Symmetric InfoNCE loss of CLIP for a batch of N (image, text) pairs.

    ``logit_scale`` is the scale s itself (1 / temperature), not its log.
    Features are L2-normalised here; then logits = s * I @ T.T and
    loss = (CE(logits, arange(N)) + CE(logits.T, arange(N))) / 2.
    Equal to ``open_clip.loss.ClipLoss`` on normalised features.
    """
    _check_pair(image_features, text_features, contrastive=True)
    scale = _as_scalar(logit_scale, "logit_scale", image_features, positive=True)
    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(text_features, dim=-1)
    logits_per_image = scale * image_features @ text_features.T  # (N, N): row i = image i vs all texts
    logits_per_text = logits_per_image.T  # (N, N): row j = text j vs all images
    targets = torch.arange(image_features.shape[0], device=image_features.device)  # pair i is on the diagonal
    return (F.cross_entropy(logits_per_image, targets) + F.cross_entropy(logits_per_text, targets)) / 2


class ClipLoss(nn.Module):
    """CLIP loss with a learnable temperature.

    The parameter is the *log* of the scale (so the scale stays positive),
    initialised to log(1 / 0.07) as in CLIP and open_clip. The scale used in
    the loss is clamped at ``max_scale`` (100): CLIP clips it there so that
    training stays stable; above the cap the parameter gets no gradient.
    """

    def __init__(self, init_temperature: float = 0.07, max_scale: float = 100.0, learnable: bool = True):
        super().__init__()
        init_temperature = check_number(init_temperature, "init_temperature", positive=True)
        self.max_scale = check_number(max_scale, "max_scale", positive=True)
        log_scale = torch.tensor(math.log(1.0 / init_temperature))
        self.log_logit_scale = nn.Parameter(log_scale, requires_grad=learnable)

    @property
    def logit_scale(self) -> torch.Tensor:
        """The scale s = exp(log scale), clamped at ``max_scale`` (a 0-d tensor that carries gradient)."""
        return self.log_logit_scale.clamp(max=math.log(self.max_scale)).exp()

    @property
    def temperature(self) -> float:
        """1 / s, as a plain number for printing."""
        return 1.0 / self.logit_scale.item()

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        return clip_loss(image_features, text_features, self.logit_scale)

    def extra_repr(self) -> str:
        return f"logit_scale={self.logit_scale.item():.3f}, max_scale={self.max_scale}"


def siglip_loss(
    image_features: torch.Tensor, text_features: torch.Tensor, logit_scale, logit_bias
) -> torch.Tensor:
    """Sigmoid loss of SigLIP for a batch of N pairs.

    Features are L2-normalised here; logits = s * I @ T.T + b; labels are +1
    on the diagonal (the true pairs) and -1 elsewhere;
    loss = -sum(logsigmoid(labels * logits)) / N.
    """
    _check_pair(image_features, text_features, contrastive=True)
    scale = _as_scalar(logit_scale, "logit_scale", image_features, positive=True)
    bias = _as_scalar(logit_bias, "logit_bias", image_features, positive=False)
    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(text_features, dim=-1)
    n = image_features.shape[0]
    logits = scale * image_features @ text_features.T + bias  # (N, N)
    labels = 2 * torch.eye(n, device=logits.device, dtype=logits.dtype) - 1  # +1 diagonal, -1 elsewhere
    return -F.logsigmoid(labels * logits).sum() / n


class SigLipLoss(nn.Module):
    """SigLIP loss with a learnable scale (stored as its log, init 10) and bias (init -10).

    The negative bias starts the model off predicting "no match" for every
    pair, which is right for all but N of the N * N pairs in a batch.
    """

    def __init__(self, init_scale: float = 10.0, init_bias: float = -10.0, learnable: bool = True):
        super().__init__()
        init_scale = check_number(init_scale, "init_scale", positive=True)
        init_bias = check_number(init_bias, "init_bias")
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(init_scale)), requires_grad=learnable)
        self.logit_bias = nn.Parameter(torch.tensor(init_bias), requires_grad=learnable)

    @property
    def logit_scale(self) -> torch.Tensor:
        """The scale s = exp(log scale) (a 0-d tensor that carries gradient)."""
        return self.log_logit_scale.exp()

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        return siglip_loss(image_features, text_features, self.logit_scale, self.logit_bias)

    def extra_repr(self) -> str:
        return f"logit_scale={self.logit_scale.item():.3f}, logit_bias={self.logit_bias.item():.3f}"


def naive_cosine_loss(image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - cos(image_i, text_i): pull pairs together, push nothing apart.

    Shown in lesson 04 as the broken objective: with no negatives, mapping
    every input to the same vector gives the minimum, 0, so training collapses.
    """
    _check_pair(image_features, text_features, contrastive=False)
    return (1 - F.cosine_similarity(image_features, text_features, dim=-1)).mean()


class NaiveCosineLoss(nn.Module):
    """``naive_cosine_loss`` as a module, so it plugs into ``train_contrastive`` like ``ClipLoss``.

    It has no parameters: there is no temperature when no softmax compares pairs.
    """

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        return naive_cosine_loss(image_features, text_features)


# --- the margin ranking loss of lesson 03 --------------------------------------------------------------


def _check_margin(margin, reduction) -> tuple[float, str]:
    if (
        isinstance(margin, bool)
        or not isinstance(margin, int | float)
        or not margin >= 0
        or margin == float("inf")
    ):
        raise ValueError(f"margin must be a finite non-negative number, got {margin!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return float(margin), reduction


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
    _check_pair(image_features, text_features, contrastive=True)
    margin, reduction = _check_margin(margin, reduction)
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
        self.margin, self.reduction = _check_margin(margin, reduction)

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        return ranking_loss(image_features, text_features, self.margin, self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, reduction={self.reduction!r}"
