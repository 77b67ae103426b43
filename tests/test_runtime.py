import os

import pytest
import torch

from mmlearn.runtime import describe_device, get_device, seed_everything


def test_default_device_is_cpu_without_accelerators(monkeypatch):
    monkeypatch.delenv("MMLEARN_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")


def test_cuda_preferred_over_mps(monkeypatch):
    monkeypatch.delenv("MMLEARN_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device().type == "cuda"


def test_mps_before_cpu(monkeypatch):
    monkeypatch.delenv("MMLEARN_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device().type == "mps"


def test_forced_device_from_environment(monkeypatch):
    monkeypatch.setenv("MMLEARN_DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cpu")


def test_requesting_missing_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device("cuda")


def test_describe_cpu_names_threads():
    assert describe_device(torch.device("cpu")).startswith("cpu (")


def test_seed_everything_repeats_and_differs():
    seed_everything(3)
    a = torch.randn(5)
    seed_everything(3)
    b = torch.randn(5)
    seed_everything(4)
    c = torch.randn(5)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_seed_everything_returns_seeded_generator():
    g1, g2 = seed_everything(7), seed_everything(7)
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))


@pytest.mark.parametrize(
    "bad, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)]
)
def test_bad_seed_rejected(bad, error):
    with pytest.raises(error, match="seed must be a non-negative integer"):
        seed_everything(bad)


def test_the_test_run_forces_the_cpu():
    # conftest.py: the nbval kernels inherit this, so a GPU machine reproduces the committed CPU outputs
    assert os.environ["MMLEARN_DEVICE"] == "cpu"


def test_lesson_seed_reads_the_environment(monkeypatch):
    from mmlearn.runtime import SEED_ENV, lesson_seed

    monkeypatch.delenv(SEED_ENV, raising=False)
    assert lesson_seed() == 0
    monkeypatch.setenv(SEED_ENV, " 3 ")
    assert lesson_seed() == 3
    for bad in ["two", "1.5", "-1"]:
        monkeypatch.setenv(SEED_ENV, bad)
        with pytest.raises(ValueError, match=SEED_ENV):
            lesson_seed()


def test_lessons_compute_with_one_thread_unless_told(monkeypatch):
    from mmlearn.runtime import THREADS_ENV, lesson_threads, setup_notebook

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv(THREADS_ENV, raising=False)
        assert lesson_threads() == 1
        setup_notebook(seed=0)
        assert torch.get_num_threads() == 1
        monkeypatch.setenv(THREADS_ENV, "2")
        assert lesson_threads() == 2
        for bad in ["0", "many"]:
            monkeypatch.setenv(THREADS_ENV, bad)
            with pytest.raises(ValueError, match=THREADS_ENV):
                lesson_threads()
    finally:
        torch.set_num_threads(before)
