"""Tensor fusion (Zadeh et al. 2017) and its low-rank factorisation (Liu et al. 2018).

Taught in lesson 02 (section 2, "The fusion family, with the maths"); ``LowRankFusion.fuse``
is exercise 02.2.

Concatenation lets a linear layer add up modality features; it cannot
multiply them. The Tensor Fusion Network appends a 1 to each modality's
vector and takes their outer product,

    Z = [h_1; 1] (x) [h_2; 1] (x) ... (x) [h_M; 1],

whose entries hold every unimodal feature (thanks to the 1s), every product of
two modalities' features, and so on up to M-way products. A linear layer on
Z has prod(d_m + 1) inputs per output: it grows exponentially with M.

Low-rank multimodal fusion writes that layer's weight tensor as a sum of
``rank`` outer products of per-modality factors W_m^(i), so that

    W . Z = sum_i prod_m (W_m^(i) [h_m; 1])      (elementwise product over m),

which never builds Z: the cost becomes linear in M. ``LowRankFusion.full_weight``
rebuilds the equivalent full weight, so the two can be compared exactly.

Each encoder's features are first projected to ``proj_dim`` (ReLU) to keep
Z small. With ``missing="zeros"`` a missing modality's projected vector is
zeros, so [0; 1] keeps exactly the terms that do not involve it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from mmlearn.fusion.base import EncoderFusion, fill_missing
from mmlearn.validation import check_level, check_positive_int, check_tensor


class _ProductFusion(EncoderFusion):
    """Shared part: encoders -> ReLU projections -> [h_m; 1] vectors -> ``fuse`` -> head.

    Subclasses define ``fuse(z: list of (B, n_m)) -> (B, hidden)``, the fusion layer.
    """

    def __init__(self, encoders, num_classes, proj_dim, hidden, dropout, missing):
        super().__init__(encoders, num_classes, missing)
        self.hidden = check_positive_int(hidden, "hidden")
        if proj_dim is None:
            self.projections = nn.ModuleDict({m: nn.Identity() for m in self.modalities})
            self.proj_dims = dict(self.feature_dims)
        else:
            check_positive_int(proj_dim, "proj_dim")
            self.projections = nn.ModuleDict(
                {m: nn.Sequential(nn.Linear(d, proj_dim), nn.ReLU()) for m, d in self.feature_dims.items()}
            )
            self.proj_dims = {m: proj_dim for m in self.modalities}
        self.head = nn.Sequential(
            nn.ReLU(), nn.Dropout(check_level(dropout, "dropout")), nn.Linear(hidden, num_classes)
        )

    def augmented(self, inputs: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        """[h_m; 1] for every modality in model order: a list of (B, proj_dim_m + 1) tensors."""
        feats, _, batch = self.encode(inputs)
        projected = fill_missing({m: self.projections[m](f) for m, f in feats.items()}, self.proj_dims, batch)
        return [torch.cat([projected[m], projected[m].new_ones(batch, 1)], dim=1) for m in self.modalities]

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.fuse(self.augmented(inputs)))  # (B, num_classes)


def outer_product(z: list[torch.Tensor]) -> torch.Tensor:
    """Batched outer product of (B, n_m) vectors, flattened: (B, prod n_m), first modality outermost."""
    if isinstance(z, torch.Tensor) or not isinstance(z, list | tuple) or not z:
        raise TypeError(
            f"z must be a non-empty list of (B, n) tensors, one per modality, got {type(z).__name__}"
        )
    for i, v in enumerate(z):
        check_tensor(v, f"z[{i}]", ndim=2)
        if v.shape[0] != z[0].shape[0]:
            raise ValueError(f"z[{i}] has {v.shape[0]} rows but z[0] has {z[0].shape[0]}: one batch for all")
    out = z[0]
    for v in z[1:]:
        out = (out.unsqueeze(2) * v.unsqueeze(1)).flatten(1)  # (B, n_so_far * n_m)
    return out


class TensorFusion(_ProductFusion):
    """Tensor Fusion Network: outer product of the [h_m; 1] -> linear(fused_dim, hidden) -> ReLU -> linear.

    ``fused_dim = prod_m (proj_dim_m + 1)`` (with ``proj_dim=None``, the encoders' out_dim).
    """

    def __init__(
        self,
        encoders,
        num_classes: int,
        proj_dim: int | None = 16,
        hidden: int = 64,
        dropout: float = 0.0,
        missing: str = "error",
    ):
        super().__init__(encoders, num_classes, proj_dim, hidden, dropout, missing)
        self.fused_dim = math.prod(d + 1 for d in self.proj_dims.values())
        self.fusion = nn.Linear(self.fused_dim, hidden)

    def fuse(self, z: list[torch.Tensor]) -> torch.Tensor:
        return self.fusion(outer_product(z))  # (B, fused_dim) -> (B, hidden)


class LowRankFusion(_ProductFusion):
    """Low-rank multimodal fusion: sum over ``rank`` of the elementwise product of W_m^(i) [h_m; 1], + bias.

    ``factors[m]`` has shape (rank, proj_dim_m + 1, hidden): rank * sum_m (proj_dim_m + 1) * hidden
    weights in place of the tensor layer's prod_m (proj_dim_m + 1) * hidden. (The paper's extra
    per-rank weights are absorbed into the factors.)
    """

    def __init__(
        self,
        encoders,
        num_classes: int,
        rank: int = 4,
        proj_dim: int | None = 16,
        hidden: int = 64,
        dropout: float = 0.0,
        missing: str = "error",
    ):
        super().__init__(encoders, num_classes, proj_dim, hidden, dropout, missing)
        self.rank = check_positive_int(rank, "rank")
        n_mod = len(self.modalities)
        factors = {}
        for m, d in self.proj_dims.items():
            # each factor's output has about unit scale, and rank**(-1/(2M)) per factor makes the
            # sum over the rank terms keep that scale
            std = (d + 1) ** -0.5 * rank ** (-0.5 / n_mod)
            factors[m] = nn.Parameter(std * torch.randn(rank, d + 1, hidden))
        self.factors = nn.ParameterDict(factors)
        self.bias = nn.Parameter(torch.zeros(hidden))

    def fuse(self, z: list[torch.Tensor]) -> torch.Tensor:
        product = None
        for m, v in zip(self.modalities, z, strict=True):
            term = torch.einsum("bi,rih->brh", v, self.factors[m])  # (B, rank, hidden)
            product = term if product is None else product * term
        return product.sum(dim=1) + self.bias  # (B, hidden)

    def full_weight(self) -> torch.Tensor:
        """The equivalent tensor-fusion weight (hidden, prod_m (proj_dim_m + 1)), ``outer_product`` order."""
        full = None
        for m in self.modalities:
            f = self.factors[m]  # (rank, n_m, hidden)
            full = f if full is None else (full.unsqueeze(2) * f.unsqueeze(1)).flatten(1, 2)
        return full.sum(dim=0).T  # (hidden, prod n_m)
