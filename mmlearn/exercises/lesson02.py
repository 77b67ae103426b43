"""Exercises of lesson 02 (fusion): two fusion modules that section 3 then trains.

- 02.1: the forward pass of gated fusion (``GatedFusion.forward``): gate
  scores from all features, a missing modality masked out, the softmax-weighted
  sum of the projections, the head.
- 02.2: the low-rank fusion layer (``LowRankFusion.fuse``): the tensor-fusion
  layer ``W . Z`` computed from per-modality factors without building ``Z``.

The student subclasses the package's class and writes one method; the layers
come from the package's ``__init__``, so the check loads the reference's
weights into the student's model and compares outputs. ``use`` hands the
lesson the student's class once it passes, the package's until then.
"""

from __future__ import annotations

import contextlib
import functools
import sys

import torch
import torch.nn.functional as F
from torch import nn

import mmlearn.fusion
import mmlearn.fusion.tensor
from mmlearn.exercises.checker import ExerciseFailure, _guarded, exercise, expect_close
from mmlearn.fusion import GatedFusion, LowRankFusion, outer_product


class _Encoder(nn.Linear):
    """A linear encoder with the ``out_dim`` attribute fusion models read."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__(in_dim, out_dim)
        self.out_dim = out_dim


def _encoders(dims: dict[str, tuple[int, int]]) -> dict[str, nn.Module]:
    return {m: _Encoder(d_in, d_out) for m, (d_in, d_out) in dims.items()}


def _build(student, reference_cls, dims, seed: int, **options):
    """(reference model, student model with the reference's weights), both in eval mode."""
    torch.manual_seed(seed)
    reference = reference_cls(_encoders(dims), 3, **options).eval()
    torch.manual_seed(seed)
    model = student(_encoders(dims), 3, **options)
    if not isinstance(model, reference_cls):
        raise ExerciseFailure(
            f"your class must subclass {reference_cls.__name__} (keep its __init__ and its layers); "
            f"got an instance of {type(model).__name__}"
        )
    try:
        model.load_state_dict(reference.state_dict())
    except RuntimeError as err:
        raise ExerciseFailure(
            f"your model's layers differ from {reference_cls.__name__}'s: keep its __init__ and add no "
            f"parameters ({str(err).splitlines()[0]})"
        ) from None
    return reference, model.eval()


def _inputs(dims, batch: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    return {m: torch.randn(batch, d_in, generator=gen) for m, (d_in, _) in dims.items()}


def _forbidden(rule: str) -> ExerciseFailure:
    return ExerciseFailure(f"write it yourself; calling the package's {rule} is not allowed here")


def _only_for(cls: type, name: str, rule: str):
    """``cls.name``, except that it raises for an instance of a subclass (the student's class)."""
    original = getattr(cls, name)

    @functools.wraps(original)
    def blocked(self, *args, **kwargs):
        if type(self) is not cls:
            raise _forbidden(rule)
        return original(self, *args, **kwargs)

    return original, blocked


@contextlib.contextmanager
def _package_answers_blocked(methods: list[tuple[type, str]], functions: tuple[str, ...] = ()):
    """While the spec runs, the package's answer raises when the student's model calls it.

    ``methods`` still work on the package's own class (the spec's reference calls them); the module
    functions named in ``functions`` (from ``mmlearn.fusion.tensor``) raise for every caller outside
    this module, in every module that imported them (the notebook's too).
    """
    restore = []
    try:
        for cls, name in methods:
            original, blocked = _only_for(cls, name, f"{cls.__name__}.{name}")
            restore.append((cls, name, original))
            setattr(cls, name, blocked)
        for fname in functions:
            original = getattr(mmlearn.fusion.tensor, fname)

            def raiser(*args, _name=fname, **kwargs):
                raise _forbidden(_name)

            this = sys.modules[__name__]  # the spec's own name for it keeps working
            for module in list(sys.modules.values()):
                namespace = getattr(module, "__dict__", None)
                if module is not this and isinstance(namespace, dict) and namespace.get(fname) is original:
                    restore.append((module, fname, original))
                    setattr(module, fname, raiser)
        yield
    finally:
        for owner, name, original in reversed(restore):
            setattr(owner, name, original)


def _describe(inputs) -> str:
    return (
        "{" + ", ".join(f"{m!r}: {'None' if x is None else tuple(x.shape)}" for m, x in inputs.items()) + "}"
    )


# --- 02.1 gated fusion ---------------------------------------------------------------------------------


@exercise(
    "02.1",
    "gated fusion: the forward pass",
    (
        "Think in three steps. The gate reads every modality's features side by side (zeros stand in for "
        "a missing modality, as wide as its features: self.feature_dims[m]) and gives one score per "
        "modality. A missing modality's score must become "
        "minus infinity, so that the softmax gives it weight exactly 0. The fused vector is the "
        "gate-weighted sum of the tanh projections of the modalities present, and the head classifies it.",
        "What to call: self.encode gives the features of the present modalities, their names and the "
        "batch size; torch.cat joins the features along dim 1 in self.modalities order; then self.gate, "
        "Tensor.masked_fill with float('-inf'), torch.softmax over dim 1, self.projections[m] and "
        "self.head. Modality m's gate is the column at m's position in self.modalities.",
    ),
    reference=GatedFusion,
)
def check_gated_fusion(student):
    with _package_answers_blocked([(GatedFusion, "forward")]):
        _check_gated_fusion(student)


def _check_gated_fusion(student):
    gen = torch.Generator().manual_seed(2)
    cases = [
        ({"image": (6, 5), "audio": (9, 4)}, {}),
        ({"image": (6, 5), "audio": (9, 4), "text": (3, 7)}, {"d_model": 6, "hidden": 8}),
    ]
    for seed, (dims, options) in enumerate(cases):
        reference, model = _build(student, GatedFusion, dims, seed, **options)
        full = _inputs(dims, 5, gen)
        names = list(dims)
        variants = [full, {m: full[m] for m in names[1:]}, {**full, names[-1]: None}]
        for inputs in variants:
            expected = reference(inputs)
            with torch.no_grad():
                got = _guarded(model)({m: None if x is None else x.clone() for m, x in inputs.items()})
            what = f"logits for inputs {_describe(inputs)} ({len(dims)} modalities"
            what += ", a missing one: key absent)" if len(inputs) < len(dims) else ")"
            if any(x is None for x in inputs.values()):
                what = what[:-1] + ", a missing one: value None)"
            expect_close(got, expected, what)
    out = _guarded(model)(full)
    out.sum().backward()
    if model.gate.weight.grad is None or not model.gate.weight.grad.abs().sum() > 0:
        raise ExerciseFailure(
            "the gate gets no gradient: the fused logits must depend on self.gate's scores "
            "(no .detach(), no torch.no_grad() in forward)"
        )


# --- 02.2 low-rank fusion ------------------------------------------------------------------------------


@exercise(
    "02.2",
    "low-rank fusion: W . Z without building Z",
    (
        "Think of one rank term i at a time: each modality's [h_m; 1] goes through its own factor "
        "W_m^(i) (an n_m x hidden matrix), the M results are multiplied elementwise, and the rank terms "
        "are summed; the bias is added once, at the end.",
        "self.factors[m] holds every rank at once, shape (rank, n_m, hidden): an einsum or a broadcast "
        "matmul can turn (B, n_m) into (B, rank, hidden).",
    ),
    reference=LowRankFusion,
)
def check_low_rank(student):
    blocked = [(LowRankFusion, "fuse"), (LowRankFusion, "full_weight")]
    with _package_answers_blocked(blocked, functions=("outer_product",)):
        _check_low_rank(student)


def _check_low_rank(student):
    gen = torch.Generator().manual_seed(3)
    cases = [
        ({"image": (6, 5), "audio": (9, 4)}, {"rank": 1, "proj_dim": 3, "hidden": 4}),
        ({"image": (6, 5), "audio": (9, 4)}, {"rank": 4, "proj_dim": 5, "hidden": 6}),
        ({"image": (6, 5), "audio": (9, 4), "text": (3, 7)}, {"rank": 3, "proj_dim": 2, "hidden": 5}),
    ]
    for seed, (dims, options) in enumerate(cases):
        reference, model = _build(student, LowRankFusion, dims, seed, **options)
        with torch.no_grad():  # the bias starts at zero: make it count
            bias = torch.randn(options["hidden"], generator=gen)
            reference.bias.copy_(bias)
            model.bias.copy_(bias)
        n = options["proj_dim"] + 1
        z = [torch.randn(4, n, generator=gen) for _ in dims]  # the [h_m; 1] vectors (B, n_m)
        expected = reference.fuse(z)
        full = F.linear(outer_product(z), reference.full_weight(), reference.bias)
        what = (
            f"fuse(z) for {len(dims)} modalities, z of shapes {[tuple(v.shape) for v in z]}, "
            f"rank {options['rank']}, hidden {options['hidden']}: expected (B, hidden) equal to the tensor-"
            "fusion layer W . Z with W rebuilt from the factors"
        )
        got = _guarded(model.fuse)([v.clone() for v in z])
        expect_close(got, full, what, atol=1e-5)
        expect_close(got, expected, what)
    z = [torch.randn(3, n, generator=gen, requires_grad=True) for _ in dims]
    _guarded(model.fuse)(z).sum().backward()
    if any(f.grad is None for f in model.factors.values()):
        raise ExerciseFailure(
            "a factor gets no gradient: the output must be computed from every self.factors[m]"
        )
