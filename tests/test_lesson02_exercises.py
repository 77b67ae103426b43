"""The lesson 02 exercise specs accept the reference solutions and reject wrong ones."""

import pytest
import torch

from mmlearn.exercises import lesson02
from mmlearn.exercises.checker import check


def test_references_pass(capsys):
    check("02.1", lesson02.late_weighted_reference)
    check("02.2", lesson02.tensor_fusion_reference)
    out = capsys.readouterr().out
    assert out.count("✅") == 2 and "❌" not in out


def test_wrong_solutions_fail(capsys):
    check("02.1", lambda a, b, w: a.softmax(dim=1))  # ignores b and w
    check("02.2", lambda a, b: torch.cat([a, b], dim=1))  # concatenation, not an outer product
    out = capsys.readouterr().out
    assert out.count("❌") == 2


def test_tensor_fusion_reference_layout():
    z = lesson02.tensor_fusion_reference(torch.tensor([[2.0, 3.0]]), torch.tensor([[5.0]]))
    assert torch.equal(z, torch.tensor([[10.0, 2.0, 15.0, 3.0, 5.0, 1.0]]))


def test_references_reject_bad_input():
    with pytest.raises(ValueError, match="w must be in"):
        lesson02.late_weighted_reference(torch.zeros(2, 3), torch.zeros(2, 3), -0.1)
    with pytest.raises(ValueError, match="same B"):
        lesson02.tensor_fusion_reference(torch.zeros(2, 3), torch.zeros(3, 3))
