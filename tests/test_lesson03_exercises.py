"""The lesson-03 exercise specs accept the reference answers, reject wrong ones with a useful
message, and the notebook's solutions are bit-identical to the references the lesson falls back on."""

from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.exercises import check, use
from mmlearn.exercises.checker import passed
from mmlearn.losses import RankingLoss, ranking_loss
from mmlearn.shared_space import ProjectionHead

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "solutions" / "03_shared_representations.ipynb"


def notebook_class(name: str):
    """The class ``name`` as the solution notebook defines it (its cell run on its own)."""
    for cell in nbformat.read(LESSON, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith(f"class {name}("):
            namespace = {"torch": torch, "nn": nn, "F": F}
            exec(cell.source, namespace)
            return namespace[name]
    raise AssertionError(f"no cell defines {name}")


def verdict(capsys, exercise_id: str, answer) -> str:
    check(exercise_id, answer)
    return capsys.readouterr().out


# --- 03.1 the VSE++ loss ----------------------------------------------------------------------------------


def test_the_reference_and_the_notebook_solution_pass(capsys):
    check("03.1", RankingLoss)
    assert passed("03.1")
    check("03.1", notebook_class("HardestNegativeLoss"))
    assert passed("03.1")
    check("03.2", ProjectionHead)
    assert passed("03.2")
    check("03.2", notebook_class("ProjectionHead"))
    assert passed("03.2")


def test_the_notebook_loss_is_bit_identical_to_the_reference():
    student = notebook_class("HardestNegativeLoss")
    gen = torch.Generator().manual_seed(0)
    for b, d, margin in [(50, 32, 0.2), (7, 3, 0.5)]:
        image, text = torch.randn(b, d, generator=gen), torch.randn(b, d, generator=gen)
        assert torch.equal(student(margin=margin)(image, text), RankingLoss(margin=margin)(image, text))


def test_the_notebook_head_is_bit_identical_to_the_reference():
    student = notebook_class("ProjectionHead")
    x = torch.randn(10, 48, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    ours = student(48)
    torch.manual_seed(5)
    reference = ProjectionHead(48)
    for mode in ("eval", "train"):
        getattr(ours, mode)()
        getattr(reference, mode)()
        torch.manual_seed(9)  # dropout draws the same mask for both
        a = ours(x)
        torch.manual_seed(9)
        assert torch.equal(a, reference(x)), mode


class _Loss(nn.Module):
    """A loss module around a function of (image, text, margin), for the wrong answers below."""

    def __init__(self, fn, margin=0.2):
        super().__init__()
        self.fn, self.margin = fn, margin

    def forward(self, image, text):
        return self.fn(image, text, self.margin)


def loss_class(fn):
    return lambda margin=0.2: _Loss(fn, margin)


def _costs(image, text, margin, normalise=True, mask=True):
    if normalise:
        image, text = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
    s = image @ text.T
    pos = s.diagonal()
    eye = torch.eye(len(s), dtype=torch.bool)
    i2t = (margin - pos[:, None] + s).clamp(min=0)
    t2i = (margin - pos[None, :] + s).clamp(min=0)
    if mask:
        i2t, t2i = i2t.masked_fill(eye, 0), t2i.masked_fill(eye, 0)
    return i2t, t2i


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda i, t, m: ranking_loss(i, t, m, "sum"), "the sum over all negatives"),
        (lambda i, t, m: _costs(i, t, m)[0].max(dim=1).values.mean(), "only the image -> caption direction"),
        (
            lambda i, t, m: sum(
                c.max(dim=k).values.mean()
                for c, k in zip(_costs(i, t, m, normalise=False), (1, 0), strict=True)
            ),
            "not L2-normalised",
        ),
        (
            lambda i, t, m: sum(
                c.max(dim=k).values.mean() for c, k in zip(_costs(i, t, m, mask=False), (1, 0), strict=True)
            ),
            "its own negative",
        ),
    ],
    ids=["sum", "one_direction", "unnormalised", "diagonal_kept"],
)
def test_typical_wrong_losses_fail_and_say_what_they_computed(capsys, wrong, message):
    out = verdict(capsys, "03.1", loss_class(wrong))
    assert not passed("03.1")
    assert message in out, out
    assert "margin=" in out and "Hint " in out  # which input, and a hint step


def test_a_loss_turned_into_a_number_fails(capsys):
    out = verdict(capsys, "03.1", loss_class(lambda i, t, m: torch.tensor(ranking_loss(i, t, m).item())))
    assert not passed("03.1")
    assert "no gradient" in out


def test_a_loss_that_is_not_a_module_fails(capsys):
    out = verdict(capsys, "03.1", lambda margin=0.2: lambda i, t: ranking_loss(i, t, margin))
    assert not passed("03.1")
    assert "should be an nn.Module" in out


def test_an_unfinished_loss_hands_the_lesson_the_reference(capsys):
    class HardestNegativeLoss(nn.Module):
        def __init__(self, margin=0.2):
            super().__init__()

        def forward(self, image_features, text_features):
            raise NotImplementedError()

    assert use("03.1", HardestNegativeLoss) is RankingLoss
    assert "runs on the reference mmlearn.losses.RankingLoss" in capsys.readouterr().out


# --- 03.2 the projection head ----------------------------------------------------------------------------


class _Head(nn.Module):
    """A configurable wrong head."""

    def __init__(self, in_features, out_dim=32, hidden=128, dropout=0.1, *, order="right", normalise=True):
        super().__init__()
        self.normalise = normalise
        if order == "second_layer_first":
            second = nn.Linear(hidden, out_dim)
            first = nn.Linear(in_features, hidden)
            self.net = nn.Sequential(first, nn.ReLU(), nn.Dropout(dropout), second)
        elif order == "dropout_first":
            self.net = nn.Sequential(
                nn.Dropout(dropout), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, out_dim)
            )
        elif order == "no_hidden":
            self.net = nn.Linear(in_features, out_dim)
        else:
            self.net = nn.Sequential(
                nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim)
            )

    def forward(self, x):
        z = self.net(x)
        return F.normalize(z, dim=-1) if self.normalise else z


def head_class(**options):
    return lambda *args, **kwargs: _Head(*args, **kwargs, **options)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"normalise": False}, "length 1"),
        ({"order": "no_hidden"}, "parameters"),
        ({"order": "second_layer_first"}, "in eval mode"),
        ({"order": "dropout_first"}, "in train mode"),
    ],
    ids=["not_normalised", "no_hidden_layer", "layers_created_out_of_order", "dropout_misplaced"],
)
def test_typical_wrong_heads_fail_with_a_useful_message(capsys, options, message):
    out = verdict(capsys, "03.2", head_class(**options))
    assert not passed("03.2")
    assert message in out, out


def test_the_right_head_in_a_test_class_passes(capsys):
    verdict(capsys, "03.2", head_class())
    assert passed("03.2")


def test_the_reference_head_checks_its_arguments_and_normalises():
    with pytest.raises(ValueError, match="in_features"):
        ProjectionHead(0)
    with pytest.raises(ValueError, match="dropout"):
        ProjectionHead(4, dropout=1.5)
    out = ProjectionHead(6, out_dim=3, hidden=5).eval()(torch.randn(4, 6) * 10)
    assert out.shape == (4, 3)
    assert torch.allclose(out.norm(dim=1), torch.ones(4))


def test_an_unfinished_forward_reads_as_not_done(capsys):
    """A stub forward that raises NotImplementedError reads "not done yet", not a checker error."""

    class HardestNegativeLoss(nn.Module):
        def __init__(self, margin=0.2):
            super().__init__()

        def forward(self, image_features, text_features):
            raise NotImplementedError()

    class Head(nn.Module):
        def __init__(self, in_features, out_dim=32, hidden=128, dropout=0.1):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim)
            )

        def forward(self, x):
            raise NotImplementedError()

    for exercise_id, answer in (("03.1", HardestNegativeLoss), ("03.2", Head)):
        out = verdict(capsys, exercise_id, answer)
        assert "not done yet" in out and "could not test" not in out, out
