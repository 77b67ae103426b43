"""Greedy decoding and beam search (lesson 06), on hand-built models whose best sentence is known."""

import math

import pytest
import torch

from mmlearn.captioning import AttentionDecoder, Captioner, RegionEncoder
from mmlearn.data.text import Vocabulary
from mmlearn.decoding import beam_search, beam_step, generate_captions, greedy_decode

PAD, UNK, BOS, EOS, A, B = range(6)


class MarkovModel(torch.nn.Module):
    """The next word depends only on the last one, through a fixed table of probabilities.

    From <bos>: "a" 0.6, "b" 0.4. After "a": <eos> 0.34, "a" 0.33, "b" 0.33. After "b": <eos> 0.9, "a" and
    "b" 0.05 each. Greedy decoding takes "a" (0.6) and then <eos>: 0.6 x 0.34 = 0.204. The best sentence is
    "b <eos>": 0.4 x 0.9 = 0.36, which a second beam keeps. Greedy is myopic here.
    """

    def __init__(self):
        super().__init__()
        table = torch.full((6, 6), 1e-9)
        table[BOS, A], table[BOS, B] = 0.6, 0.4
        table[A, EOS], table[A, A], table[A, B] = 0.34, 0.33, 0.33
        table[B, EOS], table[B, A], table[B, B] = 0.9, 0.05, 0.05
        table[EOS, EOS] = 1.0
        table[PAD, EOS] = table[UNK, EOS] = 1.0
        self.register_buffer("logits", table.log())
        self.dummy = torch.nn.Parameter(torch.zeros(1))  # so that generate_captions finds a device

    def start(self, images):
        return {"hidden": torch.zeros(images.shape[0], 1)}

    def step(self, tokens, state):
        return self.logits[tokens], state, torch.ones(tokens.shape[0], 1)


def vocab():
    return Vocabulary(["<pad>", "<unk>", "<bos>", "<eos>", "a", "b"])


def test_greedy_is_myopic_and_beam_search_finds_the_better_sentence():
    model, x = MarkovModel(), torch.zeros(2, 1)
    greedy = greedy_decode(model, x, bos_id=BOS, eos_id=EOS)
    assert greedy.tokens.tolist() == [[A, EOS]] * 2
    assert torch.allclose(greedy.log_prob, torch.full((2,), math.log(0.6 * 0.34)))
    beam = beam_search(model, x, width=2, bos_id=BOS, eos_id=EOS)
    assert beam.tokens.tolist() == [[B, EOS]] * 2
    assert torch.allclose(beam.log_prob, torch.full((2,), math.log(0.4 * 0.9)))
    assert beam.lengths.tolist() == [2, 2]


def test_beam_width_one_is_greedy_decoding():
    torch.manual_seed(0)
    model = Captioner(RegionEncoder(30, dim=8, channels=(4, 8, 8)), AttentionDecoder(9, 8, hidden=16)).eval()
    x = torch.randint(0, 256, (5, 3, 30, 30), dtype=torch.uint8)
    greedy = greedy_decode(model, x, bos_id=2, eos_id=3, max_len=12)
    beam = beam_search(model, x, width=1, bos_id=2, eos_id=3, max_len=12)
    assert torch.equal(greedy.tokens, beam.tokens)
    assert torch.allclose(greedy.log_prob, beam.log_prob, atol=1e-5)
    assert torch.equal(greedy.lengths, beam.lengths)
    assert greedy.weights.shape == (5, greedy.tokens.shape[1], 16)


def test_beam_step_keeps_finished_beams_and_reads_the_flat_index():
    scores = torch.tensor([[-0.1, -2.0]])
    log_probs = torch.log(
        torch.tensor([[[0.1, 0.1, 0.1, 0.1, 0.5, 0.1], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]]]) + 1e-12
    )
    finished = torch.tensor([[True, False]])
    top, parents, words = beam_step(scores, log_probs, finished, EOS)
    assert parents.tolist() == [[0, 1]] and words.tolist() == [[EOS, B]]
    assert torch.allclose(top, torch.tensor([[-0.1, -2.0]]), atol=1e-6)  # finished: unchanged score
    with pytest.raises(ValueError, match="scores and finished must be"):
        beam_step(scores[:, :1], log_probs, finished, EOS)
    with pytest.raises(TypeError, match="finished must be a bool tensor"):
        beam_step(scores, log_probs, finished.float(), EOS)
    with pytest.raises(ValueError, match="scores contains NaN"):
        beam_step(torch.full_like(scores, float("nan")), log_probs, finished, EOS)
    with pytest.raises(TypeError, match="log_probs must hold floats"):
        beam_step(scores, log_probs.long(), finished, EOS)
    with pytest.raises(ValueError, match="eos_id must be a word id in 0..5"):
        beam_step(scores, log_probs, finished, 6)


def test_length_normalisation_changes_which_finished_beam_wins():
    """A short sentence at log-prob -1.0 against a long one at -1.2: raw picks short, per-word picks long."""

    class TwoEndings(MarkovModel):
        def __init__(self):
            super().__init__()
            table = torch.full((6, 6), 1e-9)
            table[BOS, A], table[BOS, B] = math.exp(-0.5), 1 - math.exp(-0.5)
            table[A, EOS], table[A, A] = math.exp(-0.5), 1 - math.exp(-0.5)  # "a <eos>": -1.0 in 2 words
            table[B, A] = 1.0
            table[EOS, EOS] = table[PAD, EOS] = table[UNK, EOS] = 1.0
            self.logits = table.log()

    model, x = TwoEndings(), torch.zeros(1, 1)
    raw = beam_search(model, x, width=3, bos_id=BOS, eos_id=EOS, length_penalty=0.0, max_len=6)
    per_word = beam_search(model, x, width=3, bos_id=BOS, eos_id=EOS, length_penalty=1.0, max_len=6)
    assert raw.lengths.item() <= per_word.lengths.item()
    assert (raw.log_prob / raw.lengths).item() <= (per_word.log_prob / per_word.lengths).item() + 1e-6


def test_generate_captions_decodes_in_batches_with_the_vocabulary():
    model = MarkovModel()
    captions, out = generate_captions(model, torch.zeros(5, 1), vocab(), width=1, batch_size=2)
    assert captions == ["a"] * 5 and out.tokens.shape == (5, 2) and out.weights.shape == (5, 2, 1)
    captions, out = generate_captions(model, torch.zeros(3, 1), vocab(), width=3)
    assert captions == ["b"] * 3 and out.weights is None
    assert model.training  # the mode is given back


def test_max_len_stops_unfinished_sentences():
    class NeverEnds(MarkovModel):
        def step(self, tokens, state):
            logits = torch.full((tokens.shape[0], 6), -10.0)
            logits[:, A] = 0.0
            return logits, state, torch.ones(tokens.shape[0], 1)

    out = greedy_decode(NeverEnds(), torch.zeros(2, 1), bos_id=BOS, eos_id=EOS, max_len=4)
    assert out.tokens.shape == (2, 4) and out.lengths.tolist() == [4, 4]
    out = beam_search(NeverEnds(), torch.zeros(2, 1), width=2, bos_id=BOS, eos_id=EOS, max_len=4)
    assert out.tokens.shape == (2, 4)


def test_decoding_errors_name_the_argument():
    model, x = MarkovModel(), torch.zeros(2, 1)
    with pytest.raises(ValueError, match="width"):
        beam_search(model, x, width=0, bos_id=BOS, eos_id=EOS)
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(model, x, bos_id=BOS, eos_id=EOS, max_len=0)
    with pytest.raises(ValueError, match="eos_id"):
        greedy_decode(model, x, bos_id=BOS, eos_id=-1)
    with pytest.raises(ValueError, match="length_penalty"):
        beam_search(model, x, width=2, bos_id=BOS, eos_id=EOS, length_penalty=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        generate_captions(model, x, vocab(), batch_size=0)
