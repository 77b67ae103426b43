"""An encoder for audio features (MFCC or log-mel), not for raw waveforms.

Taught in lesson 01 (section 5, "One feature extractor per modality"); used in lessons 05 and 08.

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

from mmlearn.encoders.sensor import SensorEncoder
from mmlearn.validation import check_positive_int


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
