"""Whether lesson 05's claims hold beyond its one seed.

Repeats the lesson's setting (av_digits, intermediate fusion of a CNN image
encoder and a CNN audio encoder, 12 epochs, lr 3e-3, batches of 64) for
several seeds of the data, the model and the batch order, and prints per seed:
the accuracy of joint training, the accuracy with one modality missing
(averaged over the two) for joint training and for modality dropout (p = 0.3),
and the clean and PGD-attacked accuracy (audio, epsilon 0.3) of standard and
FGSM adversarial training.

    python benchmarks/bench_strategies.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from mmlearn.adversarial import AdversarialPerturbation
from mmlearn.data.av_digits import av_digits
from mmlearn.inference import evaluate
from mmlearn.recipes import av_fusion_model
from mmlearn.strategies import ModalityDropout
from mmlearn.training import train_classifier

EPS = 0.3
ONLY = [lambda x, y: {"image": x["image"]}, lambda x, y: {"audio": x["audio"]}]


def run(seed: int) -> dict[str, float]:
    data = av_digits(seed=seed)
    fit = dict(epochs=12, lr=3e-3, batch_size=64, seed=seed, progress=False)
    joint = av_fusion_model(seed=seed)
    train_classifier(joint, data.train, data.val, **fit)
    dropout = av_fusion_model(seed=seed)
    train_classifier(
        dropout, data.train, data.val, transform=ModalityDropout(0.3, per_sample=False, seed=seed), **fit
    )
    adversarial = av_fusion_model(seed=seed)
    attack = AdversarialPerturbation(adversarial, "audio", EPS, method="fgsm", fraction=0.5)
    train_classifier(adversarial, data.train, data.val, transform=attack, **fit)

    def missing(model):
        return sum(evaluate(model, data.test, transform=t) for t in ONLY) / len(ONLY)

    def attacked(model):
        pgd = AdversarialPerturbation(model, "audio", EPS, method="pgd", steps=5)
        return evaluate(model, data.test, transform=pgd)

    return {
        "joint": evaluate(joint, data.test),
        "joint_missing": missing(joint),
        "dropout_missing": missing(dropout),
        "adv_clean": evaluate(adversarial, data.test),
        "adv_attacked": attacked(adversarial),
        "standard_attacked": attacked(joint),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print(f"torch threads {torch.get_num_threads()}")
    for seed in range(args.seeds):
        start = time.perf_counter()
        r = run(seed)
        print(
            f"seed {seed}: joint {r['joint']:.3f} | one modality missing: joint {r['joint_missing']:.3f}, "
            f"dropout {r['dropout_missing']:.3f} (+{r['dropout_missing'] - r['joint_missing']:.3f}) | "
            f"PGD on audio: standard {r['standard_attacked']:.3f}, adversarial {r['adv_attacked']:.3f} | "
            f"clean cost of adversarial training {r['joint'] - r['adv_clean']:+.3f} | "
            f"{time.perf_counter() - start:.1f} s"
        )


if __name__ == "__main__":
    main()
