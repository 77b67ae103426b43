"""Fusion that never does much worse than its best sense: three practitioner fixes for a noisy modality.

Taught in lesson 08 (section 4, "Three fixes"); lesson 02 (section 4) shows the problem they fix.

A fused model trained on clean pairs trusts a modality that has turned to
noise: lesson 02 ends with every fused model far below the image alone once
the audio is drowned. The fixes here:

- ``RandomStrengthNoise``: a training transform that corrupts, in each
  training pair, one modality chosen at random with Gaussian noise of random
  strength (the same noise as ``mmlearn.data.corruption.gaussian_noise``, one
  level per pair). A classifier trained this way has seen noise of every
  strength and learns to hedge when its input is noise.
- Decision rules for the per-modality log-probabilities of a late-fusion
  model: ``product_rule`` (the product of the modalities' posteriors,
  renormalised: a flat, uncertain modality changes little) and
  ``entropy_weighted_rule`` (a weighted mean whose weights fall with each
  modality's entropy). ``RuledLateFusion`` applies a rule to a trained
  ``LateFusion`` model.
- ``NoiseAwareGate``: a mixture of frozen experts (say a robust fused model
  and the two single-modality models) whose per-sample weights come from a
  small network that sees how noisy each input looks (its log standard
  deviation) and how unsure each expert is (its entropy). It is the
  stream weighting of audio-visual speech recognition, where each stream's
  weight follows an estimate of its reliability, learned instead of set by
  hand. Train only the gate, on data the experts did not train on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.data.corruption import NOISE_AT_FULL
from mmlearn.fusion.late import LateFusion
from mmlearn.validation import (
    check_modalities,
    check_module,
    check_names,
    check_number,
    check_seed,
    check_tensor,
)

__all__ = [
    "RandomStrengthNoise",
    "product_rule",
    "entropy_weighted_rule",
    "RuledLateFusion",
    "noise_statistics",
    "NoiseAwareGate",
]


class RandomStrengthNoise:
    """A training transform ``(inputs, labels) -> inputs``: noise of random strength on one modality per pair.

    For a batch of B pairs and the M modalities of ``inputs`` (in dict order),
    with one ``torch.Generator`` seeded by ``seed`` and drawn in this order:

    1. ``which = torch.randint(M, (B,))``: the modality each pair may lose;
    2. ``clean = torch.rand(B) < p_clean``: pairs left untouched;
    3. ``level = torch.rand(B)``: each pair's level, uniform in [0, 1);
    4. for each modality m in order, ``noise = torch.randn(x_m.shape)``, and
       ``x_m + NOISE_AT_FULL * l**2 * sigma * noise`` where ``l`` is the pair's
       level if m is its chosen modality and it is not clean (else 0), and
       ``sigma`` the pair's own standard deviation of ``x_m`` (over all its
       values, unbiased), as in ``mmlearn.data.corruption.gaussian_noise``.

    The inputs are not modified; a new dict comes back.
    """

    def __init__(self, p_clean: float = 1 / 3, *, seed: int = 0):
        p_clean = check_number(p_clean, "p_clean")
        if not 0.0 <= p_clean <= 1.0:
            raise ValueError(f"p_clean must be a probability in [0, 1], got {p_clean!r}")
        self.p_clean = float(p_clean)
        self.generator = torch.Generator().manual_seed(check_seed(seed))

    def __call__(self, inputs: Mapping[str, torch.Tensor], labels: torch.Tensor | None = None) -> dict:
        batch = check_modalities(inputs)
        names = list(inputs)
        g = self.generator
        which = torch.randint(len(names), (batch,), generator=g)  # (B,)
        clean = torch.rand(batch, generator=g) < self.p_clean  # (B,)
        level = torch.rand(batch, generator=g)  # (B,)
        out = {}
        for j, m in enumerate(names):
            x = inputs[m]
            noise = torch.randn(x.shape, generator=g).to(device=x.device, dtype=x.dtype)
            lv = torch.where((which == j) & ~clean, level, torch.zeros(batch)).to(x.device)  # (B,)
            sigma = x.flatten(1).std(dim=1)  # (B,) each pair's own spread
            scale = (NOISE_AT_FULL * lv**2 * sigma).to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
            out[m] = x + scale * noise
        return out


def _log_probs(log_probs) -> torch.Tensor:
    check_tensor(log_probs, "log_probs", ndim=3)
    if not log_probs.is_floating_point():
        raise TypeError(f"log_probs must hold floats, got dtype {log_probs.dtype}")
    if log_probs.shape[1] == 0 or log_probs.shape[2] == 0:
        raise ValueError(f"log_probs must be (B, M, C) with M, C >= 1, got {tuple(log_probs.shape)}")
    if torch.isnan(log_probs).any():
        raise ValueError("log_probs contains NaN")
    return log_probs


def product_rule(log_probs: torch.Tensor) -> torch.Tensor:
    """(B, M, C) per-modality log-probabilities -> (B, C) log of their normalised product.

    With modalities independent given the class and a uniform class prior,
    this is the Bayes posterior of the pair; a flat (unsure) modality leaves
    the others' decision as it is.
    """
    return torch.log_softmax(_log_probs(log_probs).sum(dim=1), dim=1)


def entropy_weighted_rule(log_probs: torch.Tensor, tau: float = 0.5) -> torch.Tensor:
    """(B, M, C) log-probabilities -> (B, C) log of a mean of the probabilities weighted by confidence.

    Each pair's weights are ``w = softmax(-H / tau)`` over the M modalities,
    ``H_m = -sum_c p_mc log p_mc`` the entropy (in nats) of modality m's
    prediction: the surer a modality, the more it counts. The result is
    ``log(sum_m w_m p_m)``.
    """
    log_probs = _log_probs(log_probs)
    tau = check_number(tau, "tau", positive=True)
    p = log_probs.exp()
    entropy = -(p * log_probs).sum(dim=2)  # (B, M)
    w = torch.softmax(-entropy / tau, dim=1)  # (B, M)
    fused = (w[:, :, None] * p).sum(dim=1)  # (B, C)
    return torch.log(fused.clamp_min(torch.finfo(fused.dtype).tiny))


class RuledLateFusion(nn.Module):
    """A trained ``LateFusion`` model's classifiers combined by another rule: inputs -> (B, C) log-probs.

    ``rule(log_probs)`` takes the (B, M, C) log-probabilities of the
    modalities (in the model's order) and returns (B, C) fused
    log-probabilities, e.g. ``product_rule``. The late model is shared, not
    copied. Every modality must be present.
    """

    def __init__(self, late: LateFusion, rule: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        if not isinstance(late, LateFusion):
            raise TypeError(f"late must be a trained mmlearn.fusion.LateFusion, got {type(late).__name__}")
        if not callable(rule):
            raise TypeError("rule must be a function (B, M, C) log-probabilities -> (B, C)")
        self.late = late
        self.rule = rule

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        logits = self.late.unimodal_logits(inputs)
        missing = [m for m in self.late.modalities if m not in logits]
        if missing:
            raise KeyError(
                f"inputs lack modality {missing[0]!r}; the rule combines {list(self.late.modalities)}"
            )
        log_probs = torch.stack([F.log_softmax(logits[m], dim=1) for m in self.late.modalities], dim=1)
        return self.rule(log_probs)  # (B, C)


def noise_statistics(inputs: Mapping[str, torch.Tensor], modalities: Sequence[str]) -> torch.Tensor:
    """(B, M): the log of each pair's standard deviation of each modality, in ``modalities`` order.

    Additive noise raises it: at the noise of level 1 (ten times the
    signal's spread) by about log(10) = 2.3.
    """
    batch = check_modalities(inputs)
    modalities = check_names(modalities, "modalities")
    if not modalities:
        raise ValueError("modalities is empty")
    missing = [m for m in modalities if inputs.get(m) is None]
    if missing:
        raise KeyError(f"modalities names {missing[0]!r}, absent from inputs (they hold {sorted(inputs)})")
    stats = [inputs[m].reshape(batch, -1).float().std(dim=1).clamp_min(1e-6).log() for m in modalities]
    return torch.stack(stats, dim=1)


class NoiseAwareGate(nn.Module):
    """Frozen experts mixed per pair by a gate that sees the noise: inputs -> (B, C) log-probabilities.

    ``experts`` ({name: model}, each inputs -> (B, C) logits or
    log-probabilities) are frozen: no gradients, always in eval mode. The gate
    reads ``noise_statistics(inputs, modalities)`` (M values) and the entropy of
    each expert's prediction (K values), batch-normalises them, and an MLP with
    one hidden layer of ``hidden`` units gives K weights ``g`` (a softmax).
    The output is ``log sum_k g_k p_k``: a mixture of the experts' predictions.
    """

    def __init__(self, experts: Mapping[str, nn.Module], modalities: Sequence[str], hidden: int = 32):
        super().__init__()
        if not isinstance(experts, Mapping) or not experts:
            raise TypeError("experts must be a non-empty dict of name -> trained model")
        for name, expert in experts.items():
            check_module(expert, f"experts[{name!r}]")
        self.modalities = tuple(check_names(modalities, "modalities"))
        if not self.modalities:
            raise ValueError("modalities is empty")
        if not isinstance(hidden, int) or isinstance(hidden, bool) or hidden < 1:
            raise ValueError(f"hidden must be a positive integer, got {hidden!r}")
        self.expert_names = tuple(experts)
        self.experts = nn.ModuleList(experts.values())
        for p in self.experts.parameters():
            p.requires_grad_(False)
        n_in = len(self.modalities) + len(self.experts)
        self.norm = nn.BatchNorm1d(n_in)
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, len(self.experts)))
        self.train()

    def train(self, mode: bool = True) -> NoiseAwareGate:
        super().train(mode)
        self.experts.eval()  # frozen experts: batch norm keeps its running statistics
        return self

    def log_gates(self, inputs: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(log g (B, K), the experts' log-probabilities (B, K, C)) for a batch."""
        stats = noise_statistics(inputs, self.modalities)  # (B, M), checks the inputs
        with torch.no_grad():
            log_probs = torch.stack([F.log_softmax(e(inputs), dim=1) for e in self.experts], dim=1)
        entropy = -(log_probs.exp() * log_probs).sum(dim=2)  # (B, K)
        features = torch.cat([stats.to(entropy), entropy], dim=1)
        return torch.log_softmax(self.net(self.norm(features)), dim=1), log_probs

    def gates(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(B, K) the experts' weights for each pair, in ``expert_names`` order."""
        return self.log_gates(inputs)[0].exp()

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        log_g, log_probs = self.log_gates(inputs)
        return torch.logsumexp(log_g[:, :, None] + log_probs, dim=1)  # (B, C)
