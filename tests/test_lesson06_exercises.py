"""The lesson-06 exercise specs accept the references and the notebook's solutions, and reject wrong ones."""

import pytest
import torch
from torch import nn

from mmlearn.captioning import AdditiveAttention, AttentionDecoder
from mmlearn.decoding import beam_step
from mmlearn.exercises import check
from mmlearn.exercises.checker import passed

# --- the answers as the solution notebook writes them ----------------------------------------------------


class SolutionAttention(nn.Module):
    def __init__(self, query_dim, key_dim, attention_dim=64):
        super().__init__()
        self.query = nn.Linear(query_dim, attention_dim)
        self.key = nn.Linear(key_dim, attention_dim, bias=False)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, query, keys, projected_keys):
        energy = torch.tanh(self.query(query).unsqueeze(2) + projected_keys.unsqueeze(1))
        weights = torch.softmax(self.score(energy).squeeze(3), dim=2)
        context = torch.bmm(weights, keys)
        return context, weights


def solution_beam_step(scores, log_probs, finished, eos_id):
    b, k, v = log_probs.shape
    candidates = scores.unsqueeze(2) + log_probs
    only_eos = torch.full_like(candidates, float("-inf"))
    only_eos[:, :, eos_id] = scores
    candidates = torch.where(finished.unsqueeze(2), only_eos, candidates)
    top_scores, flat = candidates.reshape(b, k * v).topk(k, dim=1)
    return top_scores, flat // v, flat % v


def test_references_and_solutions_pass(capsys):
    for exercise_id, answer in [
        ("06.1", AdditiveAttention),
        ("06.1", SolutionAttention),
        ("06.2", beam_step),
        ("06.2", solution_beam_step),
    ]:
        check(exercise_id, answer)
        assert passed(exercise_id), capsys.readouterr().out


def test_the_solution_attention_gives_the_package_decoder_bit_for_bit():
    def decoder(attention):
        torch.manual_seed(0)
        return AttentionDecoder(
            11, region_dim=8, hidden=16, embedding=8, attention_dim=6, attention=attention
        )

    regions, tokens = torch.randn(3, 16, 8), torch.randint(0, 11, (3, 5))
    ours, theirs = decoder(SolutionAttention)(regions, tokens), decoder(AdditiveAttention)(regions, tokens)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_the_solution_beam_step_is_the_package_one():
    gen = torch.Generator().manual_seed(0)
    scores, log_probs = torch.randn(4, 3, generator=gen), torch.randn(4, 3, 10, generator=gen).log_softmax(2)
    finished = torch.rand(4, 3, generator=gen) < 0.5
    ours, theirs = (
        solution_beam_step(scores, log_probs, finished, 3),
        beam_step(scores, log_probs, finished, 3),
    )
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


# --- wrong answers ---------------------------------------------------------------------------------------


class NoTanh(SolutionAttention):
    def forward(self, query, keys, projected_keys):
        energy = self.query(query).unsqueeze(2) + projected_keys.unsqueeze(1)
        weights = torch.softmax(self.score(energy).squeeze(3), dim=2)
        return torch.bmm(weights, keys), weights


class SoftmaxOverWords(SolutionAttention):
    def forward(self, query, keys, projected_keys):
        energy = torch.tanh(self.query(query).unsqueeze(2) + projected_keys.unsqueeze(1))
        weights = torch.softmax(self.score(energy).squeeze(3), dim=1)
        return torch.bmm(weights, keys), weights


class MixesProjections(SolutionAttention):
    def forward(self, query, keys, projected_keys):
        energy = torch.tanh(self.query(query).unsqueeze(2) + projected_keys.unsqueeze(1))
        weights = torch.softmax(self.score(energy).squeeze(3), dim=2)
        return torch.bmm(weights, projected_keys), weights


class ReturnsOnlyContext(SolutionAttention):
    def forward(self, query, keys, projected_keys):
        return super().forward(query, keys, projected_keys)[0]


class RenamedLayers(nn.Module):
    def __init__(self, query_dim, key_dim, attention_dim=64):
        super().__init__()
        self.w_q = nn.Linear(query_dim, attention_dim)

    def forward(self, query, keys, projected_keys):
        raise AssertionError("never reached")


class NotDone(SolutionAttention):
    def forward(self, query, keys, projected_keys):
        raise NotImplementedError()


@pytest.mark.parametrize(
    "answer, message",
    [
        (NoTanh, "forgets the tanh"),
        (SoftmaxOverWords, "softmax over the words"),
        (MixesProjections, "projected keys"),
        (ReturnsOnlyContext, "(context, weights)"),
        (RenamedLayers, "keep the layers of __init__"),
    ],
)
def test_wrong_attention_fails_with_a_useful_message(answer, message, capsys):
    check("06.1", answer)
    out = capsys.readouterr().out
    assert not passed("06.1") and message in out, out


def test_an_undone_attention_reads_not_done(capsys):
    check("06.1", NotDone)
    out = capsys.readouterr().out
    assert not passed("06.1") and "not done yet" in out


def grows_finished_beams(scores, log_probs, finished, eos_id):
    b, k, v = log_probs.shape
    top, flat = (scores.unsqueeze(2) + log_probs).reshape(b, k * v).topk(k, dim=1)
    return top, flat // v, flat % v


def charges_eos_again(scores, log_probs, finished, eos_id):
    b, k, v = log_probs.shape
    candidates = scores.unsqueeze(2) + log_probs
    only_eos = torch.full_like(candidates, float("-inf"))
    only_eos[:, :, eos_id] = candidates[:, :, eos_id]
    candidates = torch.where(finished.unsqueeze(2), only_eos, candidates)
    top, flat = candidates.reshape(b, k * v).topk(k, dim=1)
    return top, flat // v, flat % v


def swaps_beam_and_word(scores, log_probs, finished, eos_id):
    top, parents, words = solution_beam_step(scores, log_probs, finished, eos_id)
    b, k, v = log_probs.shape
    flat = parents * v + words
    return top, flat % k, flat // k


def float_indices(scores, log_probs, finished, eos_id):
    top, parents, words = solution_beam_step(scores, log_probs, finished, eos_id)
    return top, parents.float(), words.float()


def returns_two(scores, log_probs, finished, eos_id):
    return solution_beam_step(scores, log_probs, finished, eos_id)[:2]


@pytest.mark.parametrize(
    "answer, message",
    [
        (grows_finished_beams, "finished beam grow"),
        (charges_eos_again, "charges a finished beam"),
        (swaps_beam_and_word, "wrong way round"),
        (float_indices, "int64"),
        (returns_two, "three (B, K) tensors"),
    ],
)
def test_wrong_beam_steps_fail_with_a_useful_message(answer, message, capsys):
    check("06.2", answer)
    out = capsys.readouterr().out
    assert not passed("06.2") and message in out, out
