"""A small convolutional image encoder for every image in the course.

Taught in lesson 01 (section 5, "One feature extractor per modality"); used in lessons 04, 05 and
later.

One class covers the 8x8 handwritten digits, the 32x32 lesion images and the
75x75 Sort-of-CLEVR scenes: convolutions do not care about the image size, and
adaptive pooling at the end turns any feature map into a fixed-size vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mmlearn.validation import check_positive_int, check_tensor, check_widths, to_module_dtype


def check_image_batch(x, name: str, in_channels: int) -> torch.Tensor:
    """Check a (B, C, H, W) image batch and return it as floats.

    uint8 images (0..255, as the scene generator stores them) are scaled to [0, 1].
    """
    check_positive_int(in_channels, "in_channels")
    if isinstance(x, torch.Tensor) and x.dtype == torch.uint8:
        x = x.float() / 255.0
    check_tensor(x, name, ndim=4)
    if not x.is_floating_point():
        raise TypeError(f"{name} must hold floats (or uint8 pixels), got dtype {x.dtype}")
    if x.shape[1] != in_channels:
        raise ValueError(
            f"{name} must have {in_channels} channel(s) in dim 1 (B, C, H, W), got shape {tuple(x.shape)}"
        )
    return x


class ImageEncoder(nn.Module):
    """(B, C, H, W) images -> (B, out_dim) feature vectors.

    Each block is conv 3x3 -> batch norm -> ReLU; the first block keeps the
    resolution (``first_stride=1``, right for 8x8 digits; use 2 for 75x75
    scenes to save time) and every later block halves it. An adaptive average
    pool to ``pool_size x pool_size`` keeps a little spatial layout, and a
    linear layer maps it to ``out_dim``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_dim: int = 64,
        channels: Sequence[int] = (16, 32, 32),
        pool_size: int = 2,
        first_stride: int = 1,
    ):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        self.pool_size = check_positive_int(pool_size, "pool_size")
        channels = check_widths(channels, "channels")
        if not channels:
            raise ValueError("channels must name at least one convolution block")
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, c_out in enumerate(channels):
            stride = check_positive_int(first_stride, "first_stride") if i == 0 else 2
            layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
            c_in = c_out
        self.conv = nn.Sequential(*layers)
        self.token_dim = c_in  # one token per feature-map cell, see tokens()
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.fc = nn.Linear(c_in * pool_size * pool_size, out_dim)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, token_dim, H', W'): the last convolution's output, for attention maps."""
        x = check_image_batch(x, "ImageEncoder input", self.in_channels)
        return self.conv(to_module_dtype(x, self))

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """(B, C, H, W) -> (B, H'*W', token_dim): one token per feature-map cell; no padding mask."""
        fmap = self.feature_map(x)  # (B, D, H', W')
        return fmap.flatten(2).transpose(1, 2), None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fmap = self.feature_map(x)  # (B, D, H', W')
        if fmap.shape[-2:] != (self.pool_size, self.pool_size):  # already that size: pooling would copy it
            fmap = self.pool(fmap)  # (B, D, pool_size, pool_size)
        pooled = fmap.flatten(1)  # (B, D * pool_size**2)
        return self.fc(pooled)  # (B, out_dim)
