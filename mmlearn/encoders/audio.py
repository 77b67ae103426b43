"""Encoders for audio: MFCC or log-mel features (``AudioEncoder``), or the raw waveform (``WaveformEncoder``).

Taught in lesson 01 (section 5, "One feature extractor per modality"); used in lessons 05 and 08
(``WaveformEncoder``: lesson 08, section 2, "A CNN on the raw waveform").

Design choice: a 1-D CNN over time, with the n_feat coefficients (or mel
bands) as input channels. A spoken word shifts in time from one recording to
the next, so convolving along time pays off; MFCC coefficients are not local
in frequency (they come from a cosine transform), so sliding a kernel across
them, as a 2-D CNN would, buys little. The 1-D version is also several times
cheaper on a CPU. The network itself is ``SensorEncoder``: an MFCC matrix is a
13-channel signal.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mmlearn.encoders.sensor import SensorEncoder
from mmlearn.validation import check_positive_int, check_tensor, check_widths, to_module_dtype


class AudioEncoder(SensorEncoder):
    """(B, n_feat, frames) MFCC / log-mel features -> (B, out_dim).

    ``normalize=True`` batch-normalises each coefficient first: MFCC c0 is in
    the hundreds while the others are near zero.
    """

    def __init__(
        self,
        n_feat: int = 13,
        out_dim: int = 64,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        normalize: bool = True,
    ):
        check_positive_int(n_feat, "n_feat")  # checked here, so that a message names n_feat, not in_channels
        super().__init__(n_feat, out_dim, channels=channels, kernel_size=kernel_size, normalize=normalize)
        self.n_feat = n_feat


class WaveformEncoder(nn.Module):
    """(B, 1, T) raw waveforms -> (B, out_dim): a 1-D CNN that learns its own filterbank.

    ``nn.Conv1d`` reads (batch, channels, time): a mono clip is ONE channel of
    T samples, so a batch of clips is (B, 1, T), not (B, T) (which a Conv1d
    would read as one unbatched clip of B channels) nor (B, T, 1). Each clip is
    first standardised (zero mean, unit standard deviation), so the encoder
    does not depend on loudness. The first convolution (``first_kernel``
    samples, stride ``first_stride``) plays the part of a filterbank, as in
    the M5 network of Dai et al. (2017); then max-pooling by 4, blocks of
    conv (kernel 3) -> batch norm -> ReLU -> max-pool by 2, and the mean and
    max over time, concatenated, to a linear layer.
    """

    def __init__(
        self,
        out_dim: int = 64,
        channels: Sequence[int] = (16, 32, 64),
        first_kernel: int = 64,
        first_stride: int = 16,
    ):
        super().__init__()
        self.out_dim = check_positive_int(out_dim, "out_dim")
        channels = check_widths(channels, "channels")
        if not channels:
            raise ValueError("channels must name at least one convolution block")
        self.first_kernel = check_positive_int(first_kernel, "first_kernel")
        self.first_stride = check_positive_int(first_stride, "first_stride")
        layers: list[nn.Module] = [
            nn.Conv1d(1, channels[0], first_kernel, stride=first_stride),
            nn.BatchNorm1d(channels[0]),
            nn.ReLU(),
            nn.MaxPool1d(4, ceil_mode=True),
        ]
        for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
            layers += [
                nn.Conv1d(c_in, c_out, 3, padding=1),
                nn.BatchNorm1d(c_out),
                nn.ReLU(),
                nn.MaxPool1d(2, ceil_mode=True),
            ]
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Linear(2 * channels[-1], out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = "WaveformEncoder input"
        check_tensor(x, name)
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(
                f"{name} must be (B, 1, T) mono waveforms (Conv1d reads batch, channels, time), got shape "
                f"{tuple(x.shape)}; a (B, T) batch needs x.unsqueeze(1)"
            )
        if not x.is_floating_point():
            raise TypeError(f"{name} must hold floats, got dtype {x.dtype}")
        if x.shape[2] < self.first_kernel:
            raise ValueError(
                f"{name} has {x.shape[2]} samples, fewer than first_kernel ({self.first_kernel})"
            )
        x = to_module_dtype(x, self)
        x = (x - x.mean(dim=2, keepdim=True)) / x.std(dim=2, keepdim=True).clamp_min(1e-5)
        h = self.conv(x)  # (B, channels[-1], T')
        return self.fc(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))  # (B, out_dim)
