"""Exercises of lesson 03 (section 3, "Learned projection heads with a ranking loss"): the
VSE++ hardest-negative ranking loss and the projection head that the lesson then trains with it.

Both go through ``use``: the lesson's heads are the student's ``ProjectionHead`` and are trained
on the student's loss once each passes, and on the references until then (``RankingLoss`` from
``mmlearn.losses`` and ``ProjectionHead`` from ``mmlearn.shared_space``), which give bit-identical results.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.exercises.checker import ExerciseFailure, _guarded, exercise, expect_close
from mmlearn.losses import RankingLoss, ranking_loss
from mmlearn.shared_space import ProjectionHead

# --- 03.1 the VSE++ loss --------------------------------------------------------------------------------


def _features(gen: torch.Generator, b: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Unnormalised (B, D) image and text features whose pairs are somewhat aligned."""
    image = torch.randn(b, d, generator=gen) * 3
    text = image + torch.randn(b, d, generator=gen) * 2  # pairs correlated: some hinges active, some not
    return image, text


def _one_direction(image, text, margin) -> torch.Tensor:
    """Image -> text half of the VSE++ loss only (a typical wrong answer)."""
    s = F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T
    eye = torch.eye(len(s), dtype=torch.bool)
    return (margin - s.diagonal()[:, None] + s).clamp(min=0).masked_fill(eye, 0).max(dim=1).values.mean()


def _diagnose_loss(got: float, image, text, margin: float) -> str:
    """What a wrong loss value looks like it computed, or ''."""
    suspects = {
        "the sum over all negatives (the older VSE loss): keep only the hardest negative of each query": (
            ranking_loss(image, text, margin, "sum").item()
        ),
        "only the image -> caption direction: add the caption -> image term": _one_direction(
            image, text, margin
        ).item(),
        "a loss on features that were not L2-normalised: compare cosine similarities": _unnormalised(
            image, text, margin
        ),
        "a loss where the matching pair counts as its own negative: leave the diagonal out": (
            _diagonal_kept(image, text, margin)
        ),
    }
    for what, value in suspects.items():
        if abs(got - value) <= 1e-4 * max(1.0, abs(value)):
            return f". That value is {what}."
    return ""


def _unnormalised(image, text, margin) -> float:
    s = image @ text.T
    eye = torch.eye(len(s), dtype=torch.bool)
    pos = s.diagonal()
    a = (margin - pos[:, None] + s).clamp(min=0).masked_fill(eye, 0).max(dim=1).values.mean()
    b = (margin - pos[None, :] + s).clamp(min=0).masked_fill(eye, 0).max(dim=0).values.mean()
    return (a + b).item()


def _diagonal_kept(image, text, margin) -> float:
    s = F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T
    pos = s.diagonal()
    a = (margin - pos[:, None] + s).clamp(min=0).max(dim=1).values.mean()
    b = (margin - pos[None, :] + s).clamp(min=0).max(dim=0).values.mean()
    return (a + b).item()


@exercise(
    "03.1",
    "the VSE++ hardest-negative ranking loss",
    (
        "Think of the (B, B) matrix of cosine similarities: its diagonal holds the B matching pairs, row i "
        "is image i against every caption and column j is caption j against every image. A negative costs "
        "how far it comes within the margin of the positive of its row (or column); only the largest such "
        "cost of each row and of each column counts.",
        "Normalise both feature batches with F.normalize over the last dimension before the matrix product, "
        "and keep each pair from being its own negative with a boolean torch.eye mask and masked_fill. "
        "Then ask which dimension of the cost matrix runs over an image's captions and which over a "
        "caption's images, and how VSE++ reduces each (its formula above).",
    ),
    reference=RankingLoss,
)
def check_vse_loss(student):
    gen = torch.Generator().manual_seed(31)
    cases = [(4, 3, 0.2), (6, 5, 0.5), (8, 16, 0.2), (2, 4, 0.1)]
    for b, d, margin in cases:
        image, text = _features(gen, b, d)
        expected = ranking_loss(image, text, margin, "max")  # before the student runs, who gets copies
        loss_module = student(margin=margin)
        if not isinstance(loss_module, nn.Module):
            raise ExerciseFailure(
                f"HardestNegativeLoss(margin={margin}) should be an nn.Module (the training loop takes a "
                f"module), got {type(loss_module).__name__}"
            )
        got = _guarded(loss_module)(image.clone(), text.clone())
        what = f"the loss of a batch of {b} pairs of {d}-d features with margin={margin}"
        try:
            expect_close(got, expected, what)
        except ExerciseFailure as failure:
            if isinstance(got, torch.Tensor) and got.numel() == 1:
                raise ExerciseFailure(
                    str(failure) + _diagnose_loss(got.item(), image, text, margin)
                ) from None
            raise
    eye = torch.eye(3)  # three pairs, each image identical to its caption and orthogonal to the others
    expect_close(
        _guarded(student(margin=0.2))(eye.clone(), eye.clone()),
        torch.tensor(0.0),
        "the loss of orthogonal pairs, margin 0.2",
    )
    expect_close(
        _guarded(student(margin=1.5))(eye.clone(), eye.clone()),
        torch.tensor(1.0),
        "the loss of orthogonal pairs, margin 1.5",
    )
    image, text = _features(gen, 5, 4)
    image_ref, text_ref = image.clone().requires_grad_(), text.clone().requires_grad_()
    ranking_loss(image_ref, text_ref, 0.3, "max").backward()
    image_st, text_st = image.clone().requires_grad_(), text.clone().requires_grad_()
    loss = _guarded(student(margin=0.3))(image_st, text_st)
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        raise ExerciseFailure(
            "the loss carries no gradient back to the features (was it turned into a number with .item(), "
            "or computed under torch.no_grad()?): training needs a tensor it can backpropagate"
        )
    loss.backward()
    for name, got, want in (("image", image_st.grad, image_ref.grad), ("text", text_st.grad, text_ref.grad)):
        if got is None:
            raise ExerciseFailure(
                f"the loss does not depend on the {name} features (no gradient reached them)"
            )
        expect_close(
            got, want, f"the gradient of the loss with respect to the {name} features (5 pairs, margin 0.3)"
        )


# --- 03.2 the projection head ----------------------------------------------------------------------------


def _build(student, seed: int, **sizes) -> nn.Module:
    torch.manual_seed(seed)
    head = student(**sizes)
    if not isinstance(head, nn.Module):
        raise ExerciseFailure(f"ProjectionHead(...) should be an nn.Module, got {type(head).__name__}")
    return head


@exercise(
    "03.2",
    "a projection head with L2-normalised output",
    (
        "Think of two fully connected layers with a ReLU (and the dropout) between them, created in "
        "__init__ in the order the data flows through them; forward runs them and then scales every "
        "row of the result to length 1.",
        "Put the four modules into one nn.Sequential in the order they run: the first nn.Linear goes "
        "from in_features to hidden, the last from hidden to out_dim, with nn.ReLU and nn.Dropout (given "
        "the rate) between them. In forward, finish with F.normalize over the last dimension.",
    ),
    reference=ProjectionHead,
)
def check_projection_head(student):
    sizes = {"in_features": 5, "out_dim": 4, "hidden": 8, "dropout": 0.1}
    what = "ProjectionHead(in_features=5, out_dim=4, hidden=8, dropout=0.1)"
    reference = _build(ProjectionHead, 7, **sizes)
    head = _build(student, 7, **sizes)
    n_params = sum(p.numel() for p in head.parameters())
    want = sum(p.numel() for p in reference.parameters())
    if n_params != want:
        raise ExerciseFailure(
            f"{what} should have {want} parameters (5*8 + 8 weights and biases of the first layer, "
            f"8*4 + 4 of the second), got {n_params}"
        )
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(3)) * 2
    reference.eval()
    head.eval()
    expected = reference(x)
    with torch.no_grad():
        out = _guarded(head)(x.clone())
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (6, 4):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ExerciseFailure(f"{what} on a (6, 5) batch should return a (6, 4) tensor, got {shape}")
    norms = out.norm(dim=-1)
    if not torch.allclose(norms, torch.ones(6), atol=1e-5):
        raise ExerciseFailure(
            f"every output row should have length 1 (L2-normalised), got lengths {norms.tolist()}"
        )
    expect_close(
        out,
        expected.detach(),
        f"the output of {what} in eval mode, built right after torch.manual_seed(7) (same seed, same "
        "initial weights if the layers are created in the order they run)",
    )
    reference.train()
    head.train()
    torch.manual_seed(11)
    expected = reference(x)
    torch.manual_seed(11)
    out = _guarded(head)(x.clone())
    expect_close(
        out,
        expected.detach(),
        f"the output of {what} in train mode with the same seed (dropout belongs after the ReLU, "
        "before the second layer)",
    )
    out.sum().backward()
    missing = [name for name, p in head.named_parameters() if p.grad is None]
    if missing:
        raise ExerciseFailure(f"no gradient reached the parameters {missing}: are they used in forward?")
    head = _build(student, 0, in_features=48)
    out = _guarded(head.eval())(torch.randn(3, 48))
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (3, 32):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ExerciseFailure(
            f"ProjectionHead(48) (defaults out_dim=32, hidden=128) should map (3, 48) to (3, 32), got {shape}"
        )
