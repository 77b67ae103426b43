"""Latency percentiles on a fake clock and on a sleeping model; batching, quantisation, bad inputs."""

import time

import numpy as np
import pytest
import torch
from torch import nn

from mmlearn.latency import (
    LatencyStats,
    latency_by_batch,
    latency_percentiles,
    measure_latency,
    quantize_linear_int8,
    time_model,
)


class FakeClock:
    """A clock that a fake model moves forward by known durations."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_percentiles_on_a_fake_clock_skip_the_warmup():
    clock = FakeClock()
    durations = iter([1.0, 1.0, 1.0] + [0.001 * k for k in range(1, 21)])  # 3 slow warm-up calls

    def run():
        clock.now += next(durations)

    median, p95 = latency_percentiles(run, warmup=3, repeats=20, clock=clock)
    ms = np.arange(1, 21, dtype=float)
    assert median == pytest.approx(np.percentile(ms, 50))
    assert p95 == pytest.approx(np.percentile(ms, 95))


def test_synchronize_is_called_around_every_timed_call():
    calls = []
    latency_percentiles(
        lambda: calls.append("run"), warmup=1, repeats=3, synchronize=lambda: calls.append("s")
    )
    assert calls == ["run"] + ["s", "run", "s"] * 3


class SleepyModel(nn.Module):
    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.lin = nn.Linear(2, 2)

    def forward(self, inputs):
        time.sleep(self.seconds)
        return self.lin(inputs["x"])


def test_sleeping_model_gives_sane_ordered_percentiles():
    stats = time_model(SleepyModel(0.002), {"x": torch.ones(1, 2)}, warmup=1, repeats=10)
    assert 2.0 <= stats.median_ms <= stats.p95_ms
    assert stats.median_ms < 200  # a sleep of 2 ms, even on a busy machine
    assert stats.throughput_per_s == pytest.approx(1000 / stats.median_ms)


def test_time_model_restores_the_mode_and_uses_inference_mode():
    seen = []

    class Probe(nn.Module):
        def forward(self, inputs):
            seen.append((self.training, torch.is_inference_mode_enabled(), torch.is_grad_enabled()))
            return inputs["x"]

    model = Probe().train()
    time_model(model, {"x": torch.ones(1, 2)}, warmup=0, repeats=1)
    time_model(model, {"x": torch.ones(1, 2)}, grad="enabled", warmup=0, repeats=1)
    assert seen == [(False, True, False), (False, False, True)] and model.training


def test_latency_by_batch_counts_the_cases():
    model = nn.Sequential()
    wrapped = lambda inputs: model(inputs["x"])  # noqa: E731

    class Wrap(nn.Module):
        def forward(self, inputs):
            return wrapped(inputs)

    out = latency_by_batch(Wrap(), {"x": torch.ones(8, 2)}, [1, 4, 8], warmup=0, repeats=2)
    assert [s.batch_size for s in out.values()] == [1, 4, 8]
    with pytest.raises(ValueError, match="batch_sizes"):
        latency_by_batch(Wrap(), {"x": torch.ones(8, 2)}, [16], warmup=0, repeats=2)


def test_quantized_copy_keeps_the_original_and_close_outputs():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)).eval()
    q = quantize_linear_int8(model)
    x = torch.randn(8, 16)
    assert isinstance(model[0], nn.Linear) and type(q[0]) is not nn.Linear
    assert (q(x) - model(x)).abs().max() < 0.1


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: latency_percentiles("run"), "run must be a function"),
        (lambda: latency_percentiles(lambda: None, warmup=-1), "warmup"),
        (lambda: latency_percentiles(lambda: None, repeats=0), "repeats"),
        (lambda: measure_latency(lambda: None, batch_size=0), "batch_size"),
        (lambda: time_model(nn.Linear(2, 2), {"x": torch.ones(1, 2)}, grad="fast"), "grad must be one of"),
        (lambda: LatencyStats(float("nan"), 1.0), "median_ms"),
    ],
)
def test_bad_inputs_name_the_argument(call, words):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert words in str(err.value)
