"""The lesson-04 exercise specs accept the reference answers and reject wrong ones with a useful message."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.exercises import check, use
from mmlearn.exercises.checker import passed
from mmlearn.losses import ClipLoss, SigLipLoss


class GivenClipInit(nn.Module):
    """The part of 04.1 the notebook gives: the parameters; subclasses write forward."""

    def __init__(self, init_temperature: float = 0.07, max_scale: float = 100.0, learnable: bool = True):
        super().__init__()
        self.max_scale = max_scale
        self.log_logit_scale = nn.Parameter(
            torch.tensor(math.log(1.0 / init_temperature)), requires_grad=learnable
        )

    def scale(self):
        return self.log_logit_scale.clamp(max=math.log(self.max_scale)).exp()


class StudentClip(GivenClipInit):
    """The notebook's solution of 04.1."""

    def forward(self, image_features, text_features):
        scale = self.log_logit_scale.clamp(max=math.log(self.max_scale)).exp()
        image = F.normalize(image_features, dim=-1)
        text = F.normalize(text_features, dim=-1)
        logits = scale * image @ text.T
        targets = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


class StudentSigLip(nn.Module):
    """The notebook's solution of 04.2."""

    def __init__(self, init_scale: float = 10.0, init_bias: float = -10.0, learnable: bool = True):
        super().__init__()
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(init_scale)), requires_grad=learnable)
        self.logit_bias = nn.Parameter(torch.tensor(init_bias), requires_grad=learnable)

    def forward(self, image_features, text_features):
        image = F.normalize(image_features, dim=-1)
        text = F.normalize(text_features, dim=-1)
        logits = self.log_logit_scale.exp() * image @ text.T + self.logit_bias
        labels = 2 * torch.eye(len(logits), device=logits.device, dtype=logits.dtype) - 1
        return -F.logsigmoid(labels * logits).sum() / len(logits)


def test_references_and_solutions_pass(capsys):
    for exercise_id, answer in (
        ("04.1", ClipLoss),
        ("04.1", StudentClip),
        ("04.2", SigLipLoss),
        ("04.2", StudentSigLip),
    ):
        check(exercise_id, answer)
        assert passed(exercise_id), capsys.readouterr().out


def test_the_solutions_are_bit_identical_to_the_references():
    """The lesson's outputs must not depend on which one ``use`` hands it: same values, same gradients."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        image, text = torch.randn(32, 16, generator=gen), torch.randn(32, 16, generator=gen)
        for ours, theirs in ((StudentClip(0.05), ClipLoss(0.05)), (StudentSigLip(), SigLipLoss())):
            a, b = ours(image, text), theirs(image, text)
            assert torch.equal(a, b)
            grads_a = torch.autograd.grad(a, list(ours.parameters()))
            grads_b = torch.autograd.grad(b, list(theirs.parameters()))
            assert all(torch.equal(x, y) for x, y in zip(grads_a, grads_b, strict=True))


def _fails_with(capsys, exercise_id, answer, words):
    check(exercise_id, answer)
    out = capsys.readouterr().out
    assert not passed(exercise_id), out
    assert words in out, out


def test_clip_slips_are_named(capsys):
    class OneDirection(GivenClipInit):
        def forward(self, image, text):
            logits = self.scale() * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T
            return F.cross_entropy(logits, torch.arange(len(logits)))

    class NotNormalised(GivenClipInit):
        def forward(self, image, text):
            logits = self.scale() * image @ text.T
            targets = torch.arange(len(logits))
            return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2

    class NoClamp(GivenClipInit):
        def forward(self, image, text):
            logits = self.log_logit_scale.exp() * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T
            targets = torch.arange(len(logits))
            return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2

    class FixedScale(GivenClipInit):
        def forward(self, image, text):
            logits = self.scale().item() * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T
            targets = torch.arange(len(logits))
            return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2

    _fails_with(capsys, "04.1", OneDirection, "only the image->text direction")
    _fails_with(capsys, "04.1", NotNormalised, "not L2-normalised")
    _fails_with(capsys, "04.1", NoClamp, "clamp the log scale")
    _fails_with(capsys, "04.1", FixedScale, "does not depend on log_logit_scale")


def test_siglip_slips_are_named(capsys):
    class MeanOverPairs(StudentSigLip):
        def forward(self, image, text):
            logits = self.log_logit_scale.exp() * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T
            labels = 2 * torch.eye(len(logits)) - 1
            return -F.logsigmoid(labels * (logits + self.logit_bias)).mean()

    class NoBias(StudentSigLip):
        def forward(self, image, text):
            logits = self.log_logit_scale.exp() * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T
            labels = 2 * torch.eye(len(logits)) - 1
            return -F.logsigmoid(labels * logits).sum() / len(logits)

    class ScaleNotLog(nn.Module):
        def __init__(self, init_scale=10.0, init_bias=-10.0, learnable=True):
            super().__init__()
            self.logit_scale = nn.Parameter(torch.tensor(init_scale), requires_grad=learnable)
            self.logit_bias = nn.Parameter(torch.tensor(init_bias), requires_grad=learnable)

        def forward(self, image, text):
            return SigLipLoss.forward(self, image, text)

    class AlwaysLearnable(StudentSigLip):
        def __init__(self, init_scale=10.0, init_bias=-10.0, learnable=True):
            super().__init__(init_scale, init_bias, True)

    _fails_with(capsys, "04.2", MeanOverPairs, "the mean over all N * N pairs")
    _fails_with(capsys, "04.2", NoBias, "without the bias")
    _fails_with(capsys, "04.2", ScaleNotLog, "'log_logit_scale'")
    _fails_with(capsys, "04.2", AlwaysLearnable, "learnable=False")


def test_use_hands_the_reference_until_the_answer_passes(capsys):
    class NotDone(GivenClipInit):
        def forward(self, image, text):
            raise NotImplementedError()

    assert use("04.1", NotDone) is ClipLoss
    assert use("04.1", StudentClip) is StudentClip
    assert "runs on the reference mmlearn.losses.ClipLoss" in capsys.readouterr().out
