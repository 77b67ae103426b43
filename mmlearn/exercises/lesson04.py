"""Exercises of lesson 04 (contrastive learning): the two losses the lesson trains with.

Taught in lesson 04 (sections 3, "CLIP: the other captions of the batch are the negatives", and 4,
"SigLIP: one sigmoid per pair").

04.1 is the ``forward`` of CLIP's loss module: the symmetric InfoNCE loss
with a learnable, clamped scale. The lesson's CLIP run and its temperature
sweep train with the student's class once it passes. 04.2 is SigLIP's
pairwise sigmoid loss with a learnable scale and bias (Zhai et al. 2023),
its parameters and its ``forward``; the lesson's SigLIP run trains with it.
The references are ``mmlearn.losses.ClipLoss`` and ``mmlearn.losses.SigLipLoss``,
which ``use`` hands to the lesson until the student's class passes; the
solutions in the notebook compute the same operations in the same order, so
the lesson's outputs are the same whichever runs.
"""

import math

import torch
import torch.nn.functional as F

from mmlearn.exercises.checker import ExerciseFailure, exercise, expect_close
from mmlearn.losses import ClipLoss, SigLipLoss

# --- helpers --------------------------------------------------------------------------------------------


def _features(gen: torch.Generator, n: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw (not normalised) image and text features of n pairs, of different norms."""
    return 3.0 * torch.randn(n, d, generator=gen), 0.5 * torch.randn(n, d, generator=gen)


def _value(result, what: str) -> torch.Tensor:
    if not isinstance(result, torch.Tensor):
        raise ExerciseFailure(
            f"{what} should be a tensor (so that it can be back-propagated), got {type(result).__name__}"
        )
    if result.dim() != 0:
        raise ExerciseFailure(
            f"{what} should be one number, a 0-d tensor (the mean over the batch), got "
            f"shape {tuple(result.shape)}"
        )
    return result


def _make(student, what: str, **kwargs):
    module = student(**kwargs)
    if not isinstance(module, torch.nn.Module):
        raise ExerciseFailure(f"{what}: the class should be an nn.Module, got {type(module).__name__}")
    return module


def _grads(module: torch.nn.Module, image: torch.Tensor, text: torch.Tensor):
    """The loss and its gradients: {"image features", "text features", each trainable parameter's name}."""
    image, text = image.clone().requires_grad_(True), text.clone().requires_grad_(True)
    loss = module(image, text)
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        return loss, {}
    params = {name: p for name, p in module.named_parameters() if p.requires_grad}
    grads = torch.autograd.grad(loss, [image, text, *params.values()], allow_unused=True)
    return loss, dict(zip(["image features", "text features", *params], grads, strict=True))


def _expect_grads(got: dict, expected: dict, what: str) -> None:
    """Every gradient the reference has, equal; a parameter the loss ignores is named."""
    for name, want in expected.items():
        if got.get(name) is None:
            raise ExerciseFailure(
                f"{what}: the loss does not depend on {name}, so training cannot change it; "
                + (
                    "use it inside forward"
                    if name not in ("image features", "text features")
                    else "compute the loss from both feature batches"
                )
            )
        expect_close(got[name], want, f"the gradient of {what} with respect to {name}")


def _named_parameters(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return dict(module.named_parameters())


# --- 04.1: the CLIP loss's forward ---------------------------------------------------------------------


def _clip_variants(image, text, scale) -> dict[str, torch.Tensor]:
    """Losses of the usual slips, to name one when the student's loss equals it."""
    n = image.shape[0]
    targets = torch.arange(n)
    i, t = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
    logits = scale * i @ t.T
    return {
        "only the image->text direction: CLIP averages it with the text->image one (the columns, "
        "logits.T)": F.cross_entropy(logits, targets),
        "the sum of the two directions: CLIP takes their mean": F.cross_entropy(logits, targets)
        + F.cross_entropy(logits.T, targets),
        "the loss of features that were not L2-normalised: normalise each row first, so that the "
        "logits are scale * cosines": (
            F.cross_entropy(scale * image @ text.T, targets)
            + F.cross_entropy(scale * text @ image.T, targets)
        )
        / 2,
        "the loss without the scale (temperature 1): multiply the cosines by the scale s = exp(log scale)": (
            F.cross_entropy(i @ t.T, targets) + F.cross_entropy(t @ i.T, targets)
        )
        / 2,
    }


def _diagnose(result, expected: torch.Tensor, variants: dict[str, torch.Tensor], what: str) -> None:
    """Name the slip whose loss the student's equals (one that differs from the reference's)."""

    def close(a, b):
        return torch.allclose(a.detach().double(), b.detach().double(), rtol=1e-4, atol=1e-6)

    if isinstance(result, torch.Tensor) and result.dim() == 0 and not close(result, expected):
        for slip, value in variants.items():
            if close(result, value):
                raise ExerciseFailure(f"{what} equals {slip}")


@exercise(
    "04.1",
    "the symmetric InfoNCE loss of CLIP, as a module",
    (
        "Each row of the (N, N) matrix of scaled cosines asks 'which caption belongs to this image?'. "
        "What question does each column ask, and why would a loss that answered only the rows leave the "
        "text encoder free to map many captions onto one image?",
        "Calls to look up: Tensor.clamp and Tensor.exp, F.normalize, torch.arange, F.cross_entropy, "
        "and the transpose .T.",
    ),
    reference=ClipLoss,
)
def check_clip_loss(student):
    gen = torch.Generator().manual_seed(0)
    for n, d, tau in [(4, 8, 0.07), (16, 32, 0.5), (3, 5, 2.0)]:
        image, text = _features(gen, n, d)
        reference = ClipLoss(init_temperature=tau)
        expected, expected_grads = _grads(reference, image, text)  # before the student runs
        what = f"the loss of N={n} pairs of dimension {d} with init_temperature={tau}"
        module = _make(student, what, init_temperature=tau)
        result, grads = _grads(module, image, text)
        _value(result, what)
        _diagnose(result, expected, _clip_variants(image, text, 1.0 / tau), what)
        expect_close(result, expected, what)
        _expect_grads(grads, expected_grads, what)
    image, text = _features(gen, 6, 4)
    expected = ClipLoss(init_temperature=0.001)(image, text)
    what = "the loss with init_temperature=0.001 (a scale of 1000, above max_scale=100)"
    result = _make(student, what, init_temperature=0.001)(image.clone(), text.clone())
    _value(result, what)
    _diagnose(
        result,
        expected,
        {
            "the loss at scale 1000: clamp the log scale at log(max_scale) first": (
                F.cross_entropy(
                    1000 * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T, torch.arange(6)
                )
                + F.cross_entropy(
                    1000 * F.normalize(text, dim=-1) @ F.normalize(image, dim=-1).T, torch.arange(6)
                )
            )
            / 2
        },
        what,
    )
    expect_close(result, expected, what)
    aligned = torch.randn(8, 16, generator=gen)
    expected = ClipLoss(init_temperature=0.01)(aligned, 2.0 * aligned)
    what = "the loss of perfectly aligned pairs (text = 2 * image: a feature's length must not matter)"
    expect_close(_make(student, what, init_temperature=0.01)(aligned.clone(), 2.0 * aligned), expected, what)


# --- 04.2: the SigLIP loss -----------------------------------------------------------------------------


def _siglip_variants(image, text, scale, bias) -> dict[str, torch.Tensor]:
    n = image.shape[0]
    i, t = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
    logits = scale * i @ t.T + bias
    labels = 2 * torch.eye(n) - 1
    return {
        "the mean over all N * N pairs: SigLIP sums over the pairs and divides by N, the batch "
        "size": -F.logsigmoid(labels * logits).mean(),
        "labels of 0 and 1 inside the sigmoid: the labels are +1 on the diagonal and -1 elsewhere, so that "
        "log sigmoid(-z) scores a negative pair": -F.logsigmoid(torch.eye(n) * logits).sum() / n,
        "the loss without the bias b": -F.logsigmoid(labels * (scale * i @ t.T)).sum() / n,
        "the loss of features that were not L2-normalised": -F.logsigmoid(
            labels * (scale * image @ text.T + bias)
        ).sum()
        / n,
        "the loss with the opposite sign: -log sigmoid is already positive (a cost)": F.logsigmoid(
            labels * logits
        ).sum()
        / n,
    }


@exercise(
    "04.2",
    "the pairwise sigmoid loss of SigLIP, with a learnable scale and bias",
    (
        "In __init__: two learnable numbers, the log of the scale (so that the scale stays positive) and "
        "the bias; with learnable=False neither gets a gradient. In forward: every one of the N * N "
        "(image, caption) pairs is its own yes/no question, +1 for the N true pairs on the diagonal and -1 "
        "for all the others. Which sign turns log sigmoid into a cost?",
        "Calls to look up: nn.Parameter and torch.tensor (with requires_grad), math.log, Tensor.exp, "
        "F.normalize, torch.eye, F.logsigmoid.",
    ),
    reference=SigLipLoss,
)
def check_siglip_loss(student):
    gen = torch.Generator().manual_seed(1)
    what = "SigLipLoss()"
    module = _make(student, what)
    params = _named_parameters(module)
    for name, value in (("log_logit_scale", math.log(10.0)), ("logit_bias", -10.0)):
        if name not in params:
            raise ExerciseFailure(
                f"SigLipLoss() should have an nn.Parameter named {name!r} (the optimiser trains it); it has "
                f"{sorted(params) or 'no parameters'}"
            )
        expect_close(params[name].detach(), torch.tensor(value), f"SigLipLoss().{name} at the start")
    frozen = _make(student, "SigLipLoss(learnable=False)", learnable=False)
    if any(p.requires_grad for p in frozen.parameters()):
        raise ExerciseFailure("SigLipLoss(learnable=False): its parameters should not require gradients")
    for n, d, scale, bias in [(4, 8, 10.0, -10.0), (16, 32, 3.0, 0.5), (5, 3, 20.0, -2.0)]:
        image, text = _features(gen, n, d)
        reference = SigLipLoss(init_scale=scale, init_bias=bias)
        expected, expected_grads = _grads(reference, image, text)  # before the student runs
        what = f"the loss of N={n} pairs of dimension {d} with init_scale={scale}, init_bias={bias}"
        module = _make(student, what, init_scale=scale, init_bias=bias)
        result, grads = _grads(module, image, text)
        _value(result, what)
        _diagnose(result, expected, _siglip_variants(image, text, scale, bias), what)
        expect_close(result, expected, what)
        _expect_grads(grads, expected_grads, what)
