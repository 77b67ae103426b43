"""Late fusion: one complete classifier per modality, combined at the decision level.

Taught in lesson 02 (section 2, "The fusion family, with the maths").

Each modality gets its own classifier; only their class probabilities are
combined. Four combination rules:

- ``"mean"``: average the probabilities (the sum rule).
- ``"weighted"``: a weighted average with fixed weights, which can be changed
  after training with ``set_weights`` (a notebook slider needs no retraining).
- ``"vote"``: each modality votes for its argmax class; ties are broken by the
  summed probabilities.
- ``"learned"``: a weighted average whose weights are a softmax over
  learned per-modality scores.

The output is the log of the combined distribution, so ``argmax`` is the fused
prediction and ``F.cross_entropy(output, y)`` is its negative log-likelihood.

A missing modality (key absent or None) is simply left out: the weights are
renormalised over the modalities present, and the vote counts only them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.fusion.base import FusionModel, check_encoders, mlp_head
from mmlearn.validation import (
    check_batch_labels,
    check_modalities,
    check_names,
    check_number,
    check_positive_int,
)

LATE_RULES = ("mean", "weighted", "vote", "learned")


class UnimodalClassifier(nn.Module):
    """Encoder -> MLP head: a classifier that sees one modality.

    It takes the same ``{name: batch}`` dict as the fusion models. With
    ``modality`` set it reads that key and ignores the others, so it can be
    trained on a multimodal dataset as it is; without it the dict must hold
    exactly one modality.
    """

    def __init__(
        self,
        encoder: nn.Module,
        num_classes: int,
        modality: str | None = None,
        hidden: int | None = 64,
        dropout: float = 0.0,
    ):
        super().__init__()
        if modality is not None and (not isinstance(modality, str) or not modality):
            raise TypeError(f"modality must be None or the name of the modality to read, got {modality!r}")
        check_encoders({modality or "modality": encoder})
        self.encoder = encoder
        self.modality = modality
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.head = mlp_head(encoder.out_dim, num_classes, hidden, dropout)

    def select(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The one tensor this classifier reads from ``inputs``."""
        if not isinstance(inputs, Mapping):
            raise TypeError(f"inputs must be a dict of modality name -> tensor, got {type(inputs).__name__}")
        if self.modality is not None:
            if inputs.get(self.modality) is None:
                raise KeyError(
                    f"this classifier reads modality {self.modality!r}, absent from {list(inputs)}"
                )
            check_modalities({self.modality: inputs[self.modality]})
            return inputs[self.modality]
        present = [k for k, v in inputs.items() if v is not None]
        if len(present) != 1:
            raise ValueError(
                f"a UnimodalClassifier without `modality` needs exactly one input, got {present}"
            )
        check_modalities(inputs)
        return inputs[present[0]]

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """One modality's batch -> logits (B, num_classes)."""
        return self.head(self.encoder(x))

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.classify(self.select(inputs))  # (B, num_classes)

    def loss(self, inputs: Mapping[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the logits."""
        logits = self(inputs)  # (B, num_classes)
        return F.cross_entropy(logits, check_batch_labels(labels, logits))


class LateFusion(FusionModel):
    """One ``UnimodalClassifier`` per modality, combined by ``rule`` -> (B, num_classes) log-probabilities.

    ``rule`` may be switched among "mean", "weighted" and "vote" after training
    (they share the same classifiers); "learned" has its own parameters and is
    fixed at construction. ``weights`` (rule "weighted") defaults to uniform.
    """

    handles_missing_natively = True

    def __init__(
        self,
        encoders,
        num_classes: int,
        rule: str = "mean",
        weights: Sequence[float] | Mapping[str, float] | None = None,
        hidden: int | None = 64,
        dropout: float = 0.0,
    ):
        encoders = check_encoders(encoders)
        super().__init__(encoders, num_classes)
        if rule not in LATE_RULES:
            raise ValueError(f"rule must be one of {LATE_RULES}, got {rule!r}")
        self._learned = rule == "learned"
        self.rule = rule
        self.classifiers = nn.ModuleDict(
            {m: UnimodalClassifier(enc, num_classes, m, hidden, dropout) for m, enc in encoders.items()}
        )
        self.register_buffer("weights", torch.ones(len(self.modalities)))  # (M,) used by rule "weighted"
        if weights is not None:
            self.set_weights(weights)
        if self._learned:
            self.weight_logits = nn.Parameter(torch.zeros(len(self.modalities)))  # (M,) softmax -> weights

    @property
    def rule(self) -> str:
        return self._rule

    @rule.setter
    def rule(self, rule: str) -> None:
        allowed = ("learned",) if self._learned else ("mean", "weighted", "vote")
        if rule not in allowed:
            raise ValueError(f"this model's rule can be one of {allowed}, got {rule!r}")
        self._rule = rule

    @property
    def encoders(self) -> dict[str, nn.Module]:
        """The per-modality encoders (held inside the classifiers)."""
        return {m: clf.encoder for m, clf in self.classifiers.items()}

    def set_weights(self, weights: Sequence[float] | Mapping[str, float]) -> None:
        """Set the fixed weights of rule "weighted": a sequence in model order or a {name: weight} dict.

        Weights must be finite and non-negative, not all zero; they need not sum to 1.
        """
        if isinstance(weights, Mapping):
            if set(weights) != set(self.modalities):
                raise ValueError(f"weights must give one value for each of {list(self.modalities)}")
            weights = [weights[m] for m in self.modalities]
        if isinstance(weights, str | bytes) or not isinstance(weights, Sequence | torch.Tensor):
            raise TypeError(f"weights must be a list of numbers or a {{name: weight}} dict, got {weights!r}")
        if not isinstance(weights, torch.Tensor):
            weights = [check_number(w, "weights") for w in weights]
        w = torch.as_tensor(weights, dtype=torch.float32).flatten()
        if w.numel() != len(self.modalities):
            raise ValueError(
                f"expected {len(self.modalities)} weights for {list(self.modalities)}, got {w.numel()}"
            )
        if not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"weights must be finite, non-negative and not all zero, got {w.tolist()}")
        self.weights.copy_(w)

    def unimodal_logits(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{name: (B, num_classes) logits}`` of each present modality's own classifier."""
        _, present = self.check_inputs(inputs)
        return {m: self.classifiers[m].classify(inputs[m]) for m in present}

    def modality_weights(self, present: Sequence[str] | None = None) -> torch.Tensor:
        """The combination weights (P,) over ``present`` modalities (default all), summing to 1.

        For rules "mean" and "vote" they are uniform.
        """
        present = list(self.modalities) if present is None else check_names(present, "present")
        unknown = sorted(set(present) - set(self.modalities))
        if unknown:
            raise KeyError(
                f"present names unknown modalities {unknown}; the model has {list(self.modalities)}"
            )
        idx = torch.tensor([self.modalities.index(m) for m in present], device=self.weights.device)
        if self.rule == "learned":
            return torch.softmax(self.weight_logits[idx], dim=0)
        if self.rule == "weighted":
            w = self.weights[idx]
            if w.sum() <= 0:
                raise ValueError(f"every present modality {present} has weight 0 under rule 'weighted'")
            return w / w.sum()
        return torch.full((len(present),), 1.0 / len(present), device=self.weights.device)

    def combine(self, logits: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Per-modality logits {name: (B, C)} -> fused log-probabilities (B, C) under ``rule``."""
        present = [m for m in self.modalities if m in logits]
        probs = torch.stack([torch.softmax(logits[m], dim=1) for m in present], dim=1)  # (B, P, C)
        if self.rule == "vote":
            votes = F.one_hot(probs.argmax(dim=2), self.num_classes).sum(dim=1).to(probs.dtype)  # (B, C)
            # votes are whole numbers and the mean probability lies in [0, 1), so it only breaks ties;
            # dividing by P + 1 makes the scores a distribution (votes sum to P, probabilities to 1).
            fused = (votes + probs.mean(dim=1)) / (len(present) + 1)
        else:
            w = self.modality_weights(present).to(probs.dtype)  # (P,)
            fused = torch.einsum("bpc,p->bc", probs, w)  # (B, C)
        return torch.log(fused.clamp_min(torch.finfo(fused.dtype).tiny))

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.combine(self.unimodal_logits(inputs))  # (B, num_classes) log-probabilities

    def training_step(self, inputs: Mapping[str, torch.Tensor], labels: torch.Tensor):
        """Mean of the unimodal cross-entropies: each classifier learns on its own (classic late fusion).

        Rule "learned" adds the fused negative log-likelihood, from which its weights learn.
        Returns (loss, fused log-probabilities).
        """
        logits = self.unimodal_logits(inputs)
        fused = self.combine(logits)
        labels = check_batch_labels(labels, fused)
        loss = torch.stack([F.cross_entropy(z, labels) for z in logits.values()]).mean()
        if self.rule == "learned":
            loss = loss + F.nll_loss(fused, labels)
        return loss, fused
