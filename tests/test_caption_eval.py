"""BLEU through NLTK and the fact score of lesson 06, on hand-written captions and scenes."""

import pytest
import torch
from nltk.translate.bleu_score import corpus_bleu

from mmlearn.caption_eval import (
    SceneObject,
    bleu,
    caption_words,
    fact_scores,
    parse_caption,
    references_of,
    scene_objects,
)
from mmlearn.data.scene_captions import captioning_scenes

# Two hand-made scenes on a 30 px canvas: ids into COLORS (red 0, green 1, blue 2, ..., gray 5) and SHAPES.
INFO = {
    "colors": torch.tensor([[0, -1], [2, 5]]),
    "shapes": torch.tensor([[2, -1], [0, 1]]),
    "centers": torch.tensor([[[5, 5], [-1, -1]], [[25, 15], [15, 25]]]),  # (x, y)
}


def test_bleu_of_a_reference_against_itself_is_one():
    refs = [["a red square at the top left.", "we see a red square in the upper left corner."]]
    assert bleu(["a red square at the top left."], refs) == {f"bleu{n}": 1.0 for n in range(1, 5)}


def test_bleu_is_nltk_corpus_bleu_on_words_without_punctuation():
    hyps = ["a red circle at the top.", "one shape: a blue square on the left side."]
    refs = [
        ["a red circle at the top.", "we see a red circle near the top."],
        ["a blue square on the left.", "an image of a blue square at the left."],
    ]
    ours = bleu(hyps, refs)
    words = [[caption_words(r) for r in rs] for rs in refs]
    expected = corpus_bleu(words, [caption_words(h) for h in hyps], weights=(0.5, 0.5))
    assert ours["bleu2"] == pytest.approx(expected)
    assert caption_words("one shape: a blue square.") == ["one", "shape", "a", "blue", "square"]
    assert 0 < ours["bleu4"] < ours["bleu1"] <= 1


def test_bleu_errors_name_the_argument():
    with pytest.raises(ValueError, match="references has 1 scenes but hypotheses has 2"):
        bleu(["a", "b"], [["a"]])
    with pytest.raises(TypeError, match=r"references\[0\]"):
        bleu(["a red square."], ["a red square."])
    with pytest.raises(TypeError, match="hypotheses"):
        bleu("a red square.", [["a red square."]])
    with pytest.raises(ValueError, match="max_n"):
        bleu(["a"], [["a"]], max_n=5)


def test_parse_caption_reads_objects_places_synonyms_and_numbers():
    parsed = parse_caption(
        "two shapes: a grey circle in the upper left corner and a red square at the bottom."
    )
    assert parsed.number == 2
    assert parsed.objects == [SceneObject("gray", "circle", (0, 0)), SceneObject("red", "square", (2, 1))]
    assert parse_caption("a photo of a blue triangle.").objects == [SceneObject("blue", "triangle", None)]
    no_shape = parse_caption("an orange at the left.").objects
    assert no_shape == [SceneObject("orange", None, (1, 0))]
    assert parse_caption("a green square somewhere odd.").objects[0].place == (-1, -1)  # not a place phrase
    assert parse_caption("").objects == [] and parse_caption("").number is None
    with pytest.raises(TypeError, match="caption"):
        parse_caption(None)


def test_scene_objects_uses_thirds_of_the_canvas():
    assert scene_objects(INFO, 0, 30) == [SceneObject("red", "triangle", (0, 0))]
    assert scene_objects(INFO, 1, 30) == [
        SceneObject("blue", "square", (1, 2)),
        SceneObject("gray", "circle", (2, 1)),
    ]


def test_fact_scores_on_hand_written_captions():
    captions = [
        "one shape: a red triangle at the top left.",  # all right
        "a blue square on the right and a grey circle at the bottom.",  # all right
    ]
    scores = fact_scores(captions, INFO, 30)
    assert scores.fully_right.tolist() == [True, True] and scores.fact_acc == 1.0
    wrong = [
        "two shapes: a red triangle at the top left.",  # the number is wrong
        "a blue square on the right.",  # the gray circle is not named: recall 1/2
    ]
    scores = fact_scores(wrong, INFO, 30)
    assert scores.fully_right.tolist() == [False, False]
    assert scores.precision.tolist() == [1.0, 1.0] and scores.recall.tolist() == [1.0, 0.5]
    more = [
        "a red circle at the top left.",  # wrong shape
        "a blue square on the right and a blue square on the right.",  # named twice: precision 1/2
    ]
    scores = fact_scores(more, INFO, 30)
    assert scores.precision.tolist() == [0.0, 0.5] and scores.recall.tolist() == [0.0, 0.5]
    assert scores.named_right_shape_colour.tolist() == [0.0, 0.5]
    places = fact_scores(
        ["a red triangle at the bottom left.", "a photo of a blue square and a gray circle."], INFO, 30
    )
    assert places.fully_right.tolist() == [False, False]  # a wrong place, and no places at all


def test_fact_scores_errors_name_the_argument():
    with pytest.raises(ValueError, match="captions has 1 captions but info describes 2 scenes"):
        fact_scores(["a red triangle."], INFO, 30)
    with pytest.raises(ValueError, match="size"):
        fact_scores(["a", "b"], INFO, 0)
    with pytest.raises(TypeError, match="captions"):
        fact_scores("a red triangle.", INFO, 30)
    with pytest.raises(KeyError, match="colors"):
        scene_objects({}, 0, 30)
    with pytest.raises(ValueError, match="i must be a scene index in 0..1"):
        scene_objects(INFO, 2, 30)
    with pytest.raises(ValueError, match="size"):
        scene_objects(INFO, 0, 0)
    with pytest.raises(TypeError, match="hypotheses must be caption strings"):
        bleu([1], [["a"]])


def test_the_references_of_the_data_are_fully_right():
    data = captioning_scenes(40, seed=0, n_test=10, n_combo=5, max_objects=2)
    refs = references_of(data.test)
    for k in range(4):
        assert fact_scores([r[k] for r in refs], data.test.info, 30).fact_acc == 1.0
    assert bleu([r[0] for r in refs], refs)["bleu4"] == 1.0
    with pytest.raises(KeyError, match="captions"):
        references_of(data.test.subset([0]).__class__({"image": torch.zeros(1, 3, 2, 2)}, torch.zeros(1)))
