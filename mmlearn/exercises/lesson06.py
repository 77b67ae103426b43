"""Exercises of lesson 06 (image captioning): the additive attention step, one step of beam search.

Taught in lesson 06 (sections 2, "A captioner that looks: regions, attention, a GRU", and 4,
"Decoding: greedy and beam search").

06.1 is the forward pass of additive (Bahdanau) attention over region
features: scores, softmax over the regions, weighted sum. The lesson's
captioner is built with the student's class once it passes. 06.2 is one
step of beam search with finished beams; the lesson's beam search runs on
the student's function. The references are the package's own
``mmlearn.captioning.AdditiveAttention`` and ``mmlearn.decoding.beam_step``,
which give the same numbers as the solutions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mmlearn.captioning import AdditiveAttention
from mmlearn.decoding import beam_step
from mmlearn.exercises.checker import ExerciseFailure, _guarded, exercise, expect_close

# --- 06.1: additive attention ----------------------------------------------------------------------------


def _attention_inputs(b: int, t: int, r: int, q: int, k: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, q, generator=gen), torch.randn(b, r, k, generator=gen)


def _pair(student_cls, q: int, k: int, a: int, seed: int):
    """The student's module and the reference, with the same initial weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reference = AdditiveAttention(q, k, a)
    student = _guarded(student_cls)(q, k, a)
    if not isinstance(student, torch.nn.Module):
        raise ExerciseFailure(
            f"AdditiveAttention(...) should build an nn.Module, got {type(student).__name__}"
        )
    try:
        student.load_state_dict(reference.state_dict())
    except (RuntimeError, KeyError) as err:
        raise ExerciseFailure(
            "keep the layers of __init__ as they are (query, key, score): the check copies the reference's "
            f"weights into them ({type(err).__name__})"
        ) from None
    return student, reference


def _attention_variant(module, query, keys, projected, *, tanh=True, dim=2, values="keys"):
    """The attention with a usual slip: no tanh, softmax over the words, or the projected keys as values."""
    energy = module.query(query).unsqueeze(2) + projected.unsqueeze(1)
    energy = torch.tanh(energy) if tanh else energy
    weights = torch.softmax(module.score(energy).squeeze(3), dim=dim)
    return torch.bmm(weights, keys if values == "keys" else projected), weights


@exercise(
    "06.1",
    "the additive attention step",
    (
        "Three moves for every word and every region: a score that says how well the region fits the "
        "decoder's state (the state and the region, each mapped to the attention size, added, squashed, "
        "then mapped to one number), weights that are positive and sum to 1 over the regions, and a "
        "context that mixes the region features (not their projections) with those weights. Which "
        "dimension of the (B, T, R, A) tensor must the query get a new axis for?",
        "The calls you need: self.query and self.score (the keys are already projected), "
        "Tensor.unsqueeze to line up (B, T, 1, A) with (B, 1, R, A), torch.tanh, Tensor.squeeze, "
        "torch.softmax over the regions' dimension, and torch.bmm for the weighted sum.",
    ),
    reference=AdditiveAttention,
)
def check_additive_attention(student_cls):
    for b, t, r, q, k, a, seed in [(2, 3, 5, 6, 4, 7, 0), (3, 1, 16, 8, 8, 5, 1)]:
        student, reference = _pair(student_cls, q, k, a, seed)
        query, keys = _attention_inputs(b, t, r, q, k, seed + 10)
        with torch.no_grad():
            projected = reference.key(keys)  # (B, R, A)
            expected_context, expected_weights = reference(query, keys, projected)
        what = f"query (B, T, Q) = {(b, t, q)}, keys (B, R, K) = {(b, r, k)}, attention size {a}"
        out = _guarded(student)(query.clone(), keys.clone(), projected.clone())
        if not isinstance(out, tuple) or len(out) != 2:
            raise ExerciseFailure(
                f"{what}: forward should return (context, weights), got {type(out).__name__}"
            )
        context, weights = out
        if isinstance(weights, torch.Tensor) and weights.shape == expected_weights.shape:
            with torch.no_grad():
                slips = {
                    "forgets the tanh between the sum and the score": _attention_variant(
                        reference, query, keys, projected, tanh=False
                    ),
                    "takes the softmax over the words (dimension 1), not the regions": _attention_variant(
                        reference, query, keys, projected, dim=1
                    ),
                    "mixes the projected keys, not the region features themselves": _attention_variant(
                        reference, query, keys, projected, values="projected"
                    ),
                }
            for slip, (slip_context, slip_weights) in slips.items():
                if (
                    torch.allclose(weights.detach(), slip_weights, atol=1e-5)
                    and isinstance(context, torch.Tensor)
                    and context.shape == slip_context.shape
                    and torch.allclose(context.detach(), slip_context, atol=1e-5)
                ) and (
                    slip_context.shape != expected_context.shape
                    or not torch.allclose(slip_context, expected_context, atol=1e-5)
                ):
                    raise ExerciseFailure(f"{what}: your attention {slip}")
        expect_close(weights, expected_weights, f"{what}: the weights (B, T, R)")
        sums = weights.detach().sum(dim=2)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-5):
            raise ExerciseFailure(f"{what}: the weights of each word should sum to 1 over the regions")
        expect_close(context, expected_context, f"{what}: the context (B, T, K)")


# --- 06.2: one step of beam search -----------------------------------------------------------------------


def _beam_inputs(b: int, k: int, v: int, seed: int, eos_id: int):
    gen = torch.Generator().manual_seed(seed)
    scores = -3 * torch.rand(b, k, generator=gen)
    scores[:, 0] = -0.1  # a clear best beam, so that a finished beam wins slots in some cases
    log_probs = F.log_softmax(2 * torch.randn(b, k, v, generator=gen), dim=2)
    finished = torch.rand(b, k, generator=gen) < 0.4
    finished[0, 0] = True  # the best beam of sentence 0 has ended
    return scores, log_probs, finished


def _beam_variant(scores, log_probs, finished, eos_id, *, freeze=True, eos_cost=False, order="div"):
    """beam_step with one of the usual slips."""
    b, k, v = log_probs.shape
    candidates = scores.unsqueeze(2) + log_probs
    if freeze:
        only_eos = torch.full_like(candidates, float("-inf"))
        only_eos[:, :, eos_id] = scores + (log_probs[:, :, eos_id] if eos_cost else 0.0)
        candidates = torch.where(finished.unsqueeze(2), only_eos, candidates)
    top, flat = candidates.reshape(b, k * v).topk(k, dim=1)
    if order == "div":
        return top, flat // v, flat % v
    return top, flat % k, flat // k  # reads the flat index as if the words came first


@exercise(
    "06.2",
    "one step of beam search",
    (
        "Every beam can grow by every word, so there are K x V candidate sentences per image, each "
        "scored by its beam's score plus the word's log-probability. A beam that has ended must not grow "
        "any more: how can it keep its place among the candidates without changing its score? And once "
        "you pick the K best of the K x V, how do you tell from a position in that flat list which beam "
        "it came from and which word it adds?",
        "The calls you need: broadcasting (B, K, 1) + (B, K, V); torch.full_like with float('-inf') and "
        "torch.where for the finished beams; Tensor.reshape to (B, K * V) and Tensor.topk; integer "
        "division and remainder by V.",
    ),
    reference=beam_step,
)
def check_beam_step(student):
    for b, k, v, eos_id, seed in [(3, 4, 9, 3, 0), (2, 1, 6, 0, 1), (4, 5, 7, 2, 2)]:
        scores, log_probs, finished = _beam_inputs(b, k, v, seed, eos_id)
        expected = beam_step(scores, log_probs, finished, eos_id)
        what = f"B={b} sentences, K={k} beams, V={v} words, eos_id={eos_id} (finished: {finished.tolist()})"
        out = _guarded(student)(scores.clone(), log_probs.clone(), finished.clone(), eos_id)
        if not isinstance(out, tuple) or len(out) != 3:
            raise ExerciseFailure(
                f"{what}: return (scores, parents, words), three (B, K) tensors; got {type(out).__name__}"
            )
        slips = {
            "lets a finished beam grow by other words: a beam that ended may only add <eos>, at no cost": (
                _beam_variant(scores, log_probs, finished, eos_id, freeze=False)
            ),
            "charges a finished beam the log-probability of <eos> again: its score must stay as it is": (
                _beam_variant(scores, log_probs, finished, eos_id, eos_cost=True)
            ),
            "reads the flat index the wrong way round: position = beam * V + word": _beam_variant(
                scores, log_probs, finished, eos_id, order="mod"
            ),
        }
        for slip, variant in slips.items():
            same_as_slip = all(
                isinstance(x, torch.Tensor) and x.shape == y.shape and torch.equal(x, y)
                for x, y in zip(out, variant, strict=True)
            )
            differs = not all(torch.equal(x, y) for x, y in zip(expected, variant, strict=True))
            if same_as_slip and differs:
                raise ExerciseFailure(f"{what}: your step {slip}")
        for name, x, y in zip(("scores", "parents", "words"), out, expected, strict=True):
            expect_close(x, y, f"{what}: the {name} (B, K)")
            if name != "scores" and x.dtype != torch.long:
                raise ExerciseFailure(f"{what}: the {name} should be integer indices (int64), got {x.dtype}")
