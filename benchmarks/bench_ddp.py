"""Throughput of lesson 04's contrastive training on 1 and 2 processes (lesson 11, "Scaling out").

Runs the training command itself, alone and under ``torchrun``, with the same
global batch, and reads the seconds each run stores in its model file:

    python benchmarks/bench_ddp.py [--procs 1 2] [--scenes 10000] [--epochs 2] [--out build/bench_ddp]

prints, and writes to ``benchmarks/results/ddp_throughput.md``, the training
pairs per second for each number of processes, on the GPU when there is one
(one process per GPU) and on the CPU otherwise (one thread per process). The
time covers training and the per-epoch validation, not start-up or data
generation. Run it on a quiet machine: on a busy 2-core machine the second
process competes with everything else.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import torch


def run(procs: int, args: argparse.Namespace) -> dict:
    out = Path(args.out) / f"clip_{procs}.pt"
    command = ["-m", "mmlearn.train", "clip", "--scenes", str(args.scenes), "--epochs", str(args.epochs)]
    command += ["--batch-size", str(args.batch_size), "--out", str(out)]
    if procs > 1:
        command = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}"] + command
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, *command], check=True, env=env, stdout=subprocess.DEVNULL)
    state = torch.load(out, weights_only=True)
    from mmlearn.recipes import contrastive_scenes

    pairs = len(contrastive_scenes(args.scenes, seed=0, n_zero_shot=1).train)
    return {
        "procs": procs,
        "seconds": state["seconds"],
        "pairs_per_s": pairs * args.epochs / state["seconds"],
        "r1": state["metrics"]["val_recall_at_1"],
        "hardware": state["hardware"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--scenes", type=int, default=10_000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--out", default="build/bench_ddp")
    p.add_argument("--table", default="benchmarks/results/ddp_throughput.md")
    args = p.parse_args()
    rows = [run(n, args) for n in args.procs]
    lines = [
        "# Contrastive training throughput, 1 and more processes",
        "",
        f"`python benchmarks/bench_ddp.py`: {args.scenes} scenes, {args.epochs} epochs, "
        f"global batch {args.batch_size}; {rows[0]['hardware']}.",
        "",
        "| processes | seconds | training pairs / s | speed-up | held-out R@1 |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        speedup = r["pairs_per_s"] / rows[0]["pairs_per_s"]
        lines.append(
            f"| {r['procs']} | {r['seconds']:.1f} | {r['pairs_per_s']:.0f} | {speedup:.2f}x | {r['r1']:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.table).parent.mkdir(parents=True, exist_ok=True)
    Path(args.table).write_text(text)


if __name__ == "__main__":
    main()
