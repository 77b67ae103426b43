"""Exercises of lesson 08 (audio-visual recognition within 2 points of its best sense).

Taught in lesson 08 (sections 4, "Three fixes", and 5, "Never much worse than the best sense").

08.1 is the training transform of corruption training: in every pair, one
modality chosen at random gets Gaussian noise of a random strength; the
lesson trains its corruption-trained models and the noise-aware gate with the
student's transform. 08.2 is the entropy-weighted decision rule of late
fusion (each modality's weight falls with the entropy of its prediction); the
lesson draws its robustness curves with it. 08.3 is the worst-case gap: at
each noise level, the fused accuracy minus the best single-modality accuracy
among the models still usable there; the lesson's last claim is computed
with it. The references are ``mmlearn.robust_fusion.RandomStrengthNoise``,
``mmlearn.robust_fusion.entropy_weighted_rule`` and
``mmlearn.robustness.worst_case_gap``, which give the same numbers as the
solutions.
"""

from __future__ import annotations

import numpy as np
import torch

from mmlearn.data.corruption import NOISE_AT_FULL
from mmlearn.exercises.checker import ExerciseFailure, _guarded, _StudentError, exercise, expect_close
from mmlearn.robust_fusion import RandomStrengthNoise, entropy_weighted_rule
from mmlearn.robustness import USABLE, worst_case_gap

# --- 08.1: noise of random strength on one modality per pair ---------------------------------------------


def _inputs(batch: int, seed: int, three: bool = False) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    inputs = {
        "image": torch.rand(batch, 1, 8, 8, generator=gen),
        "audio": 3.0 * torch.randn(batch, 13, 6, generator=gen) + 1.0,
    }
    if three:
        inputs["sensor"] = torch.randn(batch, 5, generator=gen)
    return inputs


def _noise_variant(inputs, p_clean, seed, *, squared=True, own_std=True, every=False, unbiased=True):
    """The transform with one usual slip: a linear level, a batch-wide or biased std, or noise everywhere."""
    g = torch.Generator().manual_seed(seed)
    names = list(inputs)
    batch = len(next(iter(inputs.values())))
    which = torch.randint(len(names), (batch,), generator=g)
    clean = torch.rand(batch, generator=g) < p_clean
    level = torch.rand(batch, generator=g)
    out = {}
    for j, m in enumerate(names):
        x = inputs[m]
        noise = torch.randn(x.shape, generator=g)
        chosen = ~clean if every else (which == j) & ~clean
        lv = torch.where(chosen, level, torch.zeros(batch))
        sigma = x.flatten(1).std(dim=1, unbiased=unbiased) if own_std else x.std().expand(batch)
        scale = NOISE_AT_FULL * (lv**2 if squared else lv) * sigma
        out[m] = x + scale.view(-1, *([1] * (x.dim() - 1))) * noise
    return out


@exercise(
    "08.1",
    "noise of random strength on one modality per pair",
    (
        "Each pair needs three random choices (which modality it may lose, whether it stays clean, how "
        "strong its noise is), made for the whole batch at once and in the order the task gives, so "
        "that your draws match the package's. The noise of a modality is then scaled per pair: by the "
        "pair's level if this modality is the chosen one and the pair is not clean, by 0 otherwise.",
        "The calls you need: torch.randint, torch.rand and torch.randn, each with generator=self.generator "
        "(they draw on the CPU: move what you draw to the device of the batch); torch.where to pick each "
        "pair's level or 0; Tensor.std (its default, unbiased) over all but the batch axis (flatten them "
        "into one first) for each pair's own spread; Tensor.view to broadcast a (B,) scale over a pair's "
        "values.",
    ),
    reference=RandomStrengthNoise,
)
def check_random_strength_noise(student):
    for batch, p_clean, seed, three in [(32, 1 / 3, 0, False), (17, 0.0, 3, True), (9, 1.0, 5, False)]:
        inputs = _inputs(batch, seed + 20, three)
        what = f"a batch of {batch} pairs of {list(inputs)} with p_clean={p_clean:.3g}, seed={seed}"
        expected = RandomStrengthNoise(p_clean, seed=seed)(inputs)
        copies = {m: x.clone() for m, x in inputs.items()}
        transform = _guarded(student)(p_clean, seed=seed)
        out = _guarded(transform)(copies, None)
        for m, x in inputs.items():
            if not torch.equal(copies[m], x):
                raise ExerciseFailure(
                    f"{what}: your transform changed the input '{m}' in place; return new tensors"
                )
        if not isinstance(out, dict) or set(out) != set(inputs):
            raise ExerciseFailure(
                f"{what}: expected a dict with the keys {list(inputs)}, got "
                f"{sorted(out) if isinstance(out, dict) else type(out).__name__}"
            )
        slips = {
            "scales the noise by the level itself: the course's noise has a standard deviation of "
            "NOISE_AT_FULL * level**2 times the signal's": dict(squared=False),
            "uses one standard deviation for the whole batch: scale by each pair's own standard deviation "
            "(over all of that pair's values of the modality)": dict(own_std=False),
            "puts noise on every modality of a noisy pair: only the pair's chosen modality gets noise": dict(
                every=True
            ),
            "uses the biased standard deviation (unbiased=False or correction=0): the course's noise uses "
            "Tensor.std's default, the unbiased one": dict(unbiased=False),
        }
        for slip, options in slips.items():
            variant = _noise_variant(inputs, p_clean, seed, **options)
            differs = any(not torch.allclose(variant[m], expected[m]) for m in inputs)
            if differs and all(
                isinstance(out[m], torch.Tensor)
                and out[m].shape == variant[m].shape
                and torch.allclose(out[m], variant[m], rtol=1e-4, atol=1e-5)
                for m in inputs
            ):
                raise ExerciseFailure(f"{what}: your transform {slip}")
        for m in inputs:
            expect_close(out[m], expected[m], f"{what}: modality '{m}'")
        again = _guarded(transform)({m: x.clone() for m, x in inputs.items()}, None)
        second = RandomStrengthNoise(p_clean, seed=seed)
        second(inputs)
        expected_again = second(inputs)
        for m in inputs:
            expect_close(
                again[m],
                expected_again[m],
                f"{what}, a second batch from the same transform: modality '{m}' "
                "(keep drawing from self.generator; do not reseed it on every call)",
            )
    _check_device(student)


def _check_device(student) -> None:
    """The batch may sit on a GPU (train_classifier moves it there before the transform): try a 'meta' one."""
    inputs = {m: x.to("meta") for m, x in _inputs(8, 40).items()}
    what = "a batch of 8 pairs on another device than the CPU ('meta', as a GPU batch would be)"
    try:
        out = _guarded(_guarded(student)(1 / 3, seed=0))(inputs, None)
    except _StudentError as err:
        text = str(err.original)
        if isinstance(err.original, RuntimeError) and "meta" in text and "device" in text:
            raise ExerciseFailure(
                f"{what}: your transform raised '{text}'. The generator draws on the CPU; move each "
                "tensor you draw to the batch's device (.to(x.device)) before mixing it with x"
            ) from None
        if isinstance(err.original, RuntimeError) and "meta" in text:
            return  # a value check (.item(), isfinite) a meta tensor cannot answer: nothing to learn here
        raise
    for m, x in inputs.items():
        y = out.get(m) if isinstance(out, dict) else None
        if not isinstance(y, torch.Tensor) or y.device != x.device or y.shape != x.shape:
            raise ExerciseFailure(
                f"{what}: expected modality '{m}' back on device {x.device} with shape {tuple(x.shape)}, got "
                + (f"device {y.device}, shape {tuple(y.shape)}" if isinstance(y, torch.Tensor) else repr(y))
            )


# --- 08.2: the entropy-weighted decision rule ------------------------------------------------------------


def _log_probs(batch: int, modalities: int, classes: int, seed: int, sharp: float = 2.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.log_softmax(sharp * torch.randn(batch, modalities, classes, generator=gen), dim=2)


@exercise(
    "08.2",
    "entropy-weighted late fusion",
    (
        "Three quantities per pair: each modality's entropy (how unsure its prediction is), weights that "
        "fall as the entropy rises and sum to 1 over the modalities, and the weighted mean of the "
        "probabilities. The function returns the log of that mean, as a late-fusion model does.",
        "The entropy is the expected value of minus the log-probability under the modality's own "
        "distribution. Weights that fall as it rises and sum to 1 are a softmax of minus the entropies, "
        "divided by tau first; mind which axis holds the modalities and which the classes, and average "
        "probabilities, not log-probabilities.",
        "Calls that help: Tensor.exp, Tensor.sum with a dim, torch.softmax with a dim, torch.log (clamp "
        "the mean away from 0 first).",
    ),
    reference=entropy_weighted_rule,
)
def check_entropy_weighted_rule(student):
    rule = _guarded(student)
    one_hot = torch.log_softmax(torch.tensor([[[30.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]), dim=2)
    cases = [
        ("(32, 2, 10) log-probabilities, tau=0.5", _log_probs(32, 2, 10, seed=0), 0.5),
        ("(8, 3, 4) log-probabilities, tau=2.0", _log_probs(8, 3, 4, seed=1), 2.0),
        ("a sure modality (one class at probability ~1) beside a flat one, tau=0.5", one_hot, 0.5),
    ]
    for what, log_probs, tau in cases:
        expected = entropy_weighted_rule(log_probs, tau)
        out = rule(log_probs.clone(), tau)
        if isinstance(out, torch.Tensor) and out.shape == expected.shape:
            mean_rule = torch.log(log_probs.exp().mean(dim=1))
            if not torch.allclose(expected, mean_rule, atol=1e-4) and torch.allclose(
                out, mean_rule, atol=1e-4
            ):
                raise ExerciseFailure(
                    f"on {what}: you return the plain mean of the probabilities; weight each modality by "
                    "softmax(-entropy / tau) over the modalities"
                )
            p = log_probs.exp()
            entropy = -(p * log_probs).sum(dim=2)  # (B, M)
            backwards = torch.log((torch.softmax(entropy / tau, dim=1)[:, :, None] * p).sum(dim=1))
            if not torch.allclose(expected, backwards, atol=1e-4) and torch.allclose(
                out, backwards, atol=1e-4
            ):
                raise ExerciseFailure(
                    f"on {what}: your weights grow with the entropy; a sure modality (low entropy) must "
                    "count more: softmax of MINUS the entropy over tau"
                )
            if torch.allclose(out, expected.exp(), atol=1e-5):
                raise ExerciseFailure(f"on {what}: you return probabilities; return their log, (B, C)")
        expect_close(out, expected, f"your fused log-probabilities on {what}")


# --- 08.3: the worst-case gap ----------------------------------------------------------------------------


@exercise(
    "08.3",
    "the worst-case gap against the best usable single model",
    (
        "At each level there is one reference: the best accuracy among the single-modality models whose "
        "accuracy there reaches `usable`. A level where no single model reaches it has no reference and "
        "does not count. The answer is the smallest difference, fused minus reference, over the levels "
        "that count.",
        "Mark an unusable accuracy so that it can never win the maximum over the single models, and keep "
        "track of the levels where every one of them was marked: those levels are left out of the minimum.",
        "Calls that help: np.asarray and np.stack for the curves, np.where for the marking, a boolean mask "
        "for the levels that count.",
    ),
    reference=worst_case_gap,
)
def check_worst_case_gap(student):
    levels = 6
    gen = np.random.default_rng(0)
    cases = [
        (
            "the fused curve above both single models everywhere",
            np.array([0.85, 0.84, 0.8, 0.75, 0.7, 0.68]),
            {"image": np.full(levels, 0.66), "audio": np.array([0.63, 0.6, 0.5, 0.4, 0.3, 0.15])},
            USABLE,
        ),
        (
            "a fused curve that falls below the image model at the last levels",
            np.array([0.85, 0.8, 0.6, 0.4, 0.3, 0.2]),
            {"image": np.full(levels, 0.66), "audio": np.array([0.63, 0.6, 0.5, 0.4, 0.3, 0.15])},
            USABLE,
        ),
        (
            "a level where the only single model left is below `usable` (it must not count)",
            np.array([0.8, 0.7, 0.5, 0.3, 0.16, 0.12]),
            {"audio": np.array([0.63, 0.6, 0.5, 0.3, 0.18, 0.14])},
            0.2,
        ),
        (
            "random curves of three single models, usable=0.5",
            gen.uniform(0.3, 0.9, levels),
            {m: gen.uniform(0.1, 0.9, levels) for m in ("a", "b", "c")},
            0.5,
        ),
    ]
    for what, fused, singles, usable in cases:
        expected = worst_case_gap(fused, singles, usable=usable)
        out = _guarded(student)(fused.copy(), {m: c.copy() for m, c in singles.items()}, usable=usable)
        if isinstance(out, torch.Tensor | np.ndarray) and np.size(out) == 1:
            out = float(out)
        if isinstance(out, float | np.floating):
            plain = float((fused - np.max(np.stack(list(singles.values())), axis=0)).min())
            if abs(plain - expected) > 1e-9 and abs(out - plain) < 1e-9:
                raise ExerciseFailure(
                    f"on {what}: you compared with the best single model at every level; a single model "
                    f"counts only where its accuracy reaches usable={usable}, and a level without one is "
                    "skipped"
                )
        expect_close(out, expected, f"your gap on {what}")
