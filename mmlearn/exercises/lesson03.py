"""Exercises of lesson 03 (shared representations): the cosine similarity
matrix that every retrieval in a shared space starts from, and recall@1."""

import torch
import torch.nn.functional as F

from mmlearn.exercises.checker import exercise, expect_close, expect_raises
from mmlearn.metrics import recall_at_k


def cosine_similarity_matrix_reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, D) and (M, D) -> (N, M) cosine similarities."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} and {b.shape[1]}")
    return F.normalize(a, dim=1) @ F.normalize(b, dim=1).T


@exercise(
    "03.1",
    "cosine similarity matrix",
    "L2-normalise each row (F.normalize(x, dim=1)), then a @ b.T gives (N, M); "
    "raise ValueError first if the feature dimensions differ.",
)
def check_cosine_similarity(student):
    gen = torch.Generator().manual_seed(3)
    for n, m, d in [(4, 4, 3), (6, 2, 5), (1, 7, 8)]:
        a, b = torch.randn(n, d, generator=gen) * 4, torch.randn(m, d, generator=gen)
        expect_close(
            student(a.clone(), b.clone()), cosine_similarity_matrix_reference(a, b), f"({n},{d}) x ({m},{d})"
        )
    expect_raises(lambda: student(torch.randn(3, 4), torch.randn(3, 5)), ValueError, "dimensions 4 and 5")


def recall_at_1_reference(similarity: torch.Tensor) -> float:
    """Fraction of rows i whose largest entry is in column i (query i matches candidate i)."""
    return float((similarity.argmax(dim=1) == torch.arange(len(similarity))).float().mean())


@exercise(
    "03.2",
    "recall@1 from a similarity matrix",
    "query i is correct when similarity[i].argmax() == i: compare argmax(dim=1) with torch.arange(N) "
    "and take the mean, as a Python float.",
)
def check_recall_at_1(student):
    gen = torch.Generator().manual_seed(4)
    for n in (5, 20, 50):
        s = torch.randn(n, n, generator=gen) + 2.0 * torch.eye(n) * (torch.rand(n, generator=gen) > 0.5)
        expect_close(student(s.clone()), recall_at_k(s, 1), f"recall@1 of a ({n}, {n}) matrix")
