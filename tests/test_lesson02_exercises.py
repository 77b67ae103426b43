"""The lesson 02 exercise specs accept the package's classes and reject typical wrong answers."""

import pytest
import torch

import mmlearn.fusion.tensor
from mmlearn.exercises import lesson02  # noqa: F401  (registers the specs)
from mmlearn.exercises.checker import _HINTS_SHOWN, _PASSED, _guarded, _StudentError, check, get_exercise, use
from mmlearn.fusion import GatedFusion, LowRankFusion, outer_product


def verdict(exercise_id, answer, capsys) -> str:
    _PASSED.discard(exercise_id)
    _HINTS_SHOWN.pop(exercise_id, None)
    check(exercise_id, answer)
    return capsys.readouterr().out


def test_references_pass_and_are_what_use_returns(capsys):
    for exercise_id, cls in [("02.1", GatedFusion), ("02.2", LowRankFusion)]:
        assert get_exercise(exercise_id).reference is cls
        out = verdict(exercise_id, cls, capsys)
        assert "✅" in out and "❌" not in out, out


class GatedNotDone(GatedFusion):
    def forward(self, inputs):
        raise NotImplementedError()


class GatedNoMask(GatedFusion):
    """Zeros for a missing modality but no -inf: the softmax still gives it weight."""

    def forward(self, inputs):
        feats, present, batch = self.encode(inputs)
        ref = feats[present[0]]
        full = [feats[m] if m in feats else ref.new_zeros(batch, d) for m, d in self.feature_dims.items()]
        g = torch.softmax(self.gate(torch.cat(full, dim=1)), dim=1)
        fused = sum(g[:, self.modalities.index(m), None] * self.projections[m](feats[m]) for m in present)
        return self.head(fused)


class GatedMean(GatedFusion):
    """No gate at all: the plain mean of the projections."""

    def forward(self, inputs):
        feats, present, _ = self.encode(inputs)
        return self.head(sum(self.projections[m](feats[m]) for m in present) / len(present))


class GatedDetached(GatedFusion):
    def forward(self, inputs):
        feats, present, batch = self.encode(inputs)
        ref = feats[present[0]]
        full = [feats[m] if m in feats else ref.new_zeros(batch, d) for m, d in self.feature_dims.items()]
        absent = torch.tensor([m not in feats for m in self.modalities])
        scores = self.gate(torch.cat(full, dim=1)).masked_fill(absent, float("-inf")).detach()
        g = torch.softmax(scores, dim=1)
        fused = sum(g[:, self.modalities.index(m), None] * self.projections[m](feats[m]) for m in present)
        return self.head(fused)


def test_wrong_gated_modules_fail_with_a_useful_message(capsys):
    out = verdict("02.1", GatedNotDone, capsys)
    assert "❌" not in out and "✅" not in out  # not done yet: no verdict of failure
    out = verdict("02.1", GatedNoMask, capsys)
    assert "❌" in out and "a missing one" in out and "expected" in out
    out = verdict("02.1", GatedMean, capsys)
    assert "❌" in out and "logits for inputs" in out
    out = verdict("02.1", GatedDetached, capsys)
    assert "❌" in out and "gradient" in out
    out = verdict("02.1", lambda encoders, classes, **kw: torch.nn.Linear(3, 3), capsys)
    assert "❌" in out and "subclass GatedFusion" in out


class LowRankNoBias(LowRankFusion):
    def fuse(self, z):
        product = None
        for m, v in zip(self.modalities, z, strict=True):
            term = torch.einsum("bi,rih->brh", v, self.factors[m])
            product = term if product is None else product * term
        return product.sum(dim=1)


class LowRankSumOverModalities(LowRankFusion):
    """Adds the modality terms instead of multiplying them."""

    def fuse(self, z):
        terms = [
            torch.einsum("bi,rih->brh", v, self.factors[m]) for m, v in zip(self.modalities, z, strict=True)
        ]
        return sum(terms).sum(dim=1) + self.bias


class LowRankFirstRankOnly(LowRankFusion):
    def fuse(self, z):
        product = None
        for m, v in zip(self.modalities, z, strict=True):
            term = v @ self.factors[m][0]
            product = term if product is None else product * term
        return product + self.bias


def test_wrong_low_rank_layers_fail_with_a_useful_message(capsys):
    for wrong in (LowRankNoBias, LowRankSumOverModalities, LowRankFirstRankOnly):
        out = verdict("02.2", wrong, capsys)
        assert "❌" in out and "fuse(z) for" in out and "expected" in out, (wrong.__name__, out)


class GatedCallsPackage(GatedFusion):
    def forward(self, inputs):
        return super().forward(inputs)


class GatedInherits(GatedFusion):
    pass


class LowRankCallsPackage(LowRankFusion):
    def fuse(self, z):
        return LowRankFusion.fuse(self, z)


class LowRankViaFullWeight(LowRankFusion):
    def fuse(self, z):
        return torch.nn.functional.linear(outer_product(z), self.full_weight(), self.bias)


class LowRankViaTensorModule(LowRankFusion):
    def fuse(self, z):
        return torch.nn.functional.linear(
            mmlearn.fusion.tensor.outer_product(z), self.full_weight2(), self.bias
        )

    def full_weight2(self):
        return LowRankFusion.full_weight(self)


def test_calling_the_package_answer_is_refused(capsys):
    for exercise_id, answer, rule in [
        ("02.1", GatedCallsPackage, "GatedFusion.forward"),
        ("02.1", GatedInherits, "GatedFusion.forward"),
        ("02.2", LowRankCallsPackage, "LowRankFusion.fuse"),
        ("02.2", LowRankViaFullWeight, "outer_product"),
        ("02.2", LowRankViaTensorModule, "outer_product"),
    ]:
        out = verdict(exercise_id, answer, capsys)
        assert "❌" in out and "write it yourself" in out and rule in out, (answer.__name__, out)
    # restored afterwards, in this process too (the spec may run in a thread where fork is missing)
    assert GatedFusion.forward.__qualname__ == "GatedFusion.forward"
    assert LowRankFusion.fuse.__qualname__ == "LowRankFusion.fuse"
    assert mmlearn.fusion.tensor.outer_product is outer_product is mmlearn.fusion.outer_product


def test_blocking_restores_the_package_after_a_direct_run():
    spec = get_exercise("02.2").spec
    with pytest.raises(_StudentError):
        spec(_guarded(LowRankViaFullWeight))
    assert mmlearn.fusion.tensor.outer_product is outer_product
    assert LowRankFusion.full_weight.__qualname__ == "LowRankFusion.full_weight"
    spec(_guarded(LowRankFusion))  # the package's own class still passes


def test_use_hands_back_the_reference_until_the_answer_passes(capsys):
    _PASSED.discard("02.2")
    assert use("02.2", LowRankNoBias) is LowRankFusion
    assert "runs on the reference" in capsys.readouterr().out
    assert use("02.1", GatedFusion) is GatedFusion


def test_hints_come_in_steps():
    for exercise_id in ("02.1", "02.2"):
        assert len(get_exercise(exercise_id).hints) >= 2
