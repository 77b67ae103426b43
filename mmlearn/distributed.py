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
from mmlearn.validation import check_tensor


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
        rank, world = rank_and_world()
        # The gathered rows of rank r are its own features: keep them, with their gradient path.
        image_parts, text_parts = list(all_image.chunk(world)), list(all_text.chunk(world))
        image_parts[rank], text_parts[rank] = image, text
        return local_clip_loss(image_parts, text_parts, rank, scale)
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


def _check_parts(image_parts, text_parts, rank) -> int:
    """Validate per-rank feature lists (one (n, d) tensor per rank); return the number of ranks."""
    for name, parts in (("image_parts", image_parts), ("text_parts", text_parts)):
        if isinstance(parts, torch.Tensor) or not isinstance(parts, list | tuple) or not parts:
            raise TypeError(
                f"{name} must be a list of (n, d) tensors, one per rank, got {type(parts).__name__}"
            )
        for part in parts:
            if not isinstance(part, torch.Tensor) or part.dim() != 2 or part.shape != parts[0].shape:
                raise ValueError(f"{name} must hold (n, d) tensors of one shape, one per rank")
            check_tensor(part, name, ndim=2)  # finite, not empty
    if len(image_parts) != len(text_parts) or image_parts[0].shape != text_parts[0].shape:
        raise ValueError("image_parts and text_parts must hold as many (n, d) tensors of one shape")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < len(image_parts):
        raise ValueError(f"rank must be an int in [0, {len(image_parts)}), got {rank!r}")
    return len(image_parts)


def local_clip_loss(image_parts, text_parts, rank: int, logit_scale) -> torch.Tensor:
    """Rank ``rank``'s share of CLIP's loss, from every rank's (n, d) features (as the gather gives them).

    Its rows: its n images against all W * n captions; its columns: its n
    captions against all images; targets offset by ``rank * n``. The mean of
    this over the W ranks is ``clip_loss`` on the whole batch. Lesson 11,
    exercise 11.1, asks for this function.
    """
    _check_parts(image_parts, text_parts, rank)
    scale = _as_scalar(logit_scale, "logit_scale", image_parts[0], positive=True)
    image, text = F.normalize(image_parts[rank], dim=-1), F.normalize(text_parts[rank], dim=-1)  # (n, d)
    all_image = F.normalize(torch.cat(list(image_parts)), dim=-1)  # (W * n, d)
    all_text = F.normalize(torch.cat(list(text_parts)), dim=-1)
    n = image.shape[0]
    targets = torch.arange(n, device=image.device) + rank * n  # my pairs sit at my offset
    per_image = F.cross_entropy(scale * image @ all_text.T, targets)  # my n rows: (n, W * n) logits
    per_text = F.cross_entropy(scale * text @ all_image.T, targets)  # my n columns
    return (per_image + per_text) / 2


def ring_siglip_loss(image_parts, text_parts, rank: int, logit_scale, logit_bias) -> torch.Tensor:
    """Rank ``rank``'s SigLIP loss computed the way the SigLIP paper passes captions around a ring.

    At step k (k = 0 .. W - 1) the rank holds the caption chunk of rank
    (rank + k) % W, received from its neighbour, scores its own n images
    against those n captions (positives only when k = 0) and adds the result.
    The sum equals ``gathered_siglip_loss`` on that rank, while at most one
    chunk of captions besides its own is in memory at a time. Here the chunks
    come from a list instead of from the neighbour. Lesson 11, exercise 11.2.
    """
    world = _check_parts(image_parts, text_parts, rank)
    scale = _as_scalar(logit_scale, "logit_scale", image_parts[0], positive=True)
    bias = _as_scalar(logit_bias, "logit_bias", image_parts[0], positive=False)
    image = F.normalize(image_parts[rank], dim=-1)  # (n, d)
    n = image.shape[0]
    total = image.new_zeros(())
    for k in range(world):
        text = F.normalize(text_parts[(rank + k) % world], dim=-1)  # the chunk held at step k
        logits = scale * image @ text.T + bias  # (n, n)
        labels = (
            2 * torch.eye(n, device=logits.device, dtype=logits.dtype) - 1
            if k == 0
            else -torch.ones_like(logits)
        )
        total = total + -F.logsigmoid(labels * logits).sum()
    return total / n


class WithoutGather(nn.Module):
    """What W ranks would train on without a gather, simulated on one process (lesson 11, section 2).

    The batch is cut into W chunks and the wrapped loss (a ``ClipLoss``) is
    computed within each chunk only, then averaged: every image sees B / W - 1
    negatives instead of B - 1. This is a different objective, not a cheaper
    way to compute the same one.
    """

    def __init__(self, loss: nn.Module, world: int):
        super().__init__()
        if not hasattr(loss, "logit_scale"):
            raise TypeError(f"loss must be a ClipLoss or SigLipLoss, got {type(loss).__name__}")
        if isinstance(world, bool) or not isinstance(world, int) or world < 1:
            raise ValueError(f"world must be a positive int (the number of simulated ranks), got {world!r}")
        self.loss, self.world = loss, world

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        _check_pair(image_features, text_features, contrastive=True)
        n = image_features.shape[0]
        if n < 2:
            raise ValueError(f"a batch of {n} pair has no negative at all")
        # An epoch's last, smaller batch goes to as many ranks as get 2 pairs or more (a rank needs a
        # negative); tensor_split makes the shares as equal as possible.
        world = min(self.world, n // 2)
        parts = image_features.tensor_split(world), text_features.tensor_split(world)
        return torch.stack([self.loss(u, v) for u, v in zip(*parts, strict=True)]).mean()


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
