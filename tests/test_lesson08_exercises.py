"""The lesson-08 exercise specs accept the references and the notebook's solutions, and reject wrong ones."""

import numpy as np
import pytest
import torch

from mmlearn.data.corruption import NOISE_AT_FULL
from mmlearn.exercises import check
from mmlearn.exercises.checker import passed
from mmlearn.robust_fusion import RandomStrengthNoise, entropy_weighted_rule
from mmlearn.robustness import USABLE, worst_case_gap

# --- the answers as the solution notebook writes them ----------------------------------------------------


class SolutionNoise(RandomStrengthNoise):
    device_of_draws = "batch"  # the wrong answers below change one of these two
    std_correction = 1  # Tensor.std's default, the unbiased one

    def __call__(self, inputs, labels=None):
        names = list(inputs)
        batch = len(inputs[names[0]])
        g = self.generator
        which = torch.randint(len(names), (batch,), generator=g)
        clean = torch.rand(batch, generator=g) < self.p_clean
        level = torch.rand(batch, generator=g)
        out = {}
        for j, m in enumerate(names):
            x = inputs[m]
            device = x.device if self.device_of_draws == "batch" else "cpu"
            noise = torch.randn(x.shape, generator=g).to(device)
            pair_level = torch.where((which == j) & ~clean, level, torch.zeros(batch)).to(device)
            scale = NOISE_AT_FULL * pair_level**2 * x.flatten(1).std(dim=1, correction=self.std_correction)
            out[m] = x + scale.view(-1, *([1] * (x.dim() - 1))) * noise
        return out


def solution_entropy_weighted(log_probs, tau=0.5):
    p = log_probs.exp()
    entropy = -(p * log_probs).sum(dim=2)
    w = torch.softmax(-entropy / tau, dim=1)
    fused = (w[:, :, None] * p).sum(dim=1)
    return torch.log(fused.clamp_min(torch.finfo(fused.dtype).tiny))


def solution_gap(fused, singles, usable=USABLE):
    single = np.stack([np.asarray(c, dtype=float) for c in singles.values()])
    best = np.where(single >= usable, single, -np.inf).max(axis=0)
    counted = np.isfinite(best)
    return float((np.asarray(fused, dtype=float)[counted] - best[counted]).min())


def test_references_and_solutions_pass(capsys):
    for exercise_id, answer in [
        ("08.1", RandomStrengthNoise),
        ("08.1", SolutionNoise),
        ("08.2", entropy_weighted_rule),
        ("08.2", solution_entropy_weighted),
        ("08.3", worst_case_gap),
        ("08.3", solution_gap),
    ]:
        check(exercise_id, answer)
        assert passed(exercise_id), capsys.readouterr().out


def test_the_solutions_are_bit_identical_to_the_package():
    gen = torch.Generator().manual_seed(0)
    inputs = {"image": torch.rand(64, 64, generator=gen), "audio": torch.randn(64, 572, generator=gen)}
    a, b = SolutionNoise(seed=4), RandomStrengthNoise(seed=4)
    for _ in range(3):  # three batches from the same transform: the generator's state carries on
        out_a, out_b = a(inputs), b(inputs)
        assert all(torch.equal(out_a[m], out_b[m]) for m in inputs)
    log_probs = torch.log_softmax(torch.randn(50, 2, 10, generator=gen), dim=2)
    assert torch.equal(solution_entropy_weighted(log_probs), entropy_weighted_rule(log_probs))
    curves = np.random.default_rng(1).uniform(0.1, 0.9, (3, 11))
    singles = {"image": curves[1], "audio": curves[2]}
    assert solution_gap(curves[0], singles) == worst_case_gap(curves[0], singles)


# --- wrong answers -----------------------------------------------------------------------------------


class LinearLevel(RandomStrengthNoise):
    def __call__(self, inputs, labels=None):
        names, g = list(inputs), self.generator
        batch = len(inputs[names[0]])
        which = torch.randint(len(names), (batch,), generator=g)
        clean = torch.rand(batch, generator=g) < self.p_clean
        level = torch.rand(batch, generator=g)
        out = {}
        for j, m in enumerate(names):
            x = inputs[m]
            noise = torch.randn(x.shape, generator=g)
            lv = torch.where((which == j) & ~clean, level, torch.zeros(batch))
            out[m] = (
                x + (NOISE_AT_FULL * lv * x.flatten(1).std(dim=1)).view(-1, *([1] * (x.dim() - 1))) * noise
            )
        return out


class EveryModality(RandomStrengthNoise):
    def __call__(self, inputs, labels=None):
        names, g = list(inputs), self.generator
        batch = len(inputs[names[0]])
        torch.randint(len(names), (batch,), generator=g)
        clean = torch.rand(batch, generator=g) < self.p_clean
        level = torch.rand(batch, generator=g)
        out = {}
        for m in names:
            x = inputs[m]
            noise = torch.randn(x.shape, generator=g)
            lv = torch.where(~clean, level, torch.zeros(batch))
            out[m] = (
                x + (NOISE_AT_FULL * lv**2 * x.flatten(1).std(dim=1)).view(-1, *([1] * (x.dim() - 1))) * noise
            )
        return out


class CpuOnly(SolutionNoise):
    "The first version of the solution: its draws stay on the CPU, which fails on a GPU batch."

    device_of_draws = "cpu"


class BiasedStd(SolutionNoise):
    std_correction = 0


class InPlace(SolutionNoise):
    def __call__(self, inputs, labels=None):
        out = super().__call__(inputs, labels)
        for m in inputs:
            inputs[m].copy_(out[m])
        return out


class Reseeds(SolutionNoise):
    def __call__(self, inputs, labels=None):
        self.generator.manual_seed(self.seed_used)
        return super().__call__(inputs, labels)

    def __init__(self, p_clean=1 / 3, *, seed=0):
        super().__init__(p_clean, seed=seed)
        self.seed_used = seed


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (LinearLevel, "by the level itself"),
        (EveryModality, "only the pair's chosen modality"),
        (InPlace, "in place"),
        (Reseeds, "do not reseed"),
        (CpuOnly, ".to(x.device)"),
        (BiasedStd, "the unbiased one"),
    ],
)
def test_wrong_noise_transforms_fail_with_a_reason(wrong, message, capsys):
    check("08.1", wrong)
    assert not passed("08.1")
    assert message in capsys.readouterr().out


def plain_mean(log_probs, tau=0.5):
    return torch.log(log_probs.exp().mean(dim=1))


def backwards(log_probs, tau=0.5):
    p = log_probs.exp()
    w = torch.softmax(-(p * log_probs).sum(dim=2) / tau, dim=1)  # softmax(+H / tau)
    return torch.log((w[:, :, None] * p).sum(dim=1))


def probabilities(log_probs, tau=0.5):
    return entropy_weighted_rule(log_probs, tau).exp()


@pytest.mark.parametrize(
    ("wrong", "message"),
    [(plain_mean, "plain mean"), (backwards, "grow with the entropy"), (probabilities, "return their log")],
)
def test_wrong_entropy_rules_fail_with_a_reason(wrong, message, capsys):
    check("08.2", wrong)
    assert not passed("08.2")
    assert message in capsys.readouterr().out


def every_level(fused, singles, usable=USABLE):
    return float((np.asarray(fused) - np.max(np.stack(list(singles.values())), axis=0)).min())


def mean_gap(fused, singles, usable=USABLE):
    return float((np.asarray(fused) - np.max(np.stack(list(singles.values())), axis=0)).mean())


@pytest.mark.parametrize(
    ("wrong", "message"), [(every_level, "counts only where"), (mean_gap, "your gap on")]
)
def test_wrong_gaps_fail_with_a_reason(wrong, message, capsys):
    check("08.3", wrong)
    assert not passed("08.3")
    assert message in capsys.readouterr().out
