"""Adversarial perturbations of one modality: FGSM and PGD, as attacks and as training transforms.

Taught in lesson 05 (section 6, "Adversarial examples on one modality").

A multimodal model can be fooled through a single modality: a perturbation
too small to notice in the audio features alone may flip the prediction.
``fgsm`` takes one step along the sign of the loss gradient (Goodfellow et
al., 2015); ``pgd`` takes several smaller steps and projects back into the
epsilon-ball after each (Madry et al., 2018). ``AdversarialPerturbation``
wraps either one as a ``transform(inputs, labels) -> inputs``: pass it to
``evaluate`` to attack a trained model, or to ``train_classifier`` to train on
perturbed batches (adversarial training).

Epsilon is an L-infinity radius in the modality's own units; with
standardised features (MFCC here) ``epsilon=0.3`` means 0.3 standard deviations.
The attack moves the features the model reads, not the signal they come
from: an MFCC matrix perturbed this way need not be the MFCC of any waveform,
so it measures the model's worst case in feature space, not what a sound
played into a microphone could do (that attack must go through the waveform
and the feature extraction).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.validation import (
    check_labels,
    check_modalities,
    check_module,
    check_number,
    check_positive_int,
    check_seed,
)

__all__ = ["fgsm", "pgd", "AdversarialPerturbation"]


def _check(model, inputs, labels, modality: str, epsilon) -> tuple[torch.Tensor, float]:
    """The labels (int64) and epsilon (a float) of a checked attack."""
    check_module(model, "model")
    batch = check_modalities(inputs)
    if not isinstance(modality, str) or inputs.get(modality) is None:
        raise KeyError(f"cannot perturb modality {modality!r}: the inputs have {sorted(inputs)}")
    if not inputs[modality].is_floating_point():
        raise TypeError(
            f"modality {modality!r} must hold floats to be perturbed, got {inputs[modality].dtype}"
        )
    labels = check_labels(labels, "labels", batch=batch)
    return labels, _check_epsilon(epsilon)


def _check_epsilon(epsilon) -> float:
    """An L-infinity radius: a finite number >= 0 (an infinite one would make the inputs infinite)."""
    return check_number(epsilon, "epsilon", minimum=0.0)


def _loss_gradient(model: nn.Module, inputs: dict, labels: torch.Tensor, modality: str, x: torch.Tensor):
    """d(cross-entropy)/d(x) where x replaces inputs[modality]; the model's own gradients are untouched."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model({**inputs, modality: x})  # (B, C)
        labels = check_labels(labels, "labels", num_classes=logits.shape[-1])  # before torch's IndexError
        loss = F.cross_entropy(logits, labels)
        (grad,) = torch.autograd.grad(loss, x)
    return grad  # same shape as x


def fgsm(
    model: nn.Module, inputs: dict[str, torch.Tensor], labels: torch.Tensor, modality: str, epsilon: float
) -> dict[str, torch.Tensor]:
    """Fast gradient sign method on ``modality``: x + epsilon * sign(grad_x loss); other modalities unchanged.

    Runs the model in whatever mode it is in (call it in eval mode to attack).
    Returns a new dict; the perturbed tensor carries no gradient.
    """
    labels, epsilon = _check(model, inputs, labels, modality, epsilon)
    x = inputs[modality]
    grad = _loss_gradient(model, inputs, labels, modality, x)
    return {**inputs, modality: (x + epsilon * grad.sign()).detach()}


def pgd(
    model: nn.Module,
    inputs: dict[str, torch.Tensor],
    labels: torch.Tensor,
    modality: str,
    epsilon: float,
    *,
    steps: int = 10,
    step_size: float | None = None,
    random_start: bool = True,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Projected gradient descent (ascent on the loss) within the L-inf ball of radius ``epsilon``.

    ``step_size`` defaults to 2.5 * epsilon / steps (a common choice: the
    steps together can cross the ball and come back). ``random_start`` starts from
    ``x + epsilon * u`` with ``u = 2 * torch.rand(x.shape, generator) - 1``
    (uniform in the ball), the generator seeded with ``seed``, drawn on the
    CPU. Each step: ``x += step_size * sign(grad)``, then
    ``x = x0 + clamp(x - x0, -epsilon, epsilon)``. The reference of lesson
    05's exercise 05.2.
    """
    labels, epsilon = _check(model, inputs, labels, modality, epsilon)
    steps = check_positive_int(steps, "steps")
    if step_size is None:
        step_size = 2.5 * epsilon / steps
    else:
        step_size = check_number(step_size, "step_size", positive=True)
    seed = check_seed(seed)
    x0 = inputs[modality].detach()
    x = x0.clone()
    if random_start and epsilon > 0:
        gen = torch.Generator().manual_seed(seed)
        noise = torch.rand(x0.shape, generator=gen) * 2 - 1  # uniform in [-1, 1], drawn on the CPU
        x = x0 + epsilon * noise.to(device=x0.device, dtype=x0.dtype)
    for _ in range(steps):
        grad = _loss_gradient(model, inputs, labels, modality, x)
        x = x + step_size * grad.sign()
        x = x0 + (x - x0).clamp(-epsilon, epsilon)  # project back into the ball
    return {**inputs, modality: x.detach()}


class AdversarialPerturbation:
    """``transform(inputs, labels) -> inputs`` that perturbs ``modality`` of each batch with FGSM or PGD.

    ``method`` is ``"fgsm"``, ``"pgd"`` or an attack function with ``pgd``'s
    signature, called as ``method(model, inputs, labels, modality, epsilon,
    steps=steps, seed=seed)`` (lesson 05 passes the student's own PGD).

    For adversarial training pass it to ``train_classifier(transform=...)``:
    the attack then runs with the model in train mode, as in Goodfellow et
    al. ``fraction`` perturbs only the first part of each batch (the rest stays
    clean), a common mix of clean and adversarial examples. For an attack at
    test time pass it to ``evaluate(transform=...)``. Batches are drawn in
    random order during training, so the perturbed samples change each epoch.
    """

    def __init__(
        self,
        model: nn.Module,
        modality: str,
        epsilon: float,
        *,
        method: str | Callable = "fgsm",
        steps: int = 10,
        fraction: float = 1.0,
        seed: int = 0,
    ):
        if not callable(method) and (not isinstance(method, str) or method not in ("fgsm", "pgd")):
            raise ValueError(f"method must be 'fgsm', 'pgd' or an attack function, got {method!r}")
        check_module(model, "model")
        if not isinstance(modality, str) or not modality:
            raise TypeError(f"modality must be the name of a modality (a str), got {modality!r}")
        fraction = check_number(fraction, "fraction")
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
        self.model, self.modality, self.epsilon = model, modality, _check_epsilon(epsilon)
        self.method, self.steps, self.fraction = method, check_positive_int(steps, "steps"), fraction
        self.seed, self._calls = check_seed(seed), 0

    def __call__(self, inputs: dict[str, torch.Tensor], labels: torch.Tensor) -> dict[str, torch.Tensor]:
        batch = check_modalities(inputs)
        labels = check_labels(labels, "labels", batch=batch)
        k = max(1, round(self.fraction * batch))  # the first k samples are perturbed
        head = {m: x[:k] if x is not None else None for m, x in inputs.items()}
        if self.method == "fgsm":
            adv = fgsm(self.model, head, labels[:k], self.modality, self.epsilon)
        else:
            attack = pgd if self.method == "pgd" else self.method
            adv = attack(
                self.model, head, labels[:k], self.modality, self.epsilon,
                steps=self.steps, seed=self.seed + self._calls,
            )  # fmt: skip
            if not isinstance(adv, dict) or not isinstance(adv.get(self.modality), torch.Tensor):
                raise TypeError(
                    f"the attack method must return the inputs dict with a perturbed {self.modality!r} "
                    f"tensor, got {type(adv).__name__}"
                )
        self._calls += 1
        x = inputs[self.modality]
        return {**inputs, self.modality: torch.cat([adv[self.modality], x[k:]])}

    def __repr__(self) -> str:
        method = self.method if isinstance(self.method, str) else getattr(self.method, "__name__", "attack")
        return (
            f"AdversarialPerturbation({method}, modality={self.modality!r}, epsilon={self.epsilon}, "
            f"fraction={self.fraction})"
        )
