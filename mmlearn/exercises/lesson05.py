"""Exercises of lesson 05 (training strategies): freeze an encoder for staged training, attack with PGD.

Taught in lesson 05 (sections 3, "Staged training", and 6, "Adversarial examples on one modality").

05.1 wraps a trained encoder so that stage 2 of staged training cannot
change it: no gradients for its parameters, and its BatchNorm layers kept in
eval mode whatever mode the fusion model around it is put in. The lesson's
staged training runs on the student's wrapper once it passes. 05.2 is
projected gradient descent on one modality (random start, sign steps,
projection into the epsilon-ball after every step); the lesson's attack
evaluation and its epsilon curve run on it. The references are the
package's own ``mmlearn.strategies.FrozenEncoder`` and
``mmlearn.adversarial.pgd``, which give the same numbers as the solutions.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.adversarial import pgd
from mmlearn.encoders.image import ImageEncoder
from mmlearn.exercises.checker import ExerciseFailure, _guarded, exercise, expect_close
from mmlearn.strategies import FrozenEncoder

# --- 05.1: freezing an encoder ---------------------------------------------------------------------------


def _trained_encoder(seed: int) -> ImageEncoder:
    """A small image encoder with BatchNorm whose running statistics are no longer the initial ones."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = ImageEncoder(out_dim=6, channels=(4, 8))
        gen = torch.Generator().manual_seed(seed)
        encoder.train()
        with torch.no_grad():
            for _ in range(3):  # moves the running mean and variance away from 0 and 1
                encoder(2.0 * torch.rand(16, 1, 8, 8, generator=gen) + 0.5)
    encoder.eval()
    return encoder


def _batchnorms(module: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in module.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}


@exercise(
    "05.1",
    "freeze an encoder for staged training",
    (
        "Two things can change a module while a model around it trains: the optimizer (through the "
        "gradients of its parameters) and the module's own mode. Which layers of the encoder change in "
        "training mode without any optimizer step? And what happens to a wrapped module's mode when "
        "the fusion model around it is put in training mode?",
        "The calls you need: Tensor.requires_grad_ on the encoder's parameters, Module.eval, and "
        "super().train inside your own train method.",
        "In words, in this order: in __init__, first switch off the gradient of every parameter of the "
        "encoder, then put the encoder in eval mode. In train, first let nn.Module's own train set the "
        "mode of the wrapper and of everything inside it, then put the encoder back in eval mode whatever "
        "mode was asked for, and give back the wrapper itself.",
    ),
    reference=FrozenEncoder,
)
def check_frozen_encoder(student):
    encoder = _trained_encoder(seed=1)
    reference = copy.deepcopy(encoder).eval()  # what the frozen encoder must compute, always
    stats = {k: v.clone() for k, v in encoder.state_dict().items()}
    wrapped = student(encoder)
    if not isinstance(wrapped, nn.Module):
        raise ExerciseFailure(
            f"FrozenEncoder(encoder) should build an nn.Module, got {type(wrapped).__name__}"
        )
    for name, p in encoder.named_parameters():
        if p.requires_grad:
            raise ExerciseFailure(
                f"after FrozenEncoder(encoder), the encoder's parameter '{name}' still requires grad: the "
                "optimizer of stage 2 would update it (or compute its gradient for nothing)"
            )
    if getattr(wrapped, "out_dim", None) != encoder.out_dim:
        raise ExerciseFailure(
            f"FrozenEncoder(encoder).out_dim should be the encoder's out_dim ({encoder.out_dim}), got "
            f"{getattr(wrapped, 'out_dim', None)!r}: the fusion model reads it to size its head"
        )
    fusion = nn.ModuleDict({"image": wrapped})  # stands for the fusion model that holds the wrapper
    for step, call in (
        ("the fusion model's .train()", lambda: fusion.train()),
        ("the fusion model's .eval() and then .train() again", lambda: (fusion.eval(), fusion.train())),
        ("the wrapper's own .train(True)", lambda: wrapped.train(True)),
    ):
        _guarded(call)()
        moving = [n for n, m in _batchnorms(encoder).items() if m.training]
        if moving:
            raise ExerciseFailure(
                f"after {step}, the encoder's BatchNorm layer '{moving[0]}' is in training mode: there it "
                "normalises with each batch's own statistics and moves its running mean and variance, "
                "which no optimizer controls. Keep the encoder in eval mode whatever mode the wrapper is "
                "put in."
            )
    returned = _guarded(wrapped.train)(True)
    if returned is not wrapped:
        raise ExerciseFailure(
            f"wrapper.train(True) returned {type(returned).__name__}, expected the wrapper itself (return "
            "self, as nn.Module.train does, so that `model = model.train()` still works)"
        )
    forward = _guarded(wrapped)
    gen = torch.Generator().manual_seed(2)
    for n in (16, 3):
        x = torch.rand(n, 1, 8, 8, generator=gen)
        with torch.no_grad():
            expected = reference(x)
        result = forward(x.clone())
        expect_close(
            result, expected, f"the wrapper's output on a ({n}, 1, 8, 8) batch, in training mode (the "
            "encoder's output in eval mode was expected)"
        )  # fmt: skip
    for key, value in encoder.state_dict().items():
        if not torch.equal(value, stats[key]):
            raise ExerciseFailure(
                f"a forward pass in training mode changed the encoder's '{key}': a frozen encoder must "
                "not change at all"
            )


# --- 05.2: projected gradient descent on one modality ----------------------------------------------------


class _TinyNet(nn.Module):
    """A small nonlinear two-modality classifier: the sign of its input gradient changes with the input."""

    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(3)
        self.wa = nn.Parameter(0.3 * torch.randn(13 * 6, 16, generator=gen))
        self.wi = nn.Parameter(0.3 * torch.randn(64, 16, generator=gen))
        self.out = nn.Parameter(torch.randn(16, 4, generator=gen))

    def forward(self, inputs):
        hidden = torch.tanh(inputs["audio"].flatten(1) @ self.wa + inputs["image"].flatten(1) @ self.wi)
        return hidden @ self.out  # (B, 4)


def _batch(n: int, seed: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    inputs = {"image": torch.rand(n, 1, 8, 8, generator=gen), "audio": torch.randn(n, 13, 6, generator=gen)}
    return inputs, torch.randint(0, 4, (n,), generator=gen)


def _pgd_variant(
    model, inputs, labels, modality, epsilon, steps, seed, *, start=True, up=True, each=True, sign=True
):
    """PGD with one of the usual slips: no random start, descent, one final projection, the raw gradient."""
    x0 = inputs[modality]
    x = x0.clone()
    if start and epsilon > 0:
        x = x0 + epsilon * (torch.rand(x0.shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1)
    alpha = 2.5 * epsilon / steps
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model({**inputs, modality: x}), labels), x)
        x = x.detach() + (alpha if up else -alpha) * (grad.sign() if sign else grad)
        if each:
            x = x0 + (x - x0).clamp(-epsilon, epsilon)
    return x0 + (x - x0).clamp(-epsilon, epsilon)


def _close(a, b) -> bool:
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-5)


@exercise(
    "05.2",
    "a PGD attack on one modality",
    (
        "Each step has three moves: which way raises the loss fastest when every entry may move by the "
        "same amount (only the sign of each gradient entry matters), how far to move, and how to get "
        "back into the epsilon-ball when a step left it. Where does the attack start, and why not at "
        "the clean input itself?",
        "The calls you need: torch.Generator and torch.rand for the start; Tensor.detach, "
        "Tensor.requires_grad_, F.cross_entropy and torch.autograd.grad in each step; Tensor.sign for the "
        "direction and Tensor.clamp for the projection.",
        "In words, in this order: draw the random start once, as the clean tensor moved by epsilon times "
        "uniform noise in [-1, 1]. Then, in every step: turn the current point into a fresh tensor that "
        "requires a gradient, compute the loss of the model with that point in place of the modality, take "
        "the gradient of the loss with respect to the point, move the point up the loss by the step size "
        "along the gradient's sign, and project it: limit its distance to the clean tensor to epsilon in "
        "every entry. Finally return all the inputs with the last point, detached, in place of the "
        "modality.",
    ),
    reference=pgd,
)
def check_pgd(student):
    model = _TinyNet()
    for modality, epsilon, steps, seed in [
        ("audio", 0.3, 10, 0),
        ("image", 0.05, 7, 1),
        ("audio", 0.1, 3, 5),
    ]:
        inputs, labels = _batch(24, seed=seed + 10)
        expected = pgd(model, inputs, labels, modality, epsilon, steps=steps, seed=seed)
        copies = {m: x.clone() for m, x in inputs.items()}  # the student gets copies of everything
        what = f"PGD on '{modality}' with epsilon={epsilon}, steps={steps}, seed={seed}"
        out = student(copy.deepcopy(model), copies, labels.clone(), modality, epsilon, steps=steps, seed=seed)
        if not isinstance(out, dict):
            raise ExerciseFailure(
                f"{what}: your function should return a dict of tensors, got {type(out).__name__}"
            )
        for m in inputs:
            if m not in out:
                raise ExerciseFailure(f"{what}: the returned dict has no '{m}' entry; keep every modality")
        for m in inputs:
            if m != modality:
                expect_close(out[m], inputs[m], f"{what}: modality '{m}', which must stay as it was")
        x = out[modality]
        if not isinstance(x, torch.Tensor) or x.shape != inputs[modality].shape:
            expect_close(x, expected[modality], f"{what}: the perturbed '{modality}'")
        if x.requires_grad:
            raise ExerciseFailure(f"{what}: the perturbed tensor still requires grad: return it detached")
        distance = (x - inputs[modality]).abs().max().item()
        args = (model, inputs, labels, modality, epsilon, steps, seed)
        if distance > epsilon + 1e-5:
            raise ExerciseFailure(
                f"{what}: your result is {distance:.3g} away from the clean input, outside the epsilon-ball "
                f"(at most {epsilon} in every entry): project back into the ball after every step"
            )
        slips = {
            "starts at the clean input: start from a random point of the ball (uniform noise drawn with "
            "a generator seeded with seed)": _pgd_variant(*args, start=False),
            "walks down the loss: an attack adds the step along the gradient's sign, to raise the loss": (
                _pgd_variant(*args, up=False)
            ),
            "projects only once, at the end: project into the ball after every step, so that each "
            "gradient is taken at a point inside the ball": _pgd_variant(*args, each=False),
            "moves along the gradient itself: PGD for an L-infinity ball moves every entry by the same step "
            "size, along the gradient's sign": _pgd_variant(*args, sign=False),
        }
        for slip, variant in slips.items():
            if not _close(expected[modality], variant) and _close(x, variant):
                raise ExerciseFailure(f"{what}: your attack {slip}")
        expect_close(x, expected[modality], f"{what}: the perturbed '{modality}'")
