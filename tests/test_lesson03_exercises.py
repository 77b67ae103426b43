"""The lesson-03 exercise specs accept the reference answers and reject wrong ones."""

import torch

from mmlearn.exercises import check
from mmlearn.exercises.checker import passed
from mmlearn.exercises.lesson03 import cosine_similarity_matrix_reference, recall_at_1_reference


def test_references_pass(capsys):
    check("03.1", cosine_similarity_matrix_reference)
    check("03.2", recall_at_1_reference)
    assert passed("03.1") and passed("03.2")


def test_reference_values():
    a = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[0.0, 2.0], [5.0, 0.0]])
    expected = torch.tensor([[0.0, 1.0], [2**-0.5, 2**-0.5]])
    assert torch.allclose(cosine_similarity_matrix_reference(a, b), expected)
    assert recall_at_1_reference(torch.tensor([[1.0, 0.0], [1.0, 0.5]])) == 0.5


def test_wrong_answers_fail(capsys):
    check("03.1", lambda a, b: a @ b.T)  # dot products: the rows were not normalised
    assert not passed("03.1")
    normalize = torch.nn.functional.normalize
    check("03.1", lambda a, b: normalize(a, dim=1) @ normalize(b, dim=1).T)
    assert not passed("03.1")  # right values, but no ValueError for mismatched dimensions
    check("03.2", lambda s: float((s.argmax(dim=0) == torch.arange(len(s))).float().mean()))  # columns
    assert not passed("03.2")
