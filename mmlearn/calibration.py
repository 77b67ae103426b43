"""Temperature scaling: make a classifier's probabilities mean what they say.

Taught in lesson 09 (section 6, "Calibration"); lesson 10 reuses it.

A classifier is *calibrated* when, among the cases it gives probability 0.8,
about 80 % are positive. Networks trained with cross-entropy are often
over-confident. Temperature scaling (Guo et al. 2017) divides every logit by
one number :math:`T > 0`, fitted on a validation split by minimising the
negative log-likelihood

.. math::  \\hat T = \\arg\\min_{T>0} \\; -\\frac1N \\sum_i \\log \\operatorname{softmax}(z_i / T)_{y_i}.

:math:`T > 1` softens over-confident probabilities, :math:`T < 1` sharpens
under-confident ones. Dividing by a positive number changes no argmax, so the
predictions and the AUROC stay exactly the same; only the probabilities move.

The fit is a 1-D search over :math:`\\log T` in [log 0.05, log 20] (SciPy's
bounded Brent method), deterministic on every machine. Logits are (N, C); a
binary model's (N,) log-odds are accepted too (read as the logits [0, z]).

Quick use::

    T = fit_temperature(val_logits, val_labels)      # a float
    probs = (test_logits / T).softmax(dim=1)
    calibrated = TemperatureScaled(model, T)         # a model on a dict of modalities
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from torch import nn

from mmlearn.validation import check_module, check_number, check_tensor

__all__ = ["TemperatureScaled", "as_logits", "fit_temperature", "negative_log_likelihood"]

T_MIN, T_MAX = 0.05, 20.0


def as_logits(logits, name: str = "logits") -> torch.Tensor:
    """(N, C) float64 logits from (N, C) logits or (N,) binary log-odds (read as [0, z])."""
    if isinstance(logits, np.ndarray):
        logits = torch.from_numpy(logits)
    check_tensor(logits, name)
    if not logits.is_floating_point():
        raise TypeError(f"{name} must hold floats (logits), got dtype {logits.dtype}")
    z = logits.detach().to("cpu", torch.float64)
    if z.dim() == 1:
        z = torch.stack([torch.zeros_like(z), z], dim=1)
    if z.dim() != 2 or z.shape[1] < 2:
        raise ValueError(
            f"{name} must be (N, C) logits with C >= 2 or (N,) log-odds, got shape {tuple(z.shape)}"
        )
    return z


def _labels(labels, n: int, num_classes: int) -> torch.Tensor:
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    check_tensor(labels, "labels", ndim=1)
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must hold integer class indices, got dtype {labels.dtype}")
    if len(labels) != n:
        raise ValueError(f"logits has {n} rows but labels has {len(labels)}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must lie in 0..{num_classes - 1} for {num_classes} logits per row")
    return labels.to("cpu", torch.int64)


def negative_log_likelihood(logits, labels, temperature: float = 1.0) -> float:
    """Mean -log softmax(logits / temperature)[label]: the loss temperature scaling minimises."""
    z = as_logits(logits)
    y = _labels(labels, len(z), z.shape[1])
    temperature = check_number(temperature, "temperature", positive=True)
    logp = torch.log_softmax(z / temperature, dim=1)
    return float(-logp[torch.arange(len(y)), y].mean())


def fit_temperature(logits, labels) -> float:
    """The temperature T > 0 that minimises the NLL of softmax(logits / T) on these (validation) cases.

    ``logits``: (N, C) or binary (N,) log-odds, from a validation split the model
    did not train on. ``labels``: (N,) class indices. Returns T in [0.05, 20].
    """
    z = as_logits(logits)
    y = _labels(labels, len(z), z.shape[1])
    rows = torch.arange(len(y))

    def nll(log_t: float) -> float:
        return float(-torch.log_softmax(z / math.exp(log_t), dim=1)[rows, y].mean())

    result = minimize_scalar(
        nll, bounds=(math.log(T_MIN), math.log(T_MAX)), method="bounded", options={"xatol": 1e-6}
    )
    return float(math.exp(result.x))


class TemperatureScaled(nn.Module):
    """``model`` (a dict of modality tensors -> (B, C) logits) with its logits divided by ``temperature``."""

    def __init__(self, model: nn.Module, temperature: float):
        super().__init__()
        self.model = check_module(model, "model")
        self.temperature = check_number(temperature, "temperature", positive=True)

    def forward(self, inputs):
        return self.model(inputs) / self.temperature
