"""save_checkpoint writes atomically and refuses what a weights-only load cannot read; load checks digests."""

import os
import stat

import pytest
import torch
from torch import nn

from mmlearn.checkpoints import load_checkpoint, save_checkpoint
from mmlearn.data.download import ChecksumError, sha256_of


def test_round_trip_of_a_model_and_figures(tmp_path):
    model = nn.Linear(3, 2)
    path = save_checkpoint(
        tmp_path / "sub" / "model.pt", {"model": model.state_dict(), "epochs": 3, "acc": [0.5]}
    )
    state = load_checkpoint(path, sha256=sha256_of(path))
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(state["model"])
    assert torch.equal(fresh.weight, model.weight) and state["epochs"] == 3 and state["acc"] == [0.5]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644  # readable by others, like any saved file
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary file left behind


def test_a_failed_save_keeps_the_old_file(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", {"v": torch.ones(2)})
    before = path.read_bytes()
    with pytest.raises(TypeError, match="weights-only"):
        save_checkpoint(path, {"module": nn.Linear(2, 2)})  # a whole module needs pickle to load
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_load_refuses_a_wrong_digest_and_a_pickled_object(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", {"v": torch.ones(2)})
    with pytest.raises(ChecksumError, match="SHA-256"):
        load_checkpoint(path, sha256="0" * 64)
    evil = tmp_path / "evil.pt"
    torch.save({"f": print}, evil)  # loading this with pickle would import and call arbitrary objects
    with pytest.raises(ValueError, match="weights-only"):
        load_checkpoint(evil)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(TypeError, match="state must be a dict"):
        save_checkpoint(tmp_path / "m.pt", [1, 2])
    with pytest.raises(IsADirectoryError, match="folder"):
        save_checkpoint(tmp_path, {"v": 1})
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    save_checkpoint(tmp_path / "m.pt", {"v": 1})
    with pytest.raises(ValueError, match="sha256"):
        load_checkpoint(tmp_path / "m.pt", sha256="abc")
