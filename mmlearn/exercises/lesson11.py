"""Exercises of lesson 11 (scaling out): one rank's share of the CLIP loss, SigLIP around a ring.

Taught in lesson 11 (sections 2, "One rank's share of the loss", and 4,
"SigLIP around a ring").

Both exercises work on simulated ranks: a list of W per-rank (n, d) feature
batches, what ``all_gather`` hands every rank, so they run in one process.
11.1 is a rank's local CLIP loss (its rows and its columns of the global
logit matrix, targets offset by its rank); the lesson then checks on the
student's function that the mean over ranks is the whole batch's loss for
W = 1, 2, 4 and 8. 11.2 is SigLIP computed chunk by chunk in ring order;
the lesson checks it against the all-gather form. The references are
``mmlearn.distributed.local_clip_loss`` and ``ring_siglip_loss``.
"""

from __future__ import annotations

import torch

from mmlearn.distributed import local_clip_loss, ring_siglip_loss
from mmlearn.exercises.checker import ExerciseFailure, exercise, expect_close
from mmlearn.losses import clip_loss, siglip_loss


def _parts(world: int, n: int, d: int = 6, seed: int = 0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """W per-rank batches of n raw (not normalised) image and text features."""
    gen = torch.Generator().manual_seed(seed)
    images = 3 * torch.randn(world * n, d, generator=gen)
    texts = images + torch.randn(world * n, d, generator=gen)  # pairs that roughly match
    return list(images.chunk(world)), list(texts.chunk(world))


@exercise(
    "11.1",
    "one rank's share of the CLIP loss",
    (
        "Think of the whole batch's (W n, W n) logit matrix. Which of its rows hold this rank's images, "
        "which columns its captions, and in which column of its own rows is each of its images' right "
        "caption?",
        "Which features does this rank compare with which? Its own part on one side, everything gathered on "
        "the other, each L2-normalised; and where does its first pair sit among all the captions?",
        "Average the image-to-all-captions term and the caption-to-all-images term: the mean of your "
        "result over the W ranks must then equal clip_loss of the concatenated batch.",
    ),
    reference=local_clip_loss,
)
def check_local_clip_loss(student):
    for world, n, rank in ((1, 5, 0), (2, 4, 1), (4, 3, 2), (4, 3, 0)):
        images, texts = _parts(world, n, seed=world)
        expected = local_clip_loss(images, texts, rank, 7.0)
        got = student([t.clone() for t in images], [t.clone() for t in texts], rank, 7.0)
        expect_close(got, expected, f"your loss for rank {rank} of {world} ranks ({n} pairs each)")
    images, texts = _parts(3, 4, seed=9)
    shares = torch.stack([student(images, texts, r, 7.0) for r in range(3)])
    whole = clip_loss(torch.cat(images), torch.cat(texts), 7.0)
    if abs(shares.mean().item() - whole.item()) > 1e-4:
        raise ExerciseFailure(
            f"the mean of your 3 ranks' losses is {shares.mean().item():.5f}, the whole batch's CLIP loss "
            f"{whole.item():.5f}: check the target offset"
        )
    scale = torch.tensor(7.0, requires_grad=True)
    student(images, texts, 1, scale).backward()
    if scale.grad is None or scale.grad.abs().item() == 0:
        raise ExerciseFailure("no gradient reached logit_scale: compute the logits from it, not from a copy")


@exercise(
    "11.2",
    "SigLIP around a ring of ranks",
    (
        "At step k the rank holds the caption chunk of rank (rank + k) % W. Which of the n x n pairs it "
        "scores at that step are true pairs, at k = 0 and at every other k?",
        "Each step is lesson 04's SigLIP loss on one n x n block (scale, bias, sigmoid per pair), except "
        "that only the block met at k = 0 holds true pairs; the steps add up.",
        "Divide the total by n, the number of this rank's images: summed over ranks that gives the "
        "global sum divided by n, and its mean over ranks is siglip_loss of the whole batch.",
    ),
    reference=ring_siglip_loss,
)
def check_ring_siglip_loss(student):
    for world, n, rank in ((1, 4, 0), (2, 3, 1), (3, 4, 2), (4, 2, 1)):
        images, texts = _parts(world, n, seed=10 + world)
        expected = ring_siglip_loss(images, texts, rank, 5.0, -2.0)
        got = student([t.clone() for t in images], [t.clone() for t in texts], rank, 5.0, -2.0)
        expect_close(got, expected, f"your loss for rank {rank} of {world} ranks ({n} pairs each)")
    images, texts = _parts(4, 3, seed=20)
    shares = torch.stack([student(images, texts, r, 5.0, -2.0) for r in range(4)])
    whole = siglip_loss(torch.cat(images), torch.cat(texts), 5.0, -2.0)
    if abs(shares.mean().item() - whole.item()) > 1e-4:
        raise ExerciseFailure(
            f"the mean of your 4 ranks' losses is {shares.mean().item():.5f}, the whole batch's SigLIP loss "
            f"{whole.item():.5f}"
        )
