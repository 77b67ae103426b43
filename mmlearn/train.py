"""Training commands that anyone can rerun: ``python -m mmlearn.train vqa --model rn``, ``... clip``.

Used for lesson 07's shipped checkpoints ("Visual question answering"): the
lesson trains small models live for a minute, then loads the full-size models
that this command trained, and states the command, the time and the hardware
stored in each file, so that a reader can check the numbers by retraining.

What a run does: generates Sort-of-CLEVR training scenes from ``--seed`` and
2,000 held-out scenes from a different seed (never seen in training), trains
with the package's loop (``mmlearn.training.fit``: AdamW, a one-cycle
schedule, seeded batch order, a progress bar), saves the run's state after
every epoch (atomically) so that ``--resume`` continues an interrupted run,
evaluates per question type after every epoch, and finally writes the model
file (``--out``): weights, model options, the command, seconds, hardware and
the held-out accuracies, with its SHA-256 printed for ``SHIPPED``.

``python -m mmlearn.train clip`` (lesson 11, section 5, "Launching on your
hardware") is lesson 04's CLIP (or ``--loss siglip``) training, unchanged,
that runs alone or under ``torchrun --nproc_per_node=N`` (and on several
machines with ``--nnodes``):
each rank wraps the two encoders and the loss in DistributedDataParallel,
trains on its share of every global batch (``fit`` splits it) and scores
against the features gathered from every rank (``mmlearn.distributed``), so
the loss and gradients equal a one-process run's with the same global batch,
BatchNorm aside. NCCL on GPUs,
Gloo on CPUs; only rank 0 shows progress and writes files. BatchNorm
normalises each rank's share on its own on CPUs (SyncBatchNorm, which shares
the statistics, runs only on GPUs, where the command switches to it), and DDP
copies rank 0's running statistics to the other ranks; a last global batch
that does not split evenly over the processes is skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch
from torch import nn

from mmlearn.checkpoints import save_checkpoint
from mmlearn.data.scene_questions import sort_of_clevr
from mmlearn.distributed import AcrossRanks, is_main_process, rank_and_world, setup_from_environment
from mmlearn.validation import check_path
from mmlearn.vqa import VQA_MODELS, make_vqa_model
from mmlearn.vqa_training import evaluate_vqa, train_vqa

HELD_OUT_SEED_OFFSET = 1_000_003  # held-out scenes come from seed + this: a stream training never draws
N_HELD_OUT = 2000


def hardware(device: torch.device) -> str:
    """A short description of where the run trained, for the record in the checkpoint."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    return f"{cpu} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}"


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, as ``SHIPPED`` and ``load_checkpoint(sha256=...)`` want it."""
    path = check_path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def train_vqa_command(args: argparse.Namespace, argv: list[str]) -> Path:
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = (
            True  # TF32 matrix products: several times faster on recent GPUs
        )
        torch.backends.cudnn.allow_tf32 = True
    options = {"hidden": args.hidden} if args.model in ("mlp", "rn") else {"dim": args.hidden}
    print(f"generating {args.scenes} training scenes (seed {args.seed}) and {N_HELD_OUT} held-out scenes ...")
    train = sort_of_clevr(args.scenes, seed=args.seed)
    held_out = sort_of_clevr(N_HELD_OUT, seed=args.seed + HELD_OUT_SEED_OFFSET)
    if device.type == "cuda":  # the whole set fits in GPU memory: no copy per batch
        train = train.to(device)
    torch.manual_seed(args.seed)
    model = make_vqa_model(args.model, **options).to(device)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    history = train_vqa(
        model,
        train,
        held_out,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        lr_schedule="onecycle",
        seed=args.seed,
        checkpoint=out.with_suffix(".run.pt"),
        resume=args.resume,
        desc=f"vqa {args.model}",
    )
    seconds = time.perf_counter() - start
    metrics = evaluate_vqa(model, held_out)
    save_checkpoint(
        out,
        {
            "kind": args.model,
            "options": options,
            "model": {k: v.cpu() for k, v in model.state_dict().items()},
            "command": "python -m mmlearn.train " + shlex.join(argv),
            "seconds": round(seconds, 1),
            "hardware": hardware(device),
            "metrics": {k: round(v, 4) for k, v in metrics.items()},
            "history": {k: [round(x, 4) for x in v] for k, v in history.to_dict().items()},
        },
    )
    print(f"trained in {seconds:.0f} s on {hardware(device)}")
    print("held-out accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB), sha256 {sha256_of(out)}")
    return out


def train_clip_command(args: argparse.Namespace, argv: list[str]) -> Path | None:
    from torch.nn.parallel import DistributedDataParallel

    from mmlearn.inference import cross_modal_similarity
    from mmlearn.losses import ClipLoss, SigLipLoss
    from mmlearn.metrics import recall_at_k
    from mmlearn.recipes import contrastive_encoders, contrastive_scenes
    from mmlearn.training import train_contrastive

    device = setup_from_environment()
    rank, world = rank_and_world()
    data = contrastive_scenes(args.scenes, seed=args.seed)  # every rank builds the same data from the seed
    image_encoder, text_encoder = contrastive_encoders(len(data.vocab), seed=args.seed)
    if args.loss == "clip":
        loss = ClipLoss(init_temperature=0.07, max_scale=100.0)
    else:
        loss = SigLipLoss(init_scale=5.0, init_bias=-5.0)  # lesson 04: b = -log(batch - 1), rounded
    modules = [
        image_encoder.to(device),
        text_encoder.to(device),
        AcrossRanks(loss, local_loss=args.local_loss),
    ]
    modules[2].to(device)
    if world > 1:
        if device.type == "cuda":
            modules = [nn.SyncBatchNorm.convert_sync_batchnorm(m) for m in modules]
        elif is_main_process():
            print(
                "note: on CPUs each process's BatchNorm normalises its own share of the batch, and DDP "
                "copies rank 0's running statistics to every rank: the run differs a little from one process"
            )
        ids = [device.index] if device.type == "cuda" else None
        modules = [DistributedDataParallel(m, device_ids=ids) for m in modules]
    out = Path(args.out)
    if is_main_process():
        out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    history = train_contrastive(
        modules[0],
        modules[1],
        data.train,
        modules[2],
        data.val,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        lr_schedule="onecycle",
        seed=args.seed,
        checkpoint=out.with_suffix(".run.pt"),
        resume=args.resume,
        desc=f"{args.loss} x{world}",
    )
    seconds = time.perf_counter() - start
    plain = [m.module if world > 1 else m for m in modules]
    similarity = cross_modal_similarity(
        plain[0], plain[1], data.val.modalities["image"], data.val.modalities["text"]
    )
    r1 = recall_at_k(similarity, 1)
    if not is_main_process():
        return None
    save_checkpoint(
        out,
        {
            "image_encoder": {k: v.cpu() for k, v in plain[0].state_dict().items()},
            "text_encoder": {k: v.cpu() for k, v in plain[1].state_dict().items()},
            "loss": {k: v.cpu() for k, v in plain[2].loss.state_dict().items()},
            "command": "python -m mmlearn.train " + shlex.join(argv),
            "world_size": world,
            "seconds": round(seconds, 1),
            "hardware": hardware(device),
            "metrics": {"val_recall_at_1": round(r1, 4)},
            "history": {k: [round(x, 4) for x in v] for k, v in history.to_dict().items()},
        },
    )
    print(f"{world} process(es), {seconds:.1f} s on {hardware(device)}; held-out R@1 {r1:.3f}; wrote {out}")
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mmlearn.train", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="task", required=True)
    vqa = sub.add_parser("vqa", help="a Sort-of-CLEVR VQA model (lesson 07)")
    vqa.add_argument("--model", choices=sorted(VQA_MODELS), required=True)
    vqa.add_argument("--scenes", type=int, default=10_000, help="training scenes (20 questions each)")
    vqa.add_argument("--epochs", type=int, default=30)
    vqa.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of the one-cycle schedule")
    vqa.add_argument("--batch-size", type=int, default=64, help="scenes per batch")
    vqa.add_argument("--hidden", type=int, default=256, help="width of g and f (rn, mlp) or dim (xattn)")
    vqa.add_argument("--seed", type=int, default=0)
    vqa.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    vqa.add_argument("--out", required=True, help="the model file to write, e.g. build/vqa_rn.pt")
    vqa.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.run.pt")
    clip = sub.add_parser(
        "clip", help="lesson 04's contrastive training, alone or under torchrun (lesson 11)"
    )
    clip.add_argument("--loss", choices=("clip", "siglip"), default="clip")
    clip.add_argument("--local-loss", action="store_true", help="CLIP: each rank scores only its own rows")
    clip.add_argument("--scenes", type=int, default=10_000)
    clip.add_argument("--epochs", type=int, default=6)
    clip.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    clip.add_argument(
        "--batch-size", type=int, default=128, help="the GLOBAL batch, split over the processes"
    )
    clip.add_argument("--seed", type=int, default=0)
    clip.add_argument("--out", required=True, help="the model file to write (rank 0), e.g. build/clip.pt")
    clip.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.run.pt")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    for name in ("scenes", "epochs", "batch_size", "hidden"):
        if getattr(args, name, 1) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.task == "vqa":
        train_vqa_command(args, argv)
    else:
        train_clip_command(args, argv)  # an error propagates: torchrun stops the other ranks
        if torch.distributed.is_initialized():
            torch.distributed.barrier()  # no rank closes its connections while another still uses them
            torch.distributed.destroy_process_group()
            from mmlearn.ddp_check import exit_now

            exit_now()  # the work is done; skips the teardown that can abort under Gloo (see exit_now)
    return 0


if __name__ == "__main__":
    sys.exit(main())
