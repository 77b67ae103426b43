"""One small feature extractor per modality.

Taught in lesson 01 (section 5, "One feature extractor per modality"); every later lesson builds on
them.

Every encoder is an ``nn.Module`` that maps a batch of one modality to
``(B, out_dim)`` features and has an ``out_dim`` attribute, so fusion models
can be built from any mix of them. Each also has ``tokens(x)`` returning
``(B, N, token_dim)`` per-position features and a padding mask (or None), for
attention over image cells, words or time steps.
"""

from mmlearn.encoders.audio import AudioEncoder
from mmlearn.encoders.image import ImageEncoder
from mmlearn.encoders.mlp import MLPEncoder
from mmlearn.encoders.sensor import SensorEncoder, SimpleSensorEncoder
from mmlearn.encoders.text import TextEncoder

__all__ = [
    "AudioEncoder",
    "ImageEncoder",
    "SensorEncoder",
    "SimpleSensorEncoder",
    "MLPEncoder",
    "TextEncoder",
]
