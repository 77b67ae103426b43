"""Exercises of lesson 02 (fusion): late fusion by a weighted average of
probabilities, and the tensor-fusion outer product with appended 1s."""

import torch

from mmlearn.exercises.checker import exercise, expect_close, expect_raises
from mmlearn.fusion import outer_product


def late_weighted_reference(logits_a: torch.Tensor, logits_b: torch.Tensor, w: float) -> torch.Tensor:
    """w * softmax(logits_a) + (1 - w) * softmax(logits_b): fused (B, C) probabilities."""
    if logits_a.shape != logits_b.shape:
        raise ValueError(f"logit shapes differ: {tuple(logits_a.shape)} vs {tuple(logits_b.shape)}")
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"w must be in [0, 1], got {w}")
    return w * logits_a.softmax(dim=1) + (1 - w) * logits_b.softmax(dim=1)


@exercise(
    "02.1",
    "late fusion by a weighted average of probabilities",
    "softmax each logit tensor over dim=1, then w * p_a + (1 - w) * p_b; raise ValueError first "
    "if the shapes differ or w is outside [0, 1].",
)
def check_late_weighted(student):
    gen = torch.Generator().manual_seed(0)
    for batch, classes, w in [(5, 10, 0.5), (3, 4, 0.0), (8, 2, 0.8)]:
        a, b = torch.randn(batch, classes, generator=gen) * 3, torch.randn(batch, classes, generator=gen) * 3
        expected = late_weighted_reference(a, b, w)  # before the student runs, who gets copies
        expect_close(
            student(a.clone(), b.clone(), w),
            expected,
            f"fused probabilities for logits of shape {(batch, classes)} and w={w}",
        )
    a = torch.randn(4, 3, generator=gen)
    expect_raises(
        lambda: student(a.clone(), torch.randn(5, 3), 0.5), ValueError, "logits of shapes (4, 3) and (5, 3)"
    )
    expect_raises(lambda: student(a.clone(), a.clone(), 1.5), ValueError, "w = 1.5")


def tensor_fusion_reference(h_a: torch.Tensor, h_b: torch.Tensor) -> torch.Tensor:
    """Flattened outer product of [h_a; 1] and [h_b; 1]: (B, (d_a + 1) * (d_b + 1))."""
    if h_a.dim() != 2 or h_b.dim() != 2 or h_a.shape[0] != h_b.shape[0]:
        raise ValueError(
            f"need two (B, d) tensors with the same B, got {tuple(h_a.shape)}, {tuple(h_b.shape)}"
        )
    ones = h_a.new_ones(h_a.shape[0], 1)
    return outer_product([torch.cat([h_a, ones], dim=1), torch.cat([h_b, ones], dim=1)])


@exercise(
    "02.2",
    "tensor fusion: outer product with appended 1s",
    "append a column of ones to each (torch.cat([h, ones], dim=1)), then "
    "(z_a.unsqueeze(2) * z_b.unsqueeze(1)).flatten(1): h_a's index is the outer (slow) one; "
    "raise ValueError if the batch sizes differ.",
)
def check_tensor_fusion(student):
    gen = torch.Generator().manual_seed(1)
    for batch, da, db in [(4, 3, 2), (2, 1, 5), (6, 4, 4)]:
        h_a, h_b = torch.randn(batch, da, generator=gen), torch.randn(batch, db, generator=gen)
        expected = tensor_fusion_reference(h_a, h_b)  # before the student runs, who gets copies
        expect_close(
            student(h_a.clone(), h_b.clone()),
            expected,
            f"fused vector for h_a {(batch, da)} and h_b {(batch, db)}",
        )
    expect_raises(lambda: student(torch.randn(4, 3), torch.randn(3, 2)), ValueError, "batch sizes 4 and 3")
