"""An MLP encoder for any flat feature vector: a clinical record, flattened pixels, flattened MFCCs.

Taught in lesson 02 (section 3, "Train everything": the encoder of every
fusion method there, on flattened digit images and MFCCs) and used
for the clinical records of lesson 09. Columns of such vectors come in
unrelated units, so the first layer batch-normalises each column; after that
a plain MLP is the standard choice.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mmlearn.validation import check_level, check_positive_int, check_tensor, check_widths, to_module_dtype


class MLPEncoder(nn.Module):
    """(B, in_features) feature vectors -> (B, out_dim) features.

    Layers: optional batch norm per column -> [linear -> ReLU -> dropout] for
    each width in ``hidden`` -> linear to ``out_dim``.
    """

    def __init__(
        self,
        in_features: int,
        out_dim: int = 32,
        hidden: Sequence[int] = (64,),
        normalize: bool = True,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        dropout = check_level(dropout, "dropout")
        layers: list[nn.Module] = [nn.BatchNorm1d(in_features) if normalize else nn.Identity()]
        width = in_features
        for h in check_widths(hidden, "hidden"):
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, out_dim))
        self.mlp = nn.Sequential(*layers)
        self.token_dim = out_dim  # a record is a single token, see tokens()

    def _check(self, x) -> torch.Tensor:
        name = "MLPEncoder input"
        check_tensor(x, name, ndim=2)
        if not x.is_floating_point():
            raise TypeError(f"{name} must hold floats, got dtype {x.dtype}")
        if x.shape[1] != self.in_features:
            raise ValueError(f"{name} must have {self.in_features} columns, got shape {tuple(x.shape)}")
        return x

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """(B, in_features) -> (B, 1, out_dim): the whole record as one token."""
        return self.forward(x).unsqueeze(1), None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(to_module_dtype(self._check(x), self))  # (B, out_dim)
