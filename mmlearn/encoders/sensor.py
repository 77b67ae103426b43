"""A 1-D convolutional encoder for multi-channel time series.

Taught in lesson 01 (section 5, "One feature extractor per modality").

Accelerometers, heart-rate monitors and the rows of an MFCC matrix are all
"a few channels that change over time": a 1-D convolution slides along time
and looks at every channel at once. ``AudioEncoder`` reuses this class.

``SimpleSensorEncoder`` is the smallest version of the idea (two
convolutions, the mean over time, a linear layer): the reference of lesson
01's exercise 01.3, where students write it themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mmlearn.validation import check_positive_int, check_tensor, check_widths, to_module_dtype


class SensorEncoder(nn.Module):
    """(B, channels, T) signals -> (B, out_dim) features.

    Layers: optional batch norm of each input channel (signals arrive in very
    different units) -> conv blocks (conv1d -> batch norm -> ReLU; every block
    after the first halves the time axis) -> mean and max over time,
    concatenated -> linear to ``out_dim``. Any length ``T`` works.
    """

    def __init__(
        self,
        in_channels: int,
        out_dim: int = 64,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 5,
        normalize: bool = True,
    ):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        if check_positive_int(kernel_size, "kernel_size") % 2 == 0:
            raise ValueError(f"kernel_size must be odd so that padding keeps the length, got {kernel_size}")
        channels = check_widths(channels, "channels")
        if not channels:
            raise ValueError("channels must name at least one convolution block")
        self.input_norm = nn.BatchNorm1d(in_channels) if normalize else nn.Identity()
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, c_out in enumerate(channels):
            stride = 1 if i == 0 else 2
            layers += [
                nn.Conv1d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2),
                nn.BatchNorm1d(c_out),
                nn.ReLU(),
            ]
            c_in = c_out
        self.conv = nn.Sequential(*layers)
        self.token_dim = c_in  # one token per remaining time step, see tokens()
        self.fc = nn.Linear(2 * c_in, out_dim)

    def _check(self, x) -> torch.Tensor:
        name = f"{type(self).__name__} input"
        check_tensor(x, name, ndim=3)
        if not x.is_floating_point():
            raise TypeError(f"{name} must hold floats, got dtype {x.dtype}")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{name} must have {self.in_channels} channels in dim 1 (B, channels, T), "
                f"got shape {tuple(x.shape)}"
            )
        if x.shape[2] == 0:
            raise ValueError(f"{name} has no time steps (shape {tuple(x.shape)})")
        return x

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, channels, T) -> (B, token_dim, T'): the convolution output along time."""
        return self.conv(self.input_norm(to_module_dtype(self._check(x), self)))

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """(B, channels, T) -> (B, T', token_dim): one token per time step; no padding mask."""
        return self.feature_map(x).transpose(1, 2), None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fmap = self.feature_map(x)  # (B, D, T')
        pooled = torch.cat([fmap.mean(dim=2), fmap.amax(dim=2)], dim=1)  # (B, 2D)
        return self.fc(pooled)  # (B, out_dim)


class SimpleSensorEncoder(nn.Module):
    """(B, in_channels, T) signals -> (B, out_dim): two convolutions (lesson 01, exercise 01.3).

    conv1d (``hidden`` channels, stride 1) -> ReLU -> conv1d (``hidden``
    channels, stride 2: the time axis halves) -> ReLU -> mean over time ->
    linear to ``out_dim``. Both convolutions pad ``kernel_size // 2`` on each
    side. Layers are created in that order (conv1, conv2, fc): exercise 01.3's
    checker copies these parameters, in order, into the student's version.
    Unlike ``SensorEncoder`` it has no batch norm and no max pooling.
    """

    def __init__(self, in_channels: int, out_dim: int = 64, hidden: int = 32, kernel_size: int = 5):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        check_positive_int(hidden, "hidden")
        if check_positive_int(kernel_size, "kernel_size") % 2 == 0:
            raise ValueError(f"kernel_size must be odd so that padding keeps the length, got {kernel_size}")
        self.conv1 = nn.Conv1d(in_channels, hidden, kernel_size, padding=kernel_size // 2)
        self.conv2 = nn.Conv1d(hidden, hidden, kernel_size, stride=2, padding=kernel_size // 2)
        self.fc = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (B, {self.in_channels}, T), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"x must hold floats, got dtype {x.dtype}")
        check_tensor(x, "x")  # no empty batch, no NaN or infinity
        if x.shape[2] == 0:
            raise ValueError(f"x has no time steps (shape {tuple(x.shape)})")
        x = to_module_dtype(x, self)  # a float64 batch meets float32 weights
        h = torch.relu(self.conv1(x))  # (B, hidden, T)
        h = torch.relu(self.conv2(h))  # (B, hidden, ceil(T / 2))
        return self.fc(h.mean(dim=2))  # (B, out_dim)
