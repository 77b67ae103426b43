"""The word-level vocabulary: tokenizing, encoding, decoding, saving."""

import json

import pytest
import torch

from mmlearn.data.scene_captions import make_captions
from mmlearn.data.scene_questions import make_questions
from mmlearn.data.scene_render import SHAPES, make_scenes
from mmlearn.data.text import SPECIALS, Vocabulary, detokenize, normalize, tokenize


def test_tokenize_lowercases_and_splits_punctuation():
    assert tokenize("A red circle, at the TOP.") == ["a", "red", "circle", ",", "at", "the", "top", "."]
    assert tokenize("What's left?") == ["what's", "left", "?"]
    assert tokenize("Red Circle", lower=False) == ["Red", "Circle"]
    assert detokenize(["a", "(", "big", ")", "circle", "."]) == "a (big) circle."
    assert normalize("  Is the red   object on the left ? ") == "is the red object on the left?"
    with pytest.raises(TypeError):
        tokenize(3)


def test_build_orders_by_frequency_then_alphabet():
    vocab = Vocabulary.build(["b a a", "c b a", "d"], min_freq=1)
    assert vocab.itos[:4] == list(SPECIALS)
    assert vocab.itos[4:] == ["a", "b", "c", "d"]  # a: 3, b: 2, then ties alphabetical
    assert Vocabulary.build(["d", "c b a", "b a a"]).itos == vocab.itos  # independent of text order
    assert Vocabulary.build(["b a a", "c b a", "d"], min_freq=2).itos[4:] == ["a", "b"]
    assert Vocabulary.build(["b a a", "c b a", "d"], max_size=1).itos[4:] == ["a"]
    assert "a" in vocab and "z" not in vocab and len(vocab) == 8
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)


def test_round_trip_on_course_texts():
    scenes = make_scenes(30, seed=1, n_objects=(1, 3), shapes=SHAPES)
    captions = [c for caps in make_captions(scenes) for c in caps]
    questions = [t for row in make_questions(make_scenes(10)).texts() for t in row]
    vocab = Vocabulary.build(captions + questions)
    for text in captions + questions:
        assert vocab.decode(vocab.encode(text, bos=True, eos=True)) == normalize(text)
        assert vocab.decode(vocab.encode(text)) == text.lower()  # course texts are already normalised
    batch = vocab.encode_batch(questions[:5], bos=True, eos=True)
    assert vocab.decode_batch(batch) == [q.lower() for q in questions[:5]]


def test_encode_pads_truncates_and_marks_unknown_words():
    vocab = Vocabulary.build(["a red circle", "a blue square"])
    ids = vocab.encode("a purple circle", bos=True, eos=True)
    assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id and ids[2] == vocab.unk_id
    batch = vocab.encode_batch(["a red circle", "a blue"], eos=True)
    assert batch.dtype == torch.long and batch.shape == (2, 4)
    assert batch[1].tolist() == [vocab.stoi["a"], vocab.stoi["blue"], vocab.eos_id, vocab.pad_id]
    cut = vocab.encode_batch(["a red circle", "a blue"], length=2)
    assert cut.shape == (2, 2) and cut[0].tolist() == [vocab.stoi["a"], vocab.stoi["red"]]
    assert vocab.decode(vocab.encode("a purple circle")) == "a <unk> circle"


def test_decode_stops_at_eos_and_can_keep_specials():
    vocab = Vocabulary.build(["a red circle"])
    ids = [vocab.bos_id, vocab.stoi["red"], vocab.eos_id, vocab.stoi["circle"], vocab.pad_id]
    assert vocab.decode(ids) == "red"
    assert vocab.decode(torch.tensor(ids)) == "red"
    assert vocab.decode(ids, strip_special=False) == "<bos> red <eos> circle <pad>"


def test_save_and_load(tmp_path):
    vocab = Vocabulary.build(["What is the shape of the red object?"])
    path = tmp_path / "vocab.json"
    vocab.save(path)
    loaded = Vocabulary.load(path)
    assert loaded.itos == vocab.itos and loaded.lower == vocab.lower
    assert torch.equal(loaded.encode_batch(["the red shape"]), vocab.encode_batch(["the red shape"]))


def test_errors(tmp_path):
    vocab = Vocabulary.build(["a red circle"])
    with pytest.raises(ValueError):
        Vocabulary.build([])
    with pytest.raises(TypeError):
        Vocabulary.build("a red circle")
    with pytest.raises(ValueError):
        Vocabulary.build(["a"], min_freq=0)
    with pytest.raises(ValueError):
        Vocabulary.build(["a"], max_size=-1)
    with pytest.raises(TypeError):
        Vocabulary.build(["a", 3])
    with pytest.raises(ValueError):
        vocab.encode_batch([])
    with pytest.raises(TypeError):
        vocab.encode_batch("a red circle")
    with pytest.raises(ValueError):
        vocab.encode_batch(["a"], length=0)
    with pytest.raises(ValueError):
        vocab.decode([0, len(vocab)])
    with pytest.raises(ValueError):
        vocab.decode([-1])
    with pytest.raises(ValueError):
        vocab.decode(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError):
        vocab.decode_batch(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError):
        Vocabulary(["<pad>", "<unk>", "<bos>", "<eos>", "a", "a"])
    with pytest.raises(FileNotFoundError):
        Vocabulary.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError):
        Vocabulary.load(bad)
    bad.write_text(json.dumps({"words": ["a", "b"]}))
    with pytest.raises(ValueError, match="special tokens"):
        Vocabulary.load(bad)
