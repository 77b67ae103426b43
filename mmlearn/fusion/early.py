"""Early fusion: join the raw inputs, then learn one model on the joined vector.

Taught in lesson 02 (section 2, "The fusion family, with the maths").

"Early" means the modalities meet before any modality-specific processing:
each raw input is flattened, all are concatenated, and a single MLP sees the
result. There is no per-modality encoder, so the model cannot exploit the
structure of an image or a spectrogram; that is the price of its simplicity
and the point of comparing it with the other methods.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from mmlearn.fusion.base import FusionModel, fill_missing, mlp_head
from mmlearn.validation import to_module_dtype


class EarlyFusion(FusionModel):
    """Flatten and concatenate raw inputs -> batch norm -> MLP -> (B, num_classes).

    ``input_shapes`` names the modalities and gives each one's per-sample
    shape, e.g. ``{"image": (1, 8, 8), "audio": (13, 20)}``: early fusion has
    no encoders, so that is all it needs to know.
    ``normalize`` batch-normalises every raw feature, so that a modality in
    large units (MFCC c0 near -300) does not drown one in [0, 1] (pixels).
    With ``missing="zeros"`` an absent modality's raw values are all zeros.
    """

    def __init__(
        self,
        input_shapes: Mapping[str, int | tuple[int, ...]],
        num_classes: int,
        hidden: int | None = 64,
        dropout: float = 0.0,
        normalize: bool = True,
        missing: str = "error",
    ):
        if not isinstance(input_shapes, Mapping) or not input_shapes:
            raise TypeError(
                "early fusion has no encoders: pass input_shapes, the per-sample shape of each modality, "
                f"e.g. {{'image': (1, 8, 8), 'audio': (13, 44)}}; got {type(input_shapes).__name__}"
            )
        if any(isinstance(v, nn.Module) for v in input_shapes.values()):
            raise TypeError(
                "early fusion has no encoders: pass input_shapes ({name: per-sample shape}), not encoders"
            )
        names = list(input_shapes)
        if not all(isinstance(m, str) and m and "." not in m for m in names):
            raise ValueError(f"modality names must be non-empty strings without '.', got {names}")
        super().__init__(names, num_classes, missing)
        self.input_shapes = {}
        for m in names:
            shape = input_shapes[m]
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            if not shape or not all(isinstance(s, int) and s > 0 for s in shape):
                raise ValueError(f"input_shapes[{m!r}] must be positive integers, got {shape}")
            self.input_shapes[m] = shape
        self.flat_dims = {m: math.prod(s) for m, s in self.input_shapes.items()}
        self.fused_dim = sum(self.flat_dims.values())
        self.norm = nn.BatchNorm1d(self.fused_dim) if normalize else nn.Identity()
        self.head = mlp_head(self.fused_dim, num_classes, hidden, dropout)

    def flatten_inputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Check and flatten the raw inputs: (B, sum of per-modality sizes), zeros for missing ones."""
        batch, present = self.check_inputs(inputs)
        flat = {}
        for m in present:
            x = inputs[m]
            if not x.is_floating_point():
                raise TypeError(
                    f"early fusion concatenates raw float values, but modality {m!r} has dtype {x.dtype}; "
                    "convert it to float features first (token ids must be embedded: use intermediate fusion)"
                )
            if tuple(x.shape[1:]) != self.input_shapes[m]:
                raise ValueError(
                    f"modality {m!r} must have per-sample shape {self.input_shapes[m]}, "
                    f"got {tuple(x.shape[1:])}"
                )
            flat[m] = x.reshape(batch, -1)  # (B, prod(shape))
        flat = fill_missing(flat, self.flat_dims, batch)
        return torch.cat([flat[m] for m in self.modalities], dim=1)  # (B, fused_dim)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.norm(to_module_dtype(self.flatten_inputs(inputs), self)))  # (B, num_classes)
