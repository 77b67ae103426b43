"""The product rule: late fusion that is Bayes' rule when the modalities are independent given the class.

Taught in lesson 09 (section 3, "Late fusion by Bayes' rule").

If modalities :math:`x_1, \\dots, x_M` are conditionally independent given
the class :math:`y`, Bayes' rule gives

.. math::  p(y \\mid x_1, \\dots, x_M) \\;\\propto\\;
           \\frac{\\prod_m p(y \\mid x_m)}{p(y)^{M-1}},

so the fused log-probabilities are the sum of the per-modality
log-probabilities minus :math:`(M-1)\\log p(y)`, renormalised (Kittler et
al. 1998 call it the product rule). For two classes that is the sum of the
log-odds minus the prior log-odds once. It is exact only when each
per-modality posterior is right (calibrated) and the independence holds;
averaging the probabilities instead (the sum rule, ``LateFusion(rule="mean")``)
is a more cautious combination that forgives badly calibrated members.

A missing modality is left out of the dict: the product then runs over the
modalities present, which is exactly the Bayes answer under independence.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from mmlearn.validation import check_tensor

__all__ = ["product_rule"]


def product_rule(logits: Mapping[str, torch.Tensor], prior) -> torch.Tensor:
    """{modality: (N, C) logits of a classifier on that modality alone}, (C,) class prior -> (N, C) log-probs.

    ``prior`` is p(y) of the data the classifiers were trained on (a tensor or
    a list of C probabilities summing to 1). Each classifier's logits are
    turned into log-probabilities with a log-softmax, summed over modalities,
    the log prior is subtracted M - 1 times, and the result is renormalised.
    """
    if not isinstance(logits, Mapping) or not logits:
        raise TypeError(f"logits must be a non-empty dict {{modality: (N, C) logits}}, got {logits!r}")
    checked = {}
    for name, z in logits.items():
        check_tensor(z, f"logits['{name}']", ndim=2)
        if not z.is_floating_point():
            raise TypeError(f"logits['{name}'] must hold floats, got dtype {z.dtype}")
        checked[name] = z
    shapes = {name: tuple(z.shape) for name, z in checked.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"every modality's logits must have one shape (N, C), got {shapes}")
    first = next(iter(checked.values()))
    if not isinstance(prior, torch.Tensor):
        try:
            prior = torch.as_tensor(prior, dtype=first.dtype)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"prior must be C class probabilities, got {prior!r}") from err
    check_tensor(prior, "prior", ndim=1)
    prior = prior.to(device=first.device, dtype=first.dtype)
    if prior.shape[0] != first.shape[1]:
        raise ValueError(f"prior has {prior.shape[0]} classes but the logits have {first.shape[1]}")
    if (prior <= 0).any() or abs(float(prior.sum()) - 1.0) > 1e-4:
        raise ValueError(f"prior must be positive class probabilities summing to 1, got {prior.tolist()}")
    log_post = sum(torch.log_softmax(z, dim=1) for z in checked.values())  # (N, C)
    fused = log_post - (len(checked) - 1) * torch.log(prior)  # (N, C), unnormalised
    return torch.log_softmax(fused, dim=1)
