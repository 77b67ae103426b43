"""Which modality did the model use: modality ablation and exact Shapley values over the modalities.

Taught in lesson 10 (section 2, "Which modality did the model use?").

A modality is *removed* by replacing it with a baseline: here its training
mean (``mean_baselines``), a documented, in-distribution "no information"
input, unlike zeros, which may be far from any real input. The value
:math:`v(S)` of a coalition :math:`S` of modalities is a score of the model
(test accuracy by default) when only the modalities in :math:`S` are kept and
the others replaced by their baselines; :math:`v(\\emptyset)` is the model on
baselines alone.

The exact Shapley value of modality :math:`i` among the :math:`n` modalities
:math:`N` (Shapley 1953; for features, Lundberg and Lee 2017) averages its
marginal contribution over every order in which the modalities can arrive:

.. math:: \\phi_i = \\sum_{S \\subseteq N \\setminus \\{i\\}}
          \\frac{|S|!\\,(n-|S|-1)!}{n!}\\,\\big(v(S \\cup \\{i\\}) - v(S)\\big).

With two or three modalities there are only 4 or 8 coalitions, so the sum is
exact and cheap. *Efficiency*: :math:`\\sum_i \\phi_i = v(N) - v(\\emptyset)`,
the full model's gain over the empty input.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import nn

from mmlearn.data.base import MultimodalDataset
from mmlearn.inference import check_dataset, evaluate
from mmlearn.validation import check_modalities, check_module, check_names

__all__ = ["mean_baselines", "ablate", "coalitions", "coalition_values", "shapley_values"]


def mean_baselines(train: MultimodalDataset) -> dict[str, torch.Tensor]:
    """{modality: (1, ...) mean of the training split}: what a removed modality is replaced with."""
    check_dataset(train, "train")
    return {m: x.float().mean(dim=0, keepdim=True) for m, x in train.modalities.items()}


def ablate(
    inputs: Mapping[str, torch.Tensor], keep: Sequence[str], baselines: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """``inputs`` with every modality not in ``keep`` replaced by its baseline (broadcast to the batch)."""
    n = check_modalities(inputs)
    if isinstance(keep, str | bytes) or not isinstance(keep, Iterable):
        raise TypeError(f"keep must be a list of modality names such as ['image'] (or []), got {keep!r}")
    keep = set(keep)
    if not all(isinstance(k, str) for k in keep):
        raise TypeError(f"keep must hold modality names (strings), got {sorted(map(repr, keep))}")
    unknown = sorted(keep - set(inputs))
    if unknown:
        raise KeyError(f"keep names modalities {unknown} that inputs lacks; inputs has {sorted(inputs)}")
    if not isinstance(baselines, Mapping):
        raise TypeError(f"baselines must be a dict {{modality: tensor}}, got {type(baselines).__name__}")
    out = {}
    for m, x in inputs.items():
        if m in keep:
            out[m] = x
            continue
        if m not in baselines:
            raise KeyError(f"baselines has no entry for modality '{m}'; it has {sorted(baselines)}")
        b = baselines[m]
        case = tuple(x.shape[1:])
        if not isinstance(b, torch.Tensor) or tuple(b.shape) not in (case, (1, *case)):
            raise ValueError(
                f"baselines['{m}'] must be shaped like one case {tuple(x.shape[1:])} (with or without a "
                f"leading 1), got {getattr(b, 'shape', type(b).__name__)}"
            )
        out[m] = b.reshape(1, *x.shape[1:]).to(x).expand(n, *x.shape[1:])
    return out


def coalitions(modalities: Sequence[str]) -> list[frozenset[str]]:
    """Every subset of ``modalities`` as a frozenset, from the empty one to the full set (2**n of them)."""
    names = check_names(modalities, "modalities")
    if len(set(names)) != len(names):
        raise ValueError(f"modalities must not repeat a name, got {names}")
    return [frozenset(c) for k in range(len(names) + 1) for c in itertools.combinations(names, k)]


def coalition_values(
    model: nn.Module,
    data: MultimodalDataset,
    baselines: Mapping[str, torch.Tensor],
    *,
    score: Callable[[nn.Module, MultimodalDataset], float] | None = None,
) -> dict[frozenset[str], float]:
    """{coalition: v(coalition)}: the model's ``score`` (default: accuracy), the other modalities ablated."""
    check_module(model, "model")
    check_dataset(data, "data")
    if score is None:
        score = evaluate
    elif not callable(score):
        raise TypeError(f"score must be a function (model, dataset) -> float, got {type(score).__name__}")
    values = {}
    for keep in coalitions(list(data.modalities)):
        kept = MultimodalDataset(ablate(data.modalities, sorted(keep), baselines), data.labels)
        values[keep] = float(score(model, kept))
    return values


def shapley_values(values: Mapping[frozenset, float], modalities: Sequence[str]) -> dict[str, float]:
    """{modality: exact Shapley value} from ``values`` {frozenset coalition: v}, which must hold every subset.

    The reference answer of exercise 10.1.
    """
    names = check_names(modalities, "modalities")
    if not isinstance(values, Mapping):
        raise TypeError(
            f"values must be a dict {{frozenset of modalities: value}}, got {type(values).__name__}"
        )
    missing = [sorted(c) for c in coalitions(names) if c not in values]
    if missing:
        raise KeyError(
            f"values lacks the coalitions {missing} of modalities {names}: exact Shapley values need "
            "every subset"
        )
    n = len(names)
    phi = {}
    for m in names:
        others = [o for o in names if o != m]
        total = 0.0
        for k in range(n):
            weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            for rest in itertools.combinations(others, k):
                s = frozenset(rest)
                total += weight * (float(values[s | {m}]) - float(values[s]))
        phi[m] = total
    return phi
