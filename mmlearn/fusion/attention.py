"""Cross-modal attention fusion: modalities as tokens that attend to each other.

Taught in lesson 02 (section 2, "The fusion family, with the maths").

Each modality becomes one token (its feature vector projected to ``d_model``,
plus a learned modality embedding), or, with ``tokens=True``, several tokens
(image cells, words, time steps from the encoder's ``tokens`` method). One
``nn.MultiheadAttention`` layer lets every token attend to all present tokens,
its own included; the outputs are averaged over present tokens and
classified. How much each modality draws on the others is in
``last_attention``, ready to plot.

A missing modality is masked out with ``key_padding_mask``: no token attends
to it and it is left out of the average, so the result depends only on the
modalities present.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from mmlearn.fusion.base import EncoderFusion, mlp_head
from mmlearn.validation import check_positive_int


class AttentionFusion(EncoderFusion):
    """Encoders -> tokens (B, N, d_model) -> self-attention + residual + LayerNorm -> mean -> MLP.

    ``tokens=False``: one token per modality (N = number of modalities).
    ``tokens=True``: every encoder must provide ``tokens(x)`` and ``token_dim``.
    """

    handles_missing_natively = True

    def __init__(
        self,
        encoders,
        num_classes: int,
        d_model: int = 32,
        num_heads: int = 4,
        tokens: bool = False,
        hidden: int | None = 64,
        dropout: float = 0.0,
    ):
        super().__init__(encoders, num_classes)
        self.d_model = check_positive_int(d_model, "d_model")
        if d_model % check_positive_int(num_heads, "num_heads"):
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        self.use_tokens = bool(tokens)
        if self.use_tokens:
            for m, enc in self.encoders.items():
                has_tokens = callable(getattr(enc, "tokens", None))
                if not has_tokens or not isinstance(getattr(enc, "token_dim", None), int):
                    raise TypeError(f"tokens=True needs encoder {m!r} to have tokens() and token_dim")
            in_dims = {m: enc.token_dim for m, enc in self.encoders.items()}
        else:
            in_dims = self.feature_dims
        self.projections = nn.ModuleDict({m: nn.Linear(d, d_model) for m, d in in_dims.items()})
        self.modality_embedding = nn.Parameter(0.02 * torch.randn(len(self.modalities), d_model))  # (M, d)
        self.attention = nn.MultiheadAttention(d_model, num_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(d_model)
        self.head = mlp_head(d_model, num_classes, hidden, dropout)
        self.last_attention: torch.Tensor | None = None  # (B, N, N) head-averaged, from the latest forward
        self.token_owners: list[str] = []  # the modality of each of those N tokens

    def _tokens(self, inputs) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """Build the token batch (B, N, d_model), its padding mask (B, N) (True = ignore) and token owners."""
        batch, present = self.check_inputs(inputs)
        if not self.use_tokens:
            feats = {m: self.encoders[m](inputs[m]) for m in present}
            ref = next(iter(feats.values()))
            tokens = torch.stack(  # (B, M, d); a missing modality's token is zeros, and masked
                [
                    self.projections[m](feats[m]) + self.modality_embedding[i]
                    if m in feats
                    else ref.new_zeros(batch, self.d_model)
                    for i, m in enumerate(self.modalities)
                ],
                dim=1,
            )
            mask = torch.tensor([m not in feats for m in self.modalities], device=ref.device)
            return tokens, mask.expand(batch, -1), list(self.modalities)
        parts, masks, owners = [], [], []
        for m in present:  # missing modalities contribute no tokens at all
            tok, pad = self.encoders[m].tokens(inputs[m])  # (B, N_m, token_dim), (B, N_m) or None
            i = self.modalities.index(m)
            parts.append(self.projections[m](tok) + self.modality_embedding[i])
            if pad is None:
                pad = torch.zeros(tok.shape[:2], dtype=torch.bool, device=tok.device)
            masks.append(pad)
            owners += [m] * tok.shape[1]
        return torch.cat(parts, dim=1), torch.cat(masks, dim=1), owners

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        tokens, mask, self.token_owners = self._tokens(inputs)  # (B, N, d), (B, N)
        attended, weights = self.attention(tokens, tokens, tokens, key_padding_mask=mask, need_weights=True)
        self.last_attention = weights.detach()  # (B, N, N), averaged over heads
        h = self.norm(tokens + attended)  # (B, N, d)
        h = h.masked_fill(mask.unsqueeze(-1), 0.0)
        pooled = h.sum(dim=1) / (~mask).sum(dim=1, keepdim=True)  # mean over present tokens: (B, d)
        return self.head(pooled)  # (B, num_classes)
