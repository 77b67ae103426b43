"""Gated fusion: a small network decides, per sample, how much to trust each modality.

Taught in lesson 02 (section 2, "The fusion family, with the maths"); its forward pass is
exercise 02.1.

A variant of the Gated Multimodal Unit (Arevalo et al. 2017), which gates
every feature with a sigmoid: here each modality's features are projected to
a common size (tanh), a gate network reads all features and outputs one
weight per modality (softmax), and the fused vector is the weighted sum. A
noisy image can get a small weight for that sample only; ``last_gates``
keeps the weights for plotting.

A missing modality gets gate weight 0: its features enter the gate network as
zeros and the softmax is renormalised over the modalities present.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from mmlearn.fusion.base import EncoderFusion, fill_missing, mlp_head
from mmlearn.validation import check_positive_int


class GatedFusion(EncoderFusion):
    """Encoders -> tanh projections (B, M, d_model), gates (B, M) -> weighted sum (B, d_model) -> MLP."""

    handles_missing_natively = True

    def __init__(
        self,
        encoders,
        num_classes: int,
        d_model: int = 32,
        hidden: int | None = 64,
        dropout: float = 0.0,
    ):
        super().__init__(encoders, num_classes)
        self.d_model = check_positive_int(d_model, "d_model")
        self.projections = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(d, d_model), nn.Tanh()) for m, d in self.feature_dims.items()}
        )
        self.gate = nn.Linear(sum(self.feature_dims.values()), len(self.modalities))
        self.head = mlp_head(d_model, num_classes, hidden, dropout)
        self.last_gates: torch.Tensor | None = None  # (B, M) from the latest forward

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        feats, present, batch = self.encode(inputs)  # {m: (B, d_m)} for the modalities present
        full = fill_missing(feats, self.feature_dims, batch)  # zeros (B, d_m) for a missing one
        scores = self.gate(torch.cat([full[m] for m in self.modalities], dim=1))  # (B, M)
        absent = torch.tensor([m not in feats for m in self.modalities], device=scores.device)  # (M,)
        g = torch.softmax(scores.masked_fill(absent, float("-inf")), dim=1)  # (B, M), 0 where absent
        self.last_gates = g.detach()
        fused = sum(g[:, self.modalities.index(m), None] * self.projections[m](feats[m]) for m in present)
        return self.head(fused)  # (B, d_model) -> (B, num_classes)
