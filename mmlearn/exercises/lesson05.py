"""Exercises of lesson 05 (training strategies): modality dropout of a batch and one FGSM step."""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.exercises.checker import ExerciseFailure, exercise, expect_close, expect_raises


def _batch(n: int, seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "image": torch.rand(n, 1, 8, 8, generator=gen) + 0.1,
        "audio": torch.randn(n, 13, 6, generator=gen),
    }


@exercise(
    "05.1",
    "modality dropout of a dict batch",
    "draw keep = torch.rand(B, generator=gen) >= p for each modality in sorted order, multiply the tensor by "
    "keep reshaped to (B, 1, ..., 1); return a NEW dict (do not modify the inputs); raise ValueError "
    "unless 0 <= p < 1.",
)
def check_modality_dropout(student):
    for p, n in [(0.0, 6), (0.5, 400), (0.3, 50)]:
        inputs = _batch(n, seed=n)
        originals = {m: x.clone() for m, x in inputs.items()}
        gen = torch.Generator().manual_seed(7)
        expected = {}  # before the student runs (on ``inputs``, to see whether they change)
        for m in sorted(inputs):
            keep = (torch.rand(n, generator=gen) >= p).float()
            expected[m] = originals[m] * keep.view(-1, *([1] * (originals[m].dim() - 1)))
        out = student(inputs, p, torch.Generator().manual_seed(7))
        if not isinstance(out, dict):
            raise ExerciseFailure(f"your function should return a dict of tensors, got {type(out).__name__}")
        for m in sorted(inputs):
            if m not in out:
                raise ExerciseFailure(f"the returned dict has no '{m}' entry; keep every modality")
            expect_close(out[m], expected[m], f"modality '{m}' with p={p}, batch of {n}")
        for m in inputs:
            if not torch.equal(inputs[m], originals[m]):
                raise ExerciseFailure(f"your function changed inputs['{m}'] in place: build a new dict")
    expect_raises(
        lambda: student(_batch(4, 0), 1.0, torch.Generator()), ValueError, "p = 1 (nothing would be left)"
    )
    expect_raises(lambda: student(_batch(4, 0), -0.2, torch.Generator()), ValueError, "a negative p")


class _Linear(nn.Module):
    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(3)
        self.wa = nn.Parameter(torch.randn(13 * 6, 4, generator=gen))
        self.wi = nn.Parameter(torch.randn(64, 4, generator=gen))

    def forward(self, inputs):
        return inputs["audio"].flatten(1) @ self.wa + inputs["image"].flatten(1) @ self.wi  # (B, 4)


def fgsm_step_reference(model, inputs, labels, modality, epsilon):
    x = inputs[modality].detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model({**inputs, modality: x}), labels)
    (grad,) = torch.autograd.grad(loss, x)
    return {**inputs, modality: (x + epsilon * grad.sign()).detach()}


@exercise(
    "05.2",
    "one FGSM step on one modality",
    "x = inputs[modality].detach().clone().requires_grad_(True); loss = F.cross_entropy(model({**inputs, "
    "modality: x}), labels); grad = torch.autograd.grad(loss, x)[0]; return {**inputs, modality: "
    "(x + epsilon * grad.sign()).detach()}.",
)
def check_fgsm_step(student):
    model = _Linear()
    gen = torch.Generator().manual_seed(5)
    inputs = _batch(16, seed=2)
    labels = torch.randint(0, 4, (16,), generator=gen)
    for modality, eps in [("audio", 0.1), ("image", 0.05), ("audio", 0.0)]:
        ref = fgsm_step_reference(model, inputs, labels, modality, eps)  # before the student runs
        copies = {m: x.clone() for m, x in inputs.items()}  # the student gets copies of everything
        out = student(copy.deepcopy(model), copies, labels.clone(), modality, eps)
        if not isinstance(out, dict):
            raise ExerciseFailure(f"your function should return a dict of tensors, got {type(out).__name__}")
        for m in inputs:
            if m not in out:
                raise ExerciseFailure(f"the returned dict has no '{m}' entry; keep every modality")
            expect_close(out[m], ref[m], f"modality '{m}' after an FGSM step on '{modality}' (epsilon={eps})")
        if out[modality].requires_grad:
            raise ExerciseFailure("the perturbed tensor still requires grad: return it .detach()-ed")
