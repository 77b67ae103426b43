"""Ten ways to fuse modalities behind one interface.

Taught in lesson 02 (section 2, "The fusion family, with the maths"); lessons 05, 08 and 09 reuse
it.

Every model is built as ``make_fusion_model(method, encoders, num_classes, **options)``
from a ``{modality name: encoder}`` dict, and maps a ``{modality name: batch}``
dict to ``(B, num_classes)`` logits (log-probabilities for the late methods).
Train any of them with ``mmlearn.training.train_classifier``, which calls ``model.training_step``.

| method          | what meets where                                       | missing modality      |
|-----------------|--------------------------------------------------------|-----------------------|
| "early"         | raw inputs, flattened and concatenated, one MLP        | error, or zeros       |
| "late_mean"     | per-modality classifiers' probabilities, averaged      | renormalised          |
| "late_weighted" | ... weighted average with settable fixed weights       | renormalised          |
| "late_vote"     | ... majority vote, ties broken by summed probabilities | vote among present    |
| "late_learned"  | ... weighted average with learned weights              | renormalised          |
| "intermediate"  | encoder features, concatenated, MLP head               | error, or zeros       |
| "attention"     | encoder features as tokens, multi-head attention       | masked                |
| "tensor"        | outer product of [h_m; 1] (Tensor Fusion Network)      | error, or zeros       |
| "low_rank"      | low-rank factorised tensor fusion (LMF)                | error, or zeros       |
| "gated"         | per-sample softmax gates over projected features      | gates renormalised    |

Encoders are used as given, not copied: build fresh encoders for each model
unless sharing (for example pre-trained encoders) is intended.
"""

from __future__ import annotations

from collections.abc import Mapping

from mmlearn.fusion.attention import AttentionFusion
from mmlearn.fusion.base import MISSING_POLICIES, FusionModel
from mmlearn.fusion.early import EarlyFusion
from mmlearn.fusion.gated import GatedFusion
from mmlearn.fusion.intermediate import IntermediateFusion
from mmlearn.fusion.late import LATE_RULES, LateFusion, UnimodalClassifier
from mmlearn.fusion.tensor import LowRankFusion, TensorFusion, outer_product

FUSION_METHODS = [
    "early",
    "late_mean",
    "late_weighted",
    "late_vote",
    "late_learned",
    "intermediate",
    "attention",
    "tensor",
    "low_rank",
    "gated",
]

_CLASSES = {
    "early": EarlyFusion,
    "intermediate": IntermediateFusion,
    "attention": AttentionFusion,
    "tensor": TensorFusion,
    "low_rank": LowRankFusion,
    "gated": GatedFusion,
}


def make_fusion_model(method: str, branches: dict, num_classes: int, **options) -> FusionModel:
    """Build the fusion model called ``method`` (one of ``FUSION_METHODS``).

    ``branches`` is what each modality goes through before the fusion: a dict
    of encoders ``{name: nn.Module}``, or for "early", which has no encoders,
    the per-sample input shapes ``{name: shape}``. ``options`` go to the
    model's class: e.g. ``missing``, ``hidden``, ``weights`` (late_weighted),
    ``rank`` (low_rank), ``tokens`` (attention). An option the method does
    not take raises a TypeError.
    """
    if method not in FUSION_METHODS:
        raise ValueError(f"unknown fusion method {method!r}; choose one of {FUSION_METHODS}")
    if not isinstance(branches, Mapping) or not branches:
        raise TypeError(f"branches must be a non-empty dict {{modality name: encoder}}, got {branches!r}")
    if method.startswith("late_"):
        return LateFusion(branches, num_classes, rule=method.removeprefix("late_"), **options)
    return _CLASSES[method](branches, num_classes, **options)


__all__ = [
    "FUSION_METHODS",
    "LATE_RULES",
    "MISSING_POLICIES",
    "AttentionFusion",
    "EarlyFusion",
    "FusionModel",
    "GatedFusion",
    "IntermediateFusion",
    "LateFusion",
    "LowRankFusion",
    "TensorFusion",
    "UnimodalClassifier",
    "make_fusion_model",
    "outer_product",
]
