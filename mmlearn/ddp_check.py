"""Do N processes compute what one process computes? One global batch, its loss and its gradients.

Taught in lesson 11 ("Scaling out", section 3). Launched as a user launches
training, under ``torchrun``::

    python -m torch.distributed.run --standalone --nproc_per_node=2 -m mmlearn.ddp_check --out F

Every rank builds lesson 04's encoders and the same global batch of pairs
from the seed, takes its share (rank r: the r-th of W equal slices), wraps
the modules in ``DistributedDataParallel``, computes the gathered loss
(``mmlearn.distributed``) and backpropagates. Rank 0 writes the mean of the
ranks' losses and the averaged gradients to ``F``. ``one_process_step`` is
the same computation on one process with the whole batch; the lesson
compares the two.

BatchNorm is put in eval mode for the check: in training mode it normalises
each rank's share with that share's own statistics, which is a (documented)
difference of the model, not of the loss. With its fixed statistics the
image encoder is the same function on every rank.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
from torch import nn

from mmlearn.checkpoints import save_checkpoint
from mmlearn.distributed import AcrossRanks, rank_and_world, setup_from_environment
from mmlearn.losses import ClipLoss, SigLipLoss
from mmlearn.validation import check_positive_int, check_seed


def exit_now() -> None:
    """End this process at once, its work done and its output flushed.

    With Gloo, a process's exit can still abort ("terminate called without an active
    exception", SIGABRT) while C++ threads of the process group are torn down: seen in
    about 1 launch of 6 on a busy 2-core machine, after all the work was done. Skipping
    the interpreter's teardown avoids it; nothing is left unwritten (files are closed).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def check_modules(loss: str, local_loss: bool, seed: int = 0):
    """Lesson 04's encoders (BatchNorm in eval mode), the loss, a global batch of pairs: all from ``seed``."""
    from mmlearn.recipes import contrastive_encoders, contrastive_scenes

    if loss not in ("clip", "siglip"):
        raise ValueError(f"loss must be 'clip' or 'siglip', got {loss!r}")
    data = contrastive_scenes(600, seed=check_seed(seed), n_zero_shot=1)
    image_encoder, text_encoder = contrastive_encoders(len(data.vocab), seed=seed)
    for module in image_encoder.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()  # fixed statistics: the same function on every rank
    loss_module = ClipLoss() if loss == "clip" else SigLipLoss(init_scale=5.0, init_bias=-5.0)
    images, texts = data.train.modalities["image"], data.train.modalities["text"]
    return image_encoder, text_encoder, AcrossRanks(loss_module, local_loss=local_loss), images, texts


def gradients(modules) -> dict[str, torch.Tensor]:
    """Every parameter's gradient, by module index and parameter name."""
    return {
        f"{i}.{name}": p.grad.detach().clone()
        for i, m in enumerate(modules)
        for name, p in m.named_parameters()
    }


def one_process_step(loss: str = "clip", local_loss: bool = False, batch: int = 128, seed: int = 0):
    """The loss and gradients of one global batch on one process: the reference."""
    batch = check_positive_int(batch, "batch")
    image_encoder, text_encoder, loss_module, images, texts = check_modules(loss, local_loss, seed)
    if not 2 <= batch <= len(images):
        raise ValueError(f"batch must be between 2 and {len(images)} pairs, got {batch}")
    value = loss_module(image_encoder(images[:batch]), text_encoder(texts[:batch]))
    value.backward()
    return value.item(), gradients([image_encoder, text_encoder, loss_module])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mmlearn.ddp_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--loss", choices=("clip", "siglip"), default="clip")
    p.add_argument("--local-loss", action="store_true")
    p.add_argument("--batch", type=int, default=128, help="the global batch, split over the processes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    setup_from_environment()
    rank, world = rank_and_world()
    if args.batch % world:
        raise SystemExit(f"--batch {args.batch} must split evenly over {world} processes")
    image_encoder, text_encoder, loss_module, images, texts = check_modules(
        args.loss, args.local_loss, args.seed
    )
    share = slice(rank * args.batch // world, (rank + 1) * args.batch // world)
    modules = [image_encoder, text_encoder, loss_module]
    wrapped = [nn.parallel.DistributedDataParallel(m) for m in modules] if world > 1 else modules
    value = wrapped[2](wrapped[0](images[share]), wrapped[1](texts[share]))
    value.backward()  # DDP averages the gradients over the ranks here
    total = value.detach().clone()
    if world > 1:
        torch.distributed.all_reduce(total)
    if rank == 0:
        save_checkpoint(
            args.out, {"world_size": world, "loss": total.item() / world, "grads": gradients(modules)}
        )
    if world > 1:
        # Every rank waits here until all are done: a rank that closes its connections while another still
        # talks to it can make Gloo abort the other (seen once as SIGABRT on a busy machine).
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
        exit_now()
    return 0


if __name__ == "__main__":
    sys.exit(main())
