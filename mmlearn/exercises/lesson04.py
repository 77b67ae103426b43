"""Exercises of lesson 04 (contrastive learning): the symmetric InfoNCE loss of CLIP
and the recall@k figure that retrieval papers report."""

import torch
import torch.nn.functional as F

from mmlearn.exercises.checker import exercise, expect_close, expect_raises


def info_nce_reference(
    image_features: torch.Tensor, text_features: torch.Tensor, scale: float
) -> torch.Tensor:
    """Symmetric InfoNCE: normalise rows, logits = scale * I @ T.T, mean of the two cross-entropies."""
    if image_features.shape != text_features.shape:
        raise ValueError(
            f"image_features {tuple(image_features.shape)} and text_features "
            f"{tuple(text_features.shape)} must have the same shape"
        )
    image = F.normalize(image_features, dim=-1)
    text = F.normalize(text_features, dim=-1)
    logits = scale * image @ text.T  # (N, N)
    targets = torch.arange(len(logits))
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


@exercise(
    "04.1",
    "the symmetric InfoNCE (CLIP) loss",
    "L2-normalise each row (F.normalize(x, dim=-1)), logits = scale * image @ text.T, targets = "
    "torch.arange(N); average F.cross_entropy(logits, targets) and F.cross_entropy(logits.T, targets). "
    "Raise ValueError first when the two shapes differ.",
)
def check_info_nce(student):
    gen = torch.Generator().manual_seed(0)
    for n, d, scale in [(4, 8, 1.0), (16, 32, 14.3), (3, 5, 100.0)]:
        image, text = torch.randn(n, d, generator=gen) * 3, torch.randn(n, d, generator=gen)
        expected = info_nce_reference(image, text, scale)  # before the student runs, who gets copies
        expect_close(
            student(image.clone(), text.clone(), scale),
            expected,
            f"the loss for N={n} pairs of dimension {d} at scale {scale}",
        )
    aligned = torch.randn(8, 16, generator=gen)
    expected = info_nce_reference(aligned, aligned * 2.0, 100.0)
    expect_close(
        student(aligned.clone(), aligned * 2.0, 100.0),
        expected,
        "the loss of perfectly aligned pairs (text = 2 * image: the scale of a feature must not matter)",
    )
    expect_raises(
        lambda: student(torch.randn(4, 8), torch.randn(5, 8), 1.0),
        ValueError,
        "4 image features and 5 text features",
    )


def recall_at_k_reference(similarity: torch.Tensor, k: int) -> float:
    """Fraction of rows i whose diagonal entry similarity[i, i] is among the row's k largest.

    Ties count against the right candidate, as in ``mmlearn.metrics.recall_at_k``: a wrong
    candidate scored the same ranks above it, so a collapsed similarity matrix (all entries
    equal) gets recall@1 = 0, never a lucky score.
    """
    if not 1 <= k <= similarity.shape[1]:
        raise ValueError(f"k must lie in [1, {similarity.shape[1]}], got {k}")
    n, m = similarity.shape
    correct = similarity.diagonal().unsqueeze(1)  # (N, 1)
    wrong = ~torch.eye(n, m, dtype=torch.bool)
    rank = ((similarity >= correct) & wrong).sum(dim=1)  # (N,): wrong candidates at or above the right one
    return (rank < k).float().mean().item()


@exercise(
    "04.2",
    "recall@k from a similarity matrix",
    "the right candidate of query i is column i; its rank is the number of other candidates scored at "
    "least as high (a tie counts against it, as in mmlearn.metrics.recall_at_k); recall@k is the "
    "fraction of ranks < k, as a Python float. Raise ValueError when k is not in [1, number of candidates].",
)
def check_recall_at_k(student):
    gen = torch.Generator().manual_seed(1)
    for n, k in [(10, 1), (10, 3), (50, 5), (7, 7)]:
        similarity = torch.randn(n, n, generator=gen)
        expected = recall_at_k_reference(similarity, k)  # before the student runs, who gets a copy
        expect_close(
            student(similarity.clone(), k), expected, f"recall@{k} of a random {n}x{n} similarity matrix"
        )
    expect_close(student(torch.eye(5), 1), 1.0, "recall@1 of the identity matrix (every query right)")
    expect_close(
        student(torch.ones(6, 6), 1), 0.0, "recall@1 of a collapsed model (all scores equal: ties lose)"
    )
    expect_close(
        student(torch.ones(6, 6), 6), 1.0, "recall@6 of a collapsed model (every candidate is in the top 6)"
    )
    expect_raises(lambda: student(torch.randn(4, 4), 0), ValueError, "k = 0")
    expect_raises(lambda: student(torch.randn(4, 4), 5), ValueError, "k = 5 with only 4 candidates")
