"""Contrastive training on several processes: the gather that keeps the loss equal to one process's.

Taught in lesson 11 ("Scaling out"); used by ``python -m mmlearn.train clip``
under ``torchrun``. The rest of the package does not need it: with one
process every function here reduces to its single-process counterpart.

Why a gather. Data parallelism splits each global batch of B pairs over W
processes (ranks), B / W pairs each. A classification loss is a mean over
samples, so each rank can compute it on its own share and averaging the
gradients (what ``DistributedDataParallel`` does) gives the gradient of the
whole batch. The CLIP and SigLIP losses are not sums over independent
samples: every caption of the batch is a negative for every image. A rank
that only saw its own B / W pairs would train with W times fewer negatives,
which is a different (and weaker) objective. So each rank gathers the
features of every rank and scores its images against all B captions.

The gradient must flow through the gather: ``torch.distributed.nn.functional
.all_gather`` is the differentiable one. Its backward sums, over the ranks,
the gradients every rank computed for a rank's features, and sends each rank
the sum for its own features. Then, with DDP averaging parameter gradients
over the W ranks, the update is exactly the one-process update on the whole
batch (``tests/test_distributed.py`` checks loss and gradients to 1e-5):

* full loss (``local_loss=False``): every rank computes the loss of the whole
  B x B logit matrix, the same number on every rank;
* local loss (``local_loss=True``, open_clip's option): a rank computes only
  its own B / W rows (its images against all captions) and its own columns
  (its captions against all images), labels offset by ``rank * B / W``; the
  mean of the W local losses is the full loss, at 1 / W of the logits' cost.

SigLIP's loss is a sum over pairs, so a rank computes its images against all
gathered captions (the all-gather form used here). The SigLIP paper instead
passes caption chunks around a ring of neighbouring ranks, W - 1 exchanges,
each rank scoring its images against one chunk at a time: the same sum,
without ever holding all B captions in memory at once.
"""

from __future__ import annotations

import os
import warnings

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from mmlearn.losses import _as_scalar, _check_pair


def rank_and_world() -> tuple[int, int]:
    """(this process's rank, number of processes); (0, 1) when no process group is running."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """True on rank 0 (or without a process group): the one process that logs and saves."""
    return rank_and_world()[0] == 0


def setup_from_environment() -> torch.device:
    """Join the process group ``torchrun`` describes in the environment; return this rank's device.

    ``torchrun`` sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
    MASTER_PORT. NCCL is used on GPUs (one per local rank), Gloo on CPUs.
    Run alone (no WORLD_SIZE), nothing is started and the device is the
    first GPU or the CPU.
    """
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) == 1:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl")
        return torch.device("cuda", local_rank)
    dist.init_process_group("gloo")
    return torch.device("cpu")


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """(n, d) on each of W ranks -> (W * n, d) on every rank, in rank order, with gradients to each rank."""
    _, world = rank_and_world()
    if world == 1:
        return x
    from torch.distributed.nn.functional import all_gather  # imported here: not every build has it

    with warnings.catch_warnings():
        # Recent torch calls this public, differentiable gather deprecated in favour of a private module
        # (torch.distributed._functional_collectives); the public one works on every torch we support.
        warnings.filterwarnings("ignore", message=".*all_gather is deprecated", category=FutureWarning)
        return torch.cat(all_gather(x), dim=0)


def gathered_clip_loss(
    image_features: torch.Tensor, text_features: torch.Tensor, logit_scale, *, local_loss: bool = False
) -> torch.Tensor:
    """CLIP's symmetric InfoNCE over the global batch, from this rank's (n, d) features.

    Equal to ``mmlearn.losses.clip_loss`` on the concatenated features of all
    ranks (``local_loss=False``), or to this rank's share of it, whose mean
    over ranks is that loss (``local_loss=True``). One process: plain CLIP.
    """
    _check_pair(image_features, text_features, contrastive=True)
    if not isinstance(local_loss, bool):
        raise TypeError(f"local_loss must be True or False, got {local_loss!r}")
    scale = _as_scalar(logit_scale, "logit_scale", image_features, positive=True)
    image = F.normalize(image_features, dim=-1)  # (n, d)
    text = F.normalize(text_features, dim=-1)
    all_image, all_text = gather_with_grad(image), gather_with_grad(text)  # (W * n, d)
    if local_loss:
        rank, _ = rank_and_world()
        n = image.shape[0]
        targets = torch.arange(n, device=image.device) + rank * n  # my pairs sit at my offset
        per_image = F.cross_entropy(scale * image @ all_text.T, targets)  # my n rows: (n, W * n)
        per_text = F.cross_entropy(scale * text @ all_image.T, targets)  # my n columns
        return (per_image + per_text) / 2
    logits = scale * all_image @ all_text.T  # (W * n, W * n), the same on every rank
    targets = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def gathered_siglip_loss(
    image_features: torch.Tensor, text_features: torch.Tensor, logit_scale, logit_bias
) -> torch.Tensor:
    """SigLIP's loss for this rank's images against the captions of all ranks.

    The mean over ranks equals ``mmlearn.losses.siglip_loss`` on the global
    batch (the sum over all B x B pairs divided by B). One process: plain SigLIP.
    """
    _check_pair(image_features, text_features, contrastive=True)
    scale = _as_scalar(logit_scale, "logit_scale", image_features, positive=True)
    bias = _as_scalar(logit_bias, "logit_bias", image_features, positive=False)
    rank, _ = rank_and_world()
    image = F.normalize(image_features, dim=-1)  # (n, d)
    all_text = gather_with_grad(F.normalize(text_features, dim=-1))  # (W * n, d)
    n = image.shape[0]
    logits = scale * image @ all_text.T + bias  # (n, W * n): my images against every caption
    labels = -torch.ones_like(logits)
    labels[torch.arange(n), torch.arange(n) + rank * n] = 1.0  # my pairs, at my offset
    return -F.logsigmoid(labels * logits).sum() / n


class AcrossRanks(nn.Module):
    """Wrap a ``ClipLoss`` or ``SigLipLoss`` so that it scores against the captions of every rank.

    The wrapped module keeps owning its temperature (and bias): they are
    trained as before, and saved with it. One process: the wrapped loss.
    """

    def __init__(self, loss: nn.Module, *, local_loss: bool = False):
        super().__init__()
        if not hasattr(loss, "logit_scale"):
            raise TypeError(
                f"loss must be a ClipLoss or SigLipLoss (it has a logit_scale), got {type(loss).__name__}"
            )
        if not isinstance(local_loss, bool):
            raise TypeError(f"local_loss must be True or False, got {local_loss!r}")
        self.loss = loss
        self.local_loss = local_loss
        self.sigmoid = hasattr(loss, "logit_bias")
        if self.sigmoid and local_loss:
            raise ValueError(
                "local_loss applies to the CLIP loss; SigLIP's loss is already local to each rank"
            )

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        if self.sigmoid:
            return gathered_siglip_loss(
                image_features, text_features, self.loss.logit_scale, self.loss.logit_bias
            )
        return gathered_clip_loss(
            image_features, text_features, self.loss.logit_scale, local_loss=self.local_loss
        )
