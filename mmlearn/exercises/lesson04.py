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
        expect_close(
            student(image.clone(), text.clone(), scale),
            info_nce_reference(image, text, scale),
            f"the loss for N={n} pairs of dimension {d} at scale {scale}",
        )
    aligned = torch.randn(8, 16, generator=gen)
    expect_close(
        student(aligned, aligned * 2.0, 100.0),
        info_nce_reference(aligned, aligned * 2.0, 100.0),
        "the loss of perfectly aligned pairs (text = 2 * image: the scale of a feature must not matter)",
    )
    expect_raises(
        lambda: student(torch.randn(4, 8), torch.randn(5, 8), 1.0),
        ValueError,
        "4 image features and 5 text features",
    )


def recall_at_k_reference(similarity: torch.Tensor, k: int) -> float:
    """Fraction of rows i whose diagonal entry similarity[i, i] is among the row's k largest."""
    if not 1 <= k <= similarity.shape[1]:
        raise ValueError(f"k must lie in [1, {similarity.shape[1]}], got {k}")
    correct = similarity.diagonal().unsqueeze(1)  # (N, 1)
    rank = (similarity > correct).sum(dim=1)  # (N,): candidates scored above the right one
    return (rank < k).float().mean().item()


@exercise(
    "04.2",
    "recall@k from a similarity matrix",
    "the right candidate of query i is column i; its rank is the number of candidates scored strictly "
    "higher ((similarity > similarity.diagonal()[:, None]).sum(1)); recall@k is the fraction of ranks < k, "
    "as a Python float. Raise ValueError when k is not in [1, number of candidates].",
)
def check_recall_at_k(student):
    gen = torch.Generator().manual_seed(1)
    for n, k in [(10, 1), (10, 3), (50, 5), (7, 7)]:
        similarity = torch.randn(n, n, generator=gen)
        expect_close(
            float(student(similarity.clone(), k)),
            recall_at_k_reference(similarity, k),
            f"recall@{k} of a random {n}x{n} similarity matrix",
        )
    expect_close(float(student(torch.eye(5), 1)), 1.0, "recall@1 of the identity matrix (every query right)")
    expect_raises(lambda: student(torch.randn(4, 4), 0), ValueError, "k = 0")
    expect_raises(lambda: student(torch.randn(4, 4), 5), ValueError, "k = 5 with only 4 candidates")
