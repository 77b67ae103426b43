"""Which input drove a decision: Captum's integrated gradients and saliency for a model on a dict of inputs.

Taught in lesson 09 (section 8, "Which modality drove the decision"); lesson 10 reuses it.

Every model of the course maps ``{modality name: (B, ...) tensor}`` to (B, C)
logits, while Captum (the PyTorch team's attribution library) wants a
function of a tuple of tensors. These wrappers translate between the two and
return one attribution tensor per modality, shaped like its input.

Integrated gradients (Sundararajan et al. 2017) attribute the score
:math:`f(x)` relative to a baseline :math:`x'`:

.. math::  \\text{IG}_i(x) = (x_i - x'_i) \\int_0^1
           \\frac{\\partial f\\big(x' + \\alpha (x - x')\\big)}{\\partial x_i}\\, d\\alpha,

computed by Captum with a Gauss-Legendre quadrature of ``steps`` points.
*Completeness*: the attributions of all inputs of all modalities sum to
:math:`f(x) - f(x')`; ``completeness_gap`` measures how far the quadrature is
from it (more steps, smaller gap). Saliency is the plain gradient
:math:`|\\partial f / \\partial x_i|`: cheaper, no baseline, no completeness.

The score :math:`f` is one column of the logits (``target=c``) or, with
``target="log_odds"`` for a two-class model, :math:`z_1 - z_0`, the model's
log-odds of class 1. Attribute a model in eval mode (batch norm must not use
the batch's statistics; the wrappers switch it and restore the mode).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from captum.attr import IntegratedGradients, Saliency
from torch import nn

from mmlearn.inference import eval_mode
from mmlearn.validation import check_modalities, check_module, check_positive_int

__all__ = ["completeness_gap", "integrated_gradients", "modality_totals", "saliency", "score"]


def _check_target(target) -> None:
    if target == "log_odds":
        return
    if isinstance(target, bool) or not isinstance(target, int) or target < 0:
        raise ValueError(f"target must be a class index >= 0 or 'log_odds', got {target!r}")


def score(model: nn.Module, inputs: Mapping[str, torch.Tensor], target=1) -> torch.Tensor:
    """(B,) the score that gets attributed: logits[:, target], or z_1 - z_0 for ``target="log_odds"``."""
    check_module(model, "model")
    _check_target(target)
    check_modalities(inputs)
    out = model(dict(inputs))
    if out.dim() != 2:
        raise ValueError(f"model must return (B, C) logits, got shape {tuple(out.shape)}")
    if target == "log_odds":
        if out.shape[1] != 2:
            raise ValueError(f"target='log_odds' needs a two-class model, got {out.shape[1]} logits")
        return out[:, 1] - out[:, 0]
    if target >= out.shape[1]:
        raise ValueError(f"target {target} is out of range for {out.shape[1]} logits")
    return out[:, target]


def _prepared(model, inputs, baselines, target):
    check_module(model, "model")
    _check_target(target)
    check_modalities(inputs)
    names = list(inputs)
    for name in names:
        if not inputs[name].is_floating_point():
            raise TypeError(f"inputs['{name}'] must hold floats to be attributed, got {inputs[name].dtype}")
    if baselines is None:
        baselines = {name: torch.zeros_like(inputs[name]) for name in names}
    if not isinstance(baselines, Mapping):
        raise TypeError(
            f"baselines must be None or a dict {{modality: tensor}}, got {type(baselines).__name__}"
        )
    if set(baselines) != set(names):
        raise KeyError(f"baselines must name the same modalities as inputs {names}, got {sorted(baselines)}")
    base = {}
    for name in names:
        b = baselines[name]
        if not isinstance(b, torch.Tensor):
            raise TypeError(f"baselines['{name}'] must be a tensor, got {type(b).__name__}")
        if b.shape != inputs[name].shape:
            if b.shape == inputs[name].shape[1:]:
                b = b.expand_as(inputs[name])  # one baseline for every case
            else:
                raise ValueError(
                    f"baselines['{name}'] must have the input's shape {tuple(inputs[name].shape)} or one "
                    f"case's {tuple(inputs[name].shape[1:])}, got {tuple(b.shape)}"
                )
        base[name] = b.to(inputs[name])
    xs = tuple(inputs[name].detach() for name in names)

    def forward(*tensors):
        return score(model, dict(zip(names, tensors, strict=True)), target)

    return names, xs, tuple(base[name] for name in names), forward


def integrated_gradients(
    model: nn.Module,
    inputs: Mapping[str, torch.Tensor],
    baselines: Mapping[str, torch.Tensor] | None = None,
    *,
    target="log_odds",
    steps: int = 32,
) -> dict[str, torch.Tensor]:
    """{modality: attribution shaped like its input} by Captum's ``IntegratedGradients``.

    ``baselines``: {modality: tensor of the input's shape, or of one case's
    shape}; None means zeros for every modality. ``steps``: quadrature points
    (Captum's ``n_steps``); all cases and steps go through the model in one batch.
    """
    steps = check_positive_int(steps, "steps")
    names, xs, bs, forward = _prepared(model, inputs, baselines, target)
    with eval_mode(model):
        attributions = IntegratedGradients(forward).attribute(xs, baselines=bs, n_steps=steps)
    return {name: a.detach() for name, a in zip(names, attributions, strict=True)}


def saliency(
    model: nn.Module, inputs: Mapping[str, torch.Tensor], *, target="log_odds"
) -> dict[str, torch.Tensor]:
    """{modality: |d score / d input|} by Captum's ``Saliency``, shaped like each input."""
    names, xs, _, forward = _prepared(model, inputs, None, target)
    xs = tuple(x.clone().requires_grad_(True) for x in xs)  # Captum warns about inputs without gradients
    with eval_mode(model):
        grads = Saliency(forward).attribute(xs, abs=True)
    return {name: g.detach() for name, g in zip(names, grads, strict=True)}


def modality_totals(attributions: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """{modality: (B,) sum of its attributions}: how much of f(x) - f(baseline) each modality carries."""
    if not isinstance(attributions, Mapping) or not attributions:
        raise TypeError("attributions must be a non-empty dict {modality: (B, ...) tensor}")
    check_modalities(attributions)
    return {name: a.flatten(1).sum(dim=1) for name, a in attributions.items()}


def completeness_gap(
    model: nn.Module,
    inputs: Mapping[str, torch.Tensor],
    attributions: Mapping[str, torch.Tensor],
    baselines: Mapping[str, torch.Tensor] | None = None,
    *,
    target="log_odds",
) -> torch.Tensor:
    """(B,) sum of all attributions minus (f(x) - f(baseline)): zero for exact integrated gradients."""
    names, xs, bs, forward = _prepared(model, inputs, baselines, target)
    if not isinstance(attributions, Mapping):
        raise TypeError(
            f"attributions must be a dict {{modality: tensor}}, got {type(attributions).__name__}"
        )
    if set(attributions) != set(names):
        raise KeyError(f"attributions must name the modalities of inputs {names}, got {sorted(attributions)}")
    for name in names:
        a = attributions[name]
        if not isinstance(a, torch.Tensor) or a.shape != inputs[name].shape:
            raise ValueError(
                f"attributions['{name}'] must be a tensor shaped like inputs['{name}'] "
                f"{tuple(inputs[name].shape)}, got {getattr(a, 'shape', type(a).__name__)}"
            )
    total = sum(modality_totals(attributions).values())
    with eval_mode(model), torch.no_grad():
        change = forward(*xs) - forward(*bs)
    return total - change
