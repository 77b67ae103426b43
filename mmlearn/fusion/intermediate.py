"""Intermediate (feature-level) fusion: encode each modality, concatenate the features, classify.

Taught in lesson 02 (section 2, "The fusion family, with the maths"); lesson 05's model.

The workhorse of multimodal learning: each modality keeps an encoder suited
to it, and one head learns from all features together, so it can use
interactions between modalities that late fusion never sees.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from mmlearn.fusion.base import EncoderFusion, fill_missing, mlp_head


class IntermediateFusion(EncoderFusion):
    """Encoders -> concatenated features (B, sum of out_dims) -> MLP -> (B, num_classes).

    With ``missing="zeros"`` an absent modality's feature vector is all zeros.
    """

    def __init__(
        self,
        encoders,
        num_classes: int,
        hidden: int | None = 64,
        dropout: float = 0.0,
        missing: str = "error",
    ):
        super().__init__(encoders, num_classes, missing)
        self.fused_dim = sum(self.feature_dims.values())
        self.head = mlp_head(self.fused_dim, num_classes, hidden, dropout)

    def fused_features(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The concatenated features (B, fused_dim) that the head classifies."""
        feats, _, batch = self.encode(inputs)
        feats = fill_missing(feats, self.feature_dims, batch)
        return torch.cat([feats[m] for m in self.modalities], dim=1)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.fused_features(inputs))  # (B, num_classes)
