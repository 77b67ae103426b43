import json
import math

import numpy as np
import pytest
import torch

from mmlearn.report import RESULTS_ENV, atomic_write_text, record


def test_record_prints_rounded_and_returns_value(capsys, monkeypatch):
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    assert record("acc_early", 0.91234, digits=2) is None
    assert capsys.readouterr().out == "acc_early = 0.91\n"


def test_record_bool_and_int_print_plainly(capsys, monkeypatch):
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    record("claim_holds", True)
    record("n_train", 1200)
    assert capsys.readouterr().out == "claim_holds = True\nn_train = 1200\n"


def test_record_merges_into_results_file(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "02_fusion.json"
    monkeypatch.setenv(RESULTS_ENV, str(path))
    record("acc_early", 0.5, quiet=True)
    record("acc_late", np.float32(0.75), quiet=True)
    record("acc_gated", torch.tensor(0.25), quiet=True)
    assert json.loads(path.read_text()) == {"acc_early": 0.5, "acc_late": 0.75, "acc_gated": 0.25}
    assert [p.name for p in path.parent.iterdir()] == ["02_fusion.json"]  # no temp files left


@pytest.mark.parametrize("name", ["", "acc early", "1acc", None])
def test_bad_names(name):
    with pytest.raises(ValueError, match="identifier"):
        record(name, 1.0)


def test_non_numbers_and_nan_rejected():
    with pytest.raises(TypeError, match="number"):
        record("acc", "0.9")
    with pytest.raises(ValueError, match="finite"):
        record("acc", math.nan)


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("old")

    class Boom:
        def __str__(self):
            raise RuntimeError("boom")

    with pytest.raises(TypeError):
        atomic_write_text(path, Boom())
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
