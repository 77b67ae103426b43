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
        expected = cosine_similarity_matrix_reference(a, b)  # before the student runs, who gets copies
        expect_close(student(a.clone(), b.clone()), expected, f"({n},{d}) x ({m},{d})")
    expect_raises(lambda: student(torch.randn(3, 4), torch.randn(3, 5)), ValueError, "dimensions 4 and 5")


def recall_at_1_reference(similarity: torch.Tensor) -> float:
    """Fraction of rows i whose entry in column i beats every other entry of the row (query i
    matches candidate i). A tie counts as a miss, as in ``mmlearn.metrics.recall_at_k``: a
    collapsed similarity matrix (all entries equal) scores 0, never a lucky 1/N."""
    n, m = similarity.shape
    correct = similarity.diagonal().unsqueeze(1)  # (N, 1)
    wrong = ~torch.eye(n, m, dtype=torch.bool)
    rank = ((similarity >= correct) & wrong).sum(dim=1)  # (N,): wrong candidates at or above the right one
    return float((rank == 0).float().mean())


@exercise(
    "03.2",
    "recall@1 from a similarity matrix",
    "query i is correct when its diagonal entry is strictly higher than every other entry of row i "
    "(a tie is a miss: argmax would give a collapsed model a lucky hit); the mean over queries, as a "
    "Python float.",
)
def check_recall_at_1(student):
    gen = torch.Generator().manual_seed(4)
    for n in (5, 20, 50):
        s = torch.randn(n, n, generator=gen) + 2.0 * torch.eye(n) * (torch.rand(n, generator=gen) > 0.5)
        expected = recall_at_k(s, 1)  # before the student runs, who gets a copy
        expect_close(student(s.clone()), expected, f"recall@1 of a ({n}, {n}) matrix")
    expect_close(
        student(torch.ones(6, 6)), 0.0, "recall@1 of a collapsed model (all scores equal: ties lose)"
    )
