"""The lesson-05 exercise specs accept the reference answers and reject wrong ones."""

import pytest
import torch

from mmlearn.adversarial import fgsm
from mmlearn.exercises import check
from mmlearn.exercises.checker import passed
from mmlearn.exercises.lesson05 import _Linear, fgsm_step_reference


def modality_dropout_reference(inputs, p, gen):
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1), got {p}")
    out = dict(inputs)
    for m in sorted(inputs):
        keep = (torch.rand(len(inputs[m]), generator=gen) >= p).to(inputs[m].dtype)
        out[m] = inputs[m] * keep.view(-1, *([1] * (inputs[m].dim() - 1)))
    return out


def test_references_pass(capsys):
    check("05.1", modality_dropout_reference)
    check("05.2", fgsm_step_reference)
    assert passed("05.1") and passed("05.2")


def test_fgsm_reference_matches_package_attack():
    model = _Linear()
    gen = torch.Generator().manual_seed(0)
    inputs = {"image": torch.rand(8, 1, 8, 8, generator=gen), "audio": torch.randn(8, 13, 6, generator=gen)}
    labels = torch.randint(0, 4, (8,), generator=gen)
    ours = fgsm_step_reference(model, inputs, labels, "audio", 0.1)
    theirs = fgsm(model, inputs, labels, "audio", 0.1)
    assert torch.allclose(ours["audio"], theirs["audio"])
    assert torch.equal(ours["image"], inputs["image"])


def _in_place(inputs, p, gen):
    for m in sorted(inputs):
        keep = (torch.rand(len(inputs[m]), generator=gen) >= p).to(inputs[m].dtype)
        inputs[m] *= keep.view(-1, *([1] * (inputs[m].dim() - 1)))
    if not 0.0 <= p < 1.0:
        raise ValueError("bad p")
    return inputs


@pytest.mark.parametrize(
    "wrong",
    [
        # one draw for the whole batch instead of one per sample
        lambda inputs, p, gen: {m: x * (torch.rand(1, generator=gen) >= p) for m, x in inputs.items()},
        _in_place,  # modifies the caller's tensors
        lambda inputs, p, gen: modality_dropout_reference(inputs, min(p, 0.5), gen),  # accepts p = 1
    ],
)
def test_wrong_dropout_fails(wrong, capsys):
    check("05.1", wrong)
    assert not passed("05.1")


def test_wrong_fgsm_fails(capsys):
    def gradient_step(model, inputs, labels, modality, epsilon):  # raw gradient instead of its sign
        x = inputs[modality].detach().clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model({**inputs, modality: x}), labels)
        (grad,) = torch.autograd.grad(loss, x)
        return {**inputs, modality: (x + epsilon * grad).detach()}

    check("05.2", gradient_step)
    assert not passed("05.2")

    def not_detached(model, inputs, labels, modality, epsilon):
        out = fgsm_step_reference(model, inputs, labels, modality, epsilon)
        return {**out, modality: out[modality].requires_grad_(True)}

    check("05.2", not_detached)
    assert not passed("05.2")


def _zero_inputs(model, inputs, labels, modality, epsilon):
    for x in inputs.values():
        x.zero_()
    return fgsm_step_reference(model, inputs, labels, modality, epsilon)


def _zero_model(model, inputs, labels, modality, epsilon):
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return fgsm_step_reference(model, inputs, labels, modality, epsilon)


@pytest.mark.parametrize("cheat", [_zero_inputs, _zero_model], ids=["zeroes inputs", "zeroes the model"])
def test_fgsm_changing_its_arguments_cannot_pass(cheat, capsys):
    """Both used to pass: the reference was computed afterwards, on the same (zeroed) objects."""
    check("05.2", cheat)
    assert not passed("05.2")
    assert "wrong values" in capsys.readouterr().out


def test_dropout_must_return_a_dict(capsys):
    check("05.1", lambda inputs, p, gen: list(modality_dropout_reference(inputs, p, gen).values()))
    assert not passed("05.1")
    assert "should return a dict of tensors, got list" in capsys.readouterr().out
