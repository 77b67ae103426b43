"""The lesson-05 exercise specs accept the references and the notebook's solutions, and reject wrong ones."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.adversarial import AdversarialPerturbation, pgd
from mmlearn.exercises import check
from mmlearn.exercises.checker import passed
from mmlearn.exercises.lesson05 import _batch, _TinyNet, _trained_encoder
from mmlearn.strategies import FrozenEncoder

# --- the answers as the solution notebook writes them ----------------------------------------------------


class SolutionFrozenEncoder(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.out_dim = encoder.out_dim
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.encoder.eval()

    def train(self, mode=True):
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(self, x):
        return self.encoder(x)


def solution_pgd(model, inputs, labels, modality, epsilon, *, steps=10, seed=0):
    x0 = inputs[modality].detach()
    step_size = 2.5 * epsilon / steps
    x = x0.clone()
    if epsilon > 0:
        noise = torch.rand(x0.shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1
        x = x0 + epsilon * noise.to(device=x0.device, dtype=x0.dtype)
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(model({**inputs, modality: x}), labels)
            (grad,) = torch.autograd.grad(loss, x)
        x = x.detach() + step_size * grad.sign()
        x = x0 + (x - x0).clamp(-epsilon, epsilon)
    return {**inputs, modality: x.detach()}


def test_references_and_solutions_pass(capsys):
    for exercise_id, answer in [
        ("05.1", FrozenEncoder),
        ("05.1", SolutionFrozenEncoder),
        ("05.2", pgd),
        ("05.2", solution_pgd),
    ]:
        check(exercise_id, answer)
        assert passed(exercise_id), capsys.readouterr().out


def test_solution_pgd_is_bit_identical_to_the_package_on_the_lesson_model():
    from mmlearn.recipes import av_fusion_model

    model = av_fusion_model(seed=0).eval()
    gen = torch.Generator().manual_seed(0)
    inputs = {
        "image": torch.rand(16, 1, 8, 8, generator=gen),
        "audio": torch.randn(16, 13, 44, generator=gen),
    }
    labels = torch.randint(0, 10, (16,), generator=gen)
    ours = AdversarialPerturbation(model, "audio", 0.3, method=solution_pgd, steps=10, seed=4)(inputs, labels)
    theirs = AdversarialPerturbation(model, "audio", 0.3, method="pgd", steps=10, seed=4)(inputs, labels)
    assert torch.equal(ours["audio"], theirs["audio"]) and torch.equal(ours["image"], inputs["image"])


def test_solution_frozen_encoder_matches_the_package():
    a, b = _trained_encoder(0), _trained_encoder(0)
    mine, ref = SolutionFrozenEncoder(a).train(), FrozenEncoder(b).train()
    x = torch.rand(5, 1, 8, 8)
    assert torch.equal(mine(x), ref(x))


# --- wrong answers ---------------------------------------------------------------------------------------


class OnlyNoGrad(SolutionFrozenEncoder):
    """Freezes the weights but lets batch norm follow the fusion model's mode."""

    def __init__(self, encoder):
        nn.Module.__init__(self)
        self.encoder, self.out_dim = encoder, encoder.out_dim
        for p in encoder.parameters():
            p.requires_grad_(False)

    def train(self, mode=True):
        return nn.Module.train(self, mode)


class EvalOnceInInit(SolutionFrozenEncoder):
    """eval() in __init__ only: the fusion model's .train() undoes it."""

    def train(self, mode=True):
        return nn.Module.train(self, mode)


class GradientsStillOn(SolutionFrozenEncoder):
    def __init__(self, encoder):
        super().__init__(encoder)
        for p in encoder.parameters():
            p.requires_grad_(True)


class TrainReturnsNothing(SolutionFrozenEncoder):
    def train(self, mode=True):
        super().train(mode)


class NoOutDim(SolutionFrozenEncoder):
    def __init__(self, encoder):
        super().__init__(encoder)
        del self.out_dim


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (OnlyNoGrad, "BatchNorm layer"),
        (EvalOnceInInit, "after the fusion model's .train()"),
        (GradientsStillOn, "still requires grad"),
        (TrainReturnsNothing, "expected the wrapper itself"),
        (NoOutDim, "out_dim"),
    ],
)
def test_wrong_frozen_encoders_fail_with_a_reason(wrong, message, capsys):
    check("05.1", wrong)
    assert not passed("05.1")
    assert message in capsys.readouterr().out


def _no_start(model, inputs, labels, modality, epsilon, *, steps=10, seed=0):
    return solution_pgd(model, inputs, labels, modality, 0.0, steps=1, seed=seed) | {
        modality: _walk(model, inputs, labels, modality, epsilon, steps, inputs[modality].clone())
    }


def _walk(model, inputs, labels, modality, epsilon, steps, x, sign=1.0, project=True):
    x0 = inputs[modality]
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model({**inputs, modality: x}), labels), x)
        x = x.detach() + sign * 2.5 * epsilon / steps * grad.sign()
        if project:
            x = x0 + (x - x0).clamp(-epsilon, epsilon)
    return x.detach()


def _start(inputs, modality, epsilon, seed):
    x0 = inputs[modality]
    return x0 + epsilon * (torch.rand(x0.shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1)


def _descent(model, inputs, labels, modality, epsilon, *, steps=10, seed=0):
    x = _start(inputs, modality, epsilon, seed)
    return {**inputs, modality: _walk(model, inputs, labels, modality, epsilon, steps, x, sign=-1.0)}


def _no_projection(model, inputs, labels, modality, epsilon, *, steps=10, seed=0):
    x = _start(inputs, modality, epsilon, seed)
    return {**inputs, modality: _walk(model, inputs, labels, modality, epsilon, steps, x, project=False)}


def _project_at_the_end(model, inputs, labels, modality, epsilon, *, steps=10, seed=0):
    x = _walk(
        model,
        inputs,
        labels,
        modality,
        epsilon,
        steps,
        _start(inputs, modality, epsilon, seed),
        project=False,
    )
    x0 = inputs[modality]
    return {**inputs, modality: x0 + (x - x0).clamp(-epsilon, epsilon)}


def _raw_gradient(model, inputs, labels, modality, epsilon, *, steps=10, seed=0):
    x0 = inputs[modality]
    x = _start(inputs, modality, epsilon, seed)
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model({**inputs, modality: x}), labels), x)
        x = x0 + (x.detach() + 2.5 * epsilon / steps * grad - x0).clamp(-epsilon, epsilon)
    return {**inputs, modality: x.detach()}


def _not_detached(model, inputs, labels, modality, epsilon, *, steps=10, seed=0):
    out = solution_pgd(model, inputs, labels, modality, epsilon, steps=steps, seed=seed)
    return {**out, modality: out[modality].requires_grad_(True)}


def _moves_both(model, inputs, labels, modality, epsilon, *, steps=10, seed=0):
    out = solution_pgd(model, inputs, labels, modality, epsilon, steps=steps, seed=seed)
    return {m: x + 0.01 if m != modality else x for m, x in out.items()}


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (_no_start, "starts at the clean input"),
        (_descent, "walks down the loss"),
        (_no_projection, "outside the epsilon-ball"),
        (_project_at_the_end, "projects only once"),
        (_raw_gradient, "moves along the gradient itself"),
        (_not_detached, "still requires grad"),
        (_moves_both, "must stay as it was"),
        (lambda *args, **kw: [1, 2], "should return a dict"),
    ],
)
def test_wrong_pgd_fails_with_a_reason(wrong, message, capsys):
    check("05.2", wrong)
    assert not passed("05.2")
    out = capsys.readouterr().out
    assert message in out, out


def test_the_spec_model_is_nonlinear_in_its_input():
    """On a linear model every PGD step has the same sign; the spec's model must tell the slips apart."""
    inputs, labels = _batch(24, seed=10)
    model = _TinyNet()
    a = pgd(model, inputs, labels, "audio", 0.3, steps=10, seed=0)["audio"]
    b = _no_start(model, inputs, labels, "audio", 0.3, steps=10)["audio"]
    assert not torch.allclose(a, b)
