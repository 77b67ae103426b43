"""Encoders for the clinical lesions: a small CNN for the pictures and an MLP for the records.

Taught in lesson 09 (section 2, "Models on each modality and on both"); lesson 10 reuses it.

The lesion CNN is two convolution blocks (conv 3x3 -> batch norm -> ReLU,
a 2x2 max pool between them) whose last feature map is summarised by its
mean *and* its maximum over all positions: the mean measures how much of the
field is lesion (the diameter) and how dark or patchy it is on average, the
maximum catches a single dark patch or notch wherever it sits. Inputs are
scaled from [0, 1] pixels to about zero mean and unit spread first.
``tokens`` gives one token per cell of the last feature map, for attention.

``clinical_encoders(seed=...)`` builds a fresh ``{"image", "record"}`` pair
with reproducible initial weights, the way ``recipes.av_encoders`` does for
lesson 05.
"""

from __future__ import annotations

import torch
from torch import nn

from mmlearn.encoders.image import check_image_batch
from mmlearn.encoders.mlp import MLPEncoder
from mmlearn.validation import check_positive_int, check_seed, check_widths, to_module_dtype

__all__ = ["LesionCNN", "clinical_encoders"]


class LesionCNN(nn.Module):
    """(B, 3, H, W) pictures in [0, 1] -> (B, out_dim) features (mean and max pooled conv features)."""

    def __init__(self, out_dim: int = 16, channels=(16, 16), in_channels: int = 3):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        channels = check_widths(channels, "channels")
        if not channels:
            raise ValueError("channels must name at least one convolution block")
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, c_out in enumerate(channels):
            if i:
                layers.append(nn.MaxPool2d(2))
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
            c_in = c_out
        self.conv = nn.Sequential(*layers)
        self.token_dim = c_in
        self.fc = nn.Linear(2 * c_in, out_dim)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, token_dim, H', W')."""
        x = check_image_batch(x, "LesionCNN input", self.in_channels)
        return self.conv((to_module_dtype(x, self) - 0.5) / 0.25)

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """(B, 3, H, W) -> (B, H'*W', token_dim): one token per feature-map cell; no padding mask."""
        return self.feature_map(x).flatten(2).transpose(1, 2), None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fmap = self.feature_map(x)  # (B, D, H', W')
        return self.fc(torch.cat([fmap.mean(dim=(2, 3)), fmap.amax(dim=(2, 3))], dim=1))  # (B, out_dim)


def clinical_encoders(*, seed: int = 0, record_columns: int = 10) -> dict[str, nn.Module]:
    """Fresh {"image": LesionCNN(16), "record": MLPEncoder(record_columns -> 32 -> 16)}, seeded.

    The global torch generator is left as it was.
    """
    seed = check_seed(seed)
    record_columns = check_positive_int(record_columns, "record_columns")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return {"image": LesionCNN(16), "record": MLPEncoder(record_columns, 16, (32,))}
