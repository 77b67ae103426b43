"""The lesson-03 exercise specs accept the reference answers and reject wrong ones."""

import torch

from mmlearn.exercises import check
from mmlearn.exercises.checker import passed
from mmlearn.exercises.lesson03 import cosine_similarity_matrix_reference, recall_at_1_reference
from mmlearn.metrics import recall_at_k


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


def test_recall_at_1_ties_count_as_misses():
    """Like mmlearn.metrics.recall_at_k: a collapsed matrix (all entries equal) scores 0, not 1/N."""
    collapsed = torch.full((6, 6), 0.3)
    assert recall_at_1_reference(collapsed) == 0.0 == recall_at_k(collapsed, 1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        s = torch.randint(0, 3, (8, 8), generator=gen).float()  # many ties
        assert recall_at_1_reference(s) == recall_at_k(s, 1)


def test_a_string_is_not_a_recall(capsys):
    check("03.2", lambda s: str(recall_at_1_reference(s)))
    assert not passed("03.2")
    assert "should be a number (a Python float), got str" in capsys.readouterr().out


def test_an_argmax_answer_that_breaks_ties_in_its_favour_fails():
    check("03.2", lambda s: float((s.argmax(dim=1) == torch.arange(len(s))).float().mean()))
    assert not passed("03.2")  # argmax picks column 0 of a tied row: a collapsed model gets a lucky 1/N
