"""What every fusion model shares: one interface and one set of input checks.

Taught in lesson 02 (section 2, "The fusion family, with the maths").

Every fusion model is built from ``{modality name: encoder}`` and a number of
classes, and maps ``{modality name: batch}`` to logits of shape
``(B, num_classes)``. Keeping that one interface lets a lesson train, compare
and corrupt ten fusion methods with the same loop.

A modality is *missing* when its key is absent or its value is None. Models
that can handle that on their own (late, gated, attention) do so; the others
follow ``missing``: ``"error"`` (default) raises an error naming the missing
modality, ``"zeros"`` puts zeros where that modality's vector would go, which
is what a switched-off sensor delivers.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.validation import check_batch_labels, check_level, check_modalities, check_positive_int

MISSING_POLICIES = ("error", "zeros")


def check_encoders(encoders) -> dict[str, nn.Module]:
    """A non-empty ``{name: nn.Module}`` dict whose modules have a positive integer ``out_dim``."""
    if not isinstance(encoders, Mapping) or not encoders:
        raise TypeError("encoders must be a non-empty dict of modality name -> encoder module")
    for name, enc in encoders.items():
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"modality names must be non-empty strings without '.', got {name!r}")
        if not isinstance(enc, nn.Module):
            raise TypeError(f"encoder for '{name}' must be an nn.Module, got {type(enc).__name__}")
        out_dim = getattr(enc, "out_dim", None)
        if isinstance(out_dim, bool) or not isinstance(out_dim, int) or out_dim <= 0:
            raise ValueError(
                f"encoder for '{name}' needs a positive integer out_dim attribute, got {out_dim!r}"
            )
    return dict(encoders)


def mlp_head(in_dim: int, num_classes: int, hidden: int | None = 64, dropout: float = 0.0) -> nn.Module:
    """Linear -> ReLU -> dropout -> linear (or a single linear layer when ``hidden`` is None or 0)."""
    check_positive_int(in_dim, "in_dim")
    check_positive_int(num_classes, "num_classes")
    check_level(dropout, "dropout")
    if hidden is not None and hidden != 0:
        check_positive_int(hidden, "hidden")
    if not hidden:
        return nn.Linear(in_dim, num_classes)
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)
    )


def fill_missing(vectors: Mapping[str, torch.Tensor], dims: Mapping[str, int], batch: int) -> dict:
    """``vectors`` plus a (B, dims[m]) zero tensor for every modality it lacks, in ``dims`` order."""
    ref = next(iter(vectors.values()))
    return {m: vectors[m] if m in vectors else ref.new_zeros(batch, d) for m, d in dims.items()}


class FusionModel(nn.Module):
    """Base class: modality names, class count, input checks, the missing-modality policy and ``loss``.

    Subclasses implement ``forward(inputs) -> (B, num_classes)``.
    """

    #: True when the model copes with a missing modality without a ``missing`` policy.
    handles_missing_natively = False

    def __init__(self, modalities, num_classes: int, missing: str = "error"):
        super().__init__()
        self.modalities: tuple[str, ...] = tuple(modalities)
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.missing = missing

    @property
    def missing(self) -> str:
        """What to do when a modality is absent: "error" or "zeros" (may be changed after training)."""
        return self._missing

    @missing.setter
    def missing(self, policy: str) -> None:
        if policy not in MISSING_POLICIES:
            raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {policy!r}")
        self._missing = policy

    @property
    def supports_missing(self) -> bool:
        """Whether forward() gives a result (rather than an error) when a modality is missing."""
        return self.handles_missing_natively or self.missing == "zeros"

    def check_inputs(self, inputs) -> tuple[int, list[str]]:
        """Validate ``inputs``; return the batch size and the present modalities in model order.

        Raises on unknown names, an empty dict, empty batches, NaNs and mismatched
        batch sizes; and, for models without native support under ``missing="error"``,
        on a missing modality.
        """
        batch = check_modalities(inputs, known=self.modalities)
        present = [m for m in self.modalities if inputs.get(m) is not None]
        absent = [m for m in self.modalities if m not in present]
        if absent and not self.supports_missing:
            raise KeyError(
                f"modality {absent[0]!r} is missing (key absent or None); {type(self).__name__} needs "
                f"every modality of {list(self.modalities)}. Pass missing='zeros' to put zeros in its place "
                "(a switched-off sensor), or use a late, gated or attention fusion model."
            )
        return batch, present

    def loss(self, inputs: Mapping[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """The training loss: cross-entropy of the fused logits (late fusion overrides it)."""
        return self.training_step(inputs, labels)[0]

    def training_step(self, inputs: Mapping[str, torch.Tensor], labels: torch.Tensor):
        """(loss, logits) of one batch in a single forward pass; ``train_classifier`` calls this."""
        logits = self(inputs)  # (B, num_classes)
        return F.cross_entropy(logits, check_batch_labels(labels, logits)), logits


class EncoderFusion(FusionModel):
    """A fusion model that encodes each modality with its own encoder first."""

    def __init__(self, encoders, num_classes: int, missing: str = "error"):
        encoders = check_encoders(encoders)
        super().__init__(encoders, num_classes, missing)
        self.encoders = nn.ModuleDict(encoders)
        self.feature_dims = {m: enc.out_dim for m, enc in encoders.items()}

    def encode(self, inputs) -> tuple[dict[str, torch.Tensor], list[str], int]:
        """Check ``inputs`` and encode the present modalities: ``({name: (B, out_dim)}, present, B)``."""
        batch, present = self.check_inputs(inputs)
        return {m: self.encoders[m](inputs[m]) for m in present}, present, batch
