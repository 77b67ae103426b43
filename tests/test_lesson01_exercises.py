"""The lesson-01 exercise specs accept the reference answers and reject wrong ones."""

import pytest
import torch

from mmlearn.exercises import check
from mmlearn.exercises.checker import passed
from mmlearn.exercises.lesson01 import frame_energy_reference, pad_token_ids_reference


def test_references_pass(capsys):
    check("01.1", frame_energy_reference)
    check("01.2", pad_token_ids_reference)
    assert passed("01.1") and passed("01.2")


def test_frame_energy_values():
    x = torch.tensor([[1.0, -1.0, 2.0, 2.0, 0.0]])
    # frames of 2 with hop 1: [1,-1] [-1,2] [2,2] [2,0]
    assert torch.allclose(frame_energy_reference(x, 2, 1), torch.tensor([[1.0, 2.5, 4.0, 2.0]]))
    with pytest.raises(ValueError, match="shorter than one frame"):
        frame_energy_reference(x, 6, 1)
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        frame_energy_reference(torch.zeros(5), 2, 1)


def test_pad_token_ids_values():
    out = pad_token_ids_reference([[5, 6], [7]], pad_id=9)
    assert out.dtype == torch.long and out.tolist() == [[5, 6], [7, 9]]
    with pytest.raises(ValueError, match="empty"):
        pad_token_ids_reference([], 0)


def test_wrong_answers_fail(capsys):
    check("01.1", lambda w, f, h: w.unfold(1, f, h).abs().mean(-1))  # mean |x| is not the energy
    assert not passed("01.1")
    check("01.2", lambda seqs, pad: pad_token_ids_reference(seqs, pad).float())  # wrong dtype
    assert not passed("01.2")
    out = capsys.readouterr().out
    assert "int64" in out
