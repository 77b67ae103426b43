"""Turning a trained captioner into sentences: greedy decoding and beam search, with length handling.

Taught in lesson 06 (section 4, "Decoding: greedy and beam search").

A captioner gives, at every step, a distribution over the next word. Greedy
decoding takes the most likely word each time; it is myopic: a word that
looks best now can lead to a sentence that is worse as a whole. Beam search
keeps the ``width`` most likely partial sentences, extends each by every
word, and keeps the ``width`` best extensions (``beam_step``). Length
handling, three parts:

* a sentence ends at ``<eos>``; a finished beam can only be extended by
  ``<eos>`` at no cost, so it keeps its score and its place in the beam;
* every sentence stops after ``max_len`` words, finished or not;
* beam search compares the finished sentences by their log-probability
  divided by ``length ** length_penalty`` (Wu et al., 2016, use a smoother
  form): with 0, the raw log-probability, which favours short sentences
  since every word adds a negative term; with 1, the mean per word.

The model is anything with ``start(images) -> state`` (a dict of tensors
whose first dimension is the batch) and ``step(tokens, state) -> (logits,
state, attention weights)``, such as ``mmlearn.captioning.Captioner``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from mmlearn.validation import check_number, check_positive_int, check_tensor

__all__ = ["Decoded", "greedy_decode", "beam_step", "beam_search", "generate_captions"]


class Decoded(NamedTuple):
    """Decoded sentences: ``tokens`` (B, T) word ids (``<eos>`` included, then padding),
    ``log_prob`` (B,) their total log-probability under the model, ``lengths`` (B,) words counted with
    ``<eos>``, and ``weights`` (B, T, R) the attention weights of each word (greedy only, else None)."""

    tokens: torch.Tensor
    log_prob: torch.Tensor
    lengths: torch.Tensor
    weights: torch.Tensor | None


def _check_log_probs(x, name: str, ndim: int) -> None:
    """A float tensor of ``ndim`` dimensions; -inf is fine (an empty beam), NaN and +inf are not."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must hold floats (log-probabilities), got dtype {x.dtype}")
    if x.dim() != ndim or x.numel() == 0:
        raise ValueError(
            f"{name} must be a non-empty tensor of {ndim} dimensions, got shape {tuple(x.shape)}"
        )
    if torch.isnan(x).any() or (x == float("inf")).any():
        raise ValueError(
            f"{name} contains NaN or +inf: log-probabilities are at most 0 (-inf marks an empty beam)"
        )


def _check_ids(bos_id, eos_id, pad_id, max_len) -> int:
    for name, value in (("bos_id", bos_id), ("eos_id", eos_id), ("pad_id", pad_id)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a token id (an int >= 0), got {value!r}")
    return check_positive_int(max_len, "max_len")


@torch.no_grad()
def greedy_decode(
    model, images: torch.Tensor, *, bos_id: int, eos_id: int, pad_id: int = 0, max_len: int = 30
) -> Decoded:
    """The most likely next word at every step, until ``<eos>`` or ``max_len`` words; (B, ...) images."""
    max_len = _check_ids(bos_id, eos_id, pad_id, max_len)
    check_tensor(images, "images")
    state = model.start(images)
    b = images.shape[0]
    device = state["hidden"].device if "hidden" in state else images.device
    prev = torch.full((b,), bos_id, dtype=torch.long, device=device)
    finished = torch.zeros(b, dtype=torch.bool, device=device)
    log_prob = torch.zeros(b, device=device)
    lengths = torch.zeros(b, dtype=torch.long, device=device)
    tokens, weights = [], []
    for _ in range(max_len):
        logits, state, w = model.step(prev, state)  # (B, V), state, (B, R)
        step_logp = torch.log_softmax(logits.float(), dim=1)  # (B, V)
        best = step_logp.argmax(dim=1)  # (B,)
        log_prob += torch.where(finished, 0.0, step_logp.gather(1, best[:, None]).squeeze(1))
        lengths += (~finished).long()
        word = torch.where(finished, pad_id, best)  # nothing after <eos>
        tokens.append(word)
        weights.append(w)
        finished = finished | (best == eos_id)
        prev = best
        if bool(finished.all()):
            break
    return Decoded(torch.stack(tokens, dim=1), log_prob, lengths, torch.stack(weights, dim=1))


def beam_step(
    scores: torch.Tensor, log_probs: torch.Tensor, finished: torch.Tensor, eos_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of beam search for B sentences with K beams each.

    ``scores`` (B, K): the log-probability of each beam so far (-inf for an
    empty slot); ``log_probs`` (B, K, V): log-probabilities of every next
    word for every beam; ``finished`` (B, K) bool: beams that already ended
    with ``<eos>``. A finished beam may only be extended by ``<eos>``, at no
    cost. Returns, for the K best of the K * V extensions of each sentence
    (best first): their scores (B, K), the beam each extends (B, K) and the
    word it adds (B, K).
    """
    _check_log_probs(log_probs, "log_probs", 3)
    b, k, v = log_probs.shape
    _check_log_probs(scores, "scores", 2)
    if not isinstance(finished, torch.Tensor) or finished.dtype != torch.bool:
        raise TypeError(
            f"finished must be a bool tensor (B, K), got {getattr(finished, 'dtype', finished)!r}"
        )
    if scores.shape != (b, k) or finished.shape != (b, k):
        raise ValueError(
            f"scores and finished must be (B, K) = {(b, k)} like log_probs' first two dimensions, got "
            f"{tuple(scores.shape)} and {tuple(finished.shape)}"
        )
    if isinstance(eos_id, bool) or not isinstance(eos_id, int) or not 0 <= eos_id < v:
        raise ValueError(f"eos_id must be a word id in 0..{v - 1}, got {eos_id!r}")
    candidates = scores.unsqueeze(2) + log_probs  # (B, K, V): the score of every extension
    only_eos = torch.full_like(candidates, float("-inf"))
    only_eos[:, :, eos_id] = scores  # a finished beam: one extension, <eos>, at no cost
    candidates = torch.where(finished.unsqueeze(2), only_eos, candidates)
    top_scores, flat = candidates.reshape(b, k * v).topk(k, dim=1)  # (B, K) each
    return top_scores, flat // v, flat % v


@torch.no_grad()
def beam_search(
    model,
    images: torch.Tensor,
    *,
    width: int,
    bos_id: int,
    eos_id: int,
    pad_id: int = 0,
    max_len: int = 30,
    length_penalty: float = 1.0,
    step=beam_step,
) -> Decoded:
    """Beam search with ``width`` beams per image: the best sentence of each (see the module docstring).

    ``step`` is the function that picks the beams (``beam_step`` or a
    student's). Among a sentence's final beams the one with the highest
    ``log_prob / length ** length_penalty`` wins (the first one on a tie).
    """
    width = check_positive_int(width, "width")
    max_len = _check_ids(bos_id, eos_id, pad_id, max_len)
    length_penalty = check_number(length_penalty, "length_penalty", minimum=0.0)
    check_tensor(images, "images")
    b = images.shape[0]
    state = {name: x.repeat_interleave(width, dim=0) for name, x in model.start(images).items()}  # (B*K, ...)
    device = next(iter(state.values())).device
    scores = torch.full((b, width), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start as the same empty sentence: keep one, so no beam is a copy
    finished = torch.zeros(b, width, dtype=torch.bool, device=device)
    lengths = torch.zeros(b, width, dtype=torch.long, device=device)
    sequences = torch.zeros(b, width, 0, dtype=torch.long, device=device)
    prev = torch.full((b * width,), bos_id, dtype=torch.long, device=device)
    rows = torch.arange(b, device=device).unsqueeze(1) * width  # (B, 1): first beam of each sentence
    for _ in range(max_len):
        logits, state, _ = model.step(prev, state)  # (B*K, V)
        log_probs = torch.log_softmax(logits.float(), dim=1).reshape(b, width, -1)  # (B, K, V)
        scores, parents, words = step(scores, log_probs, finished, eos_id)  # (B, K) each
        state = {name: x[(rows + parents).flatten()] for name, x in state.items()}  # follow the parents
        was_finished = finished.gather(1, parents)
        lengths = lengths.gather(1, parents) + (~was_finished).long()
        finished = was_finished | (words == eos_id)
        shown = torch.where(was_finished, pad_id, words)  # nothing after <eos>
        sequences = torch.cat(
            [sequences.gather(1, parents[:, :, None].expand_as(sequences)), shown[:, :, None]], 2
        )
        prev = words.flatten()
        if bool(finished.all()):
            break
    normalised = scores / lengths.clamp(min=1).float() ** length_penalty  # (B, K); -inf stays -inf
    best = normalised.argmax(dim=1)  # (B,)
    pick = torch.arange(b, device=device)
    return Decoded(sequences[pick, best], scores[pick, best], lengths[pick, best], None)


def generate_captions(
    model,
    images: torch.Tensor,
    vocab,
    *,
    width: int = 1,
    batch_size: int = 256,
    step=beam_step,
    **options,
) -> tuple[list[str], Decoded]:
    """Caption every image: greedy for ``width=1``, beam search otherwise; in eval mode, in batches.

    Returns the sentences (decoded with ``vocab``) and the ``Decoded`` of all
    images (``weights`` only for greedy). ``step`` is beam search's step
    function; ``options`` go to the decoder (``max_len``, and
    ``length_penalty`` for beam search).
    """
    width = check_positive_int(width, "width")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_tensor(images, "images")
    ids = dict(bos_id=vocab.bos_id, eos_id=vocab.eos_id, pad_id=vocab.pad_id)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    parts = []
    try:
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size].to(device)
            if width == 1:
                parts.append(greedy_decode(model, batch, **ids, **options))
            else:
                parts.append(beam_search(model, batch, width=width, step=step, **ids, **options))
    finally:
        model.train(was_training)
    length = max(p.tokens.shape[1] for p in parts)

    def padded(x: torch.Tensor, value) -> torch.Tensor:
        return torch.nn.functional.pad(x, (0, 0) * (x.dim() - 2) + (0, length - x.shape[1]), value=value)

    decoded = Decoded(
        torch.cat([padded(p.tokens, vocab.pad_id) for p in parts]).cpu(),
        torch.cat([p.log_prob for p in parts]).cpu(),
        torch.cat([p.lengths for p in parts]).cpu(),
        torch.cat([padded(p.weights, 0.0) for p in parts]).cpu() if width == 1 else None,
    )
    return vocab.decode_batch(decoded.tokens), decoded
