"""Shared by tests/test_distributed.py and the torchrun worker: tiny models and data, no BatchNorm.

(BatchNorm normalises each rank's share on its own, so a model with it is not
expected to match one process exactly; these encoders are plain linear maps.)
"""

import torch
from torch import nn

from mmlearn.data.base import MultimodalDataset
from mmlearn.losses import ClipLoss, SigLipLoss

LOSS_KINDS = ("clip", "clip_local", "siglip")


def tiny_encoders(kind: str):
    torch.manual_seed(0)
    image_encoder = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 8))
    text_encoder = nn.Linear(5, 8)
    loss = SigLipLoss(init_scale=5.0, init_bias=-5.0) if kind == "siglip" else ClipLoss()
    return image_encoder, text_encoder, loss


def pairs(n: int, dataset: bool = False):
    generator = torch.Generator().manual_seed(1)
    images, texts = torch.randn(n, 3, 2, 2, generator=generator), torch.randn(n, 5, generator=generator)
    if dataset:
        return MultimodalDataset({"image": images, "text": texts}, torch.arange(n), {})
    return images, texts


def train_options(checkpoint=None):
    return dict(
        epochs=3,
        lr=0.01,
        batch_size=16,
        seed=3,
        progress=False,
        lr_schedule="onecycle",
        checkpoint=checkpoint,
    )
