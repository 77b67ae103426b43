import json
import math
import os
import stat

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


def test_claim_prints_one_line_and_records_under_claims(tmp_path, monkeypatch, capsys):
    from mmlearn.report import claim

    path = tmp_path / "results.json"
    monkeypatch.setenv(RESULTS_ENV, str(path))
    record("acc_early", 0.84)
    assert claim("fusion_wins", 0.84 - 0.66 >= 0.05, "best fusion beats the best single modality") is True
    assert claim("late_wins", torch.tensor(False), "late fusion wins") is False
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "claim: best fusion beats the best single modality: PASS",
        "claim: late fusion wins: FAIL",
    ]
    data = json.loads(path.read_text())
    assert data == {"acc_early": 0.84, "claims": {"fusion_wins": True, "late_wins": False}}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644  # a normal file, not mkstemp's 0600


@pytest.mark.parametrize(
    "args, error, match",
    [
        (("bad name", True, "x"), ValueError, "identifier"),
        (("ok", 0.9, "x"), TypeError, "must be a bool"),
        (("ok", "PASS", "x"), TypeError, "must be a bool"),
        (("ok", True, "  "), ValueError, "detail"),
    ],
)
def test_claim_bad_arguments(args, error, match):
    from mmlearn.report import claim

    with pytest.raises(error, match=match):
        claim(*args)
