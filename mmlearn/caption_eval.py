"""Scoring generated captions two ways: BLEU against the references, and whether the sentence is true.

Taught in lesson 06 (section 5, "Two scores: BLEU and the fact score").

BLEU (Papineni et al., 2002) counts how many of a caption's n-grams
(n = 1..4) occur in the scene's reference captions, clipped by their count
in the reference that has the most of them, over the whole test corpus,
times a brevity penalty for corpora of short captions. ``bleu`` uses NLTK's
``corpus_bleu`` with every reference caption of each scene; BLEU-n is the
geometric mean of the 1- to n-gram precisions (weights 1/n each), without
smoothing. Words are lower-cased and punctuation is left out.

BLEU rewards sentences that *sound* like the references. Whether a caption
is *true* is another question, which templated scenes let us answer exactly:
``parse_caption`` reads the objects a caption names, each a (colour, shape,
place) triple, and ``fact_scores`` compares them with the scene's objects:

* a named object is right when the scene has an object of that colour and
  shape whose centre is in the named third of the canvas (row and column);
  each scene object can make one named object right (colours are unique in
  a scene, so the pairing is by colour);
* precision = right named objects / named objects; recall = scene objects
  named right / scene objects;
* a caption is *fully right* when its precision and recall are both 1 and
  the number it states, if any ("two shapes: ..."), is the scene's number
  of objects. ``caption_fact_acc`` is the share of captions that are fully
  right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from nltk.translate.bleu_score import corpus_bleu

from mmlearn.data.scene_captions import COLOR_WORDS, NUMBER_WORDS, PLACES
from mmlearn.data.scene_render import COLORS, SHAPES
from mmlearn.data.text import tokenize

__all__ = [
    "bleu",
    "caption_words",
    "SceneObject",
    "parse_caption",
    "scene_objects",
    "fact_scores",
    "references_of",
]


def caption_words(text: str) -> list[str]:
    """The words BLEU compares: lower-cased tokens without punctuation."""
    return [w for w in tokenize(text) if w[0].isalnum()]


def bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]], max_n: int = 4) -> dict[str, float]:
    """Corpus BLEU-1 .. BLEU-``max_n`` of ``hypotheses`` (one caption per scene) against every reference.

    ``references[i]`` is the list of reference captions of scene i. Returns
    ``{"bleu1": ..., "bleu4": ...}``, each in [0, 1].
    """
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence) or not hypotheses:
        raise TypeError(f"hypotheses must be a non-empty list of captions, got {hypotheses!r}")
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise TypeError(f"references must be a list of lists of captions, got {references!r}")
    if len(references) != len(hypotheses):
        raise ValueError(
            f"references has {len(references)} scenes but hypotheses has {len(hypotheses)} captions: "
            "give every scene's list of references"
        )
    if not all(isinstance(h, str) for h in hypotheses):
        raise TypeError(f"hypotheses must be caption strings, got {hypotheses!r}")
    for i, refs in enumerate(references):
        if isinstance(refs, str) or not isinstance(refs, Sequence) or not refs:
            raise TypeError(f"references[{i}] must be a non-empty list of captions, got {refs!r}")
        if not all(isinstance(r, str) for r in refs):
            raise TypeError(f"references[{i}] must hold caption strings, got {refs!r}")
    if isinstance(max_n, bool) or not isinstance(max_n, int) or not 1 <= max_n <= 4:
        raise ValueError(f"max_n must be 1, 2, 3 or 4, got {max_n!r}")
    hyp = [caption_words(h) for h in hypotheses]
    refs = [[caption_words(r) for r in rs] for rs in references]
    weights = [tuple([1.0 / n] * n) for n in range(1, max_n + 1)]
    scores = corpus_bleu(refs, hyp, weights=weights)
    return {f"bleu{n}": float(s) for n, s in zip(range(1, max_n + 1), scores, strict=True)}


class SceneObject(NamedTuple):
    """An object as a caption names it: colour, shape and place ((row, col) thirds, or None if unnamed)."""

    color: str
    shape: str | None
    place: tuple[int, int] | None


_COLOR = {word: color for color in COLORS for word in COLOR_WORDS.get(color, (color,))}  # "grey" -> "gray"
_PLACE = {
    tuple(tokenize(phrase)): (row, col) for row in range(3) for col in range(3) for phrase in PLACES[row][col]
}  # ("at", "the", "top", "left") -> (0, 0)
_NUMBER = {word: i + 1 for i, word in enumerate(NUMBER_WORDS)}
_UNKNOWN_PLACE = (-1, -1)  # words after an object that are not a place phrase: never right


class ParsedCaption(NamedTuple):
    """What ``parse_caption`` reads: the objects named, in order, and the number stated (or None)."""

    objects: list[SceneObject]
    number: int | None


def parse_caption(caption: str) -> ParsedCaption:
    """Read the objects a caption names, with the vocabulary of ``mmlearn.data.scene_captions``.

    An object starts at a colour word and takes the shape word right after
    it (None if there is none); the words up to the next "a"/"an", "and",
    "," or "." are its place, looked up among the place phrases (None when
    there are no such words, (-1, -1) when they are not a place phrase).
    A number word followed by "shape" or "shapes" is the number stated.
    """
    if not isinstance(caption, str):
        raise TypeError(f"caption must be a str, got {type(caption).__name__}")
    words = tokenize(caption)
    objects, number = [], None
    i = 0
    while i < len(words):
        word = words[i]
        if word in _NUMBER and i + 1 < len(words) and words[i + 1] in ("shape", "shapes"):
            number = _NUMBER[word]
        if word not in _COLOR:
            i += 1
            continue
        shape = words[i + 1] if i + 1 < len(words) and words[i + 1] in SHAPES else None
        j = i + 1 + (shape is not None)
        place_words = []
        while j < len(words) and words[j] not in ("a", "an", "and", ",", ".") and words[j] not in _COLOR:
            place_words.append(words[j])
            j += 1
        place = _PLACE.get(tuple(place_words), _UNKNOWN_PLACE) if place_words else None
        objects.append(SceneObject(_COLOR[word], shape, place))
        i = j
    return ParsedCaption(objects, number)


def scene_objects(info, i: int, size: int) -> list[SceneObject]:
    """The objects of scene ``i`` of a ``scene_captions``-style dataset (its ``info``), canvas ``size`` px."""
    for key in ("colors", "shapes", "centers"):
        if key not in info:
            raise KeyError(
                f"info has no '{key}': pass the info of a scene_captions or captioning_scenes dataset"
            )
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"size must be the canvas side in pixels (a positive int), got {size!r}")
    n = len(info["colors"])
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n:
        raise ValueError(f"i must be a scene index in 0..{n - 1}, got {i!r}")
    objects = []
    for c, s, (x, y) in zip(
        info["colors"][i].tolist(), info["shapes"][i].tolist(), info["centers"][i].tolist(), strict=True
    ):
        if c >= 0:
            objects.append(SceneObject(COLORS[c], SHAPES[s], (y * 3 // size, x * 3 // size)))
    return objects


class FactScores(NamedTuple):
    """Per-caption fact scores (arrays of length N) and their means."""

    precision: np.ndarray
    recall: np.ndarray
    fully_right: np.ndarray  # bool
    named_right_shape_colour: np.ndarray  # share of scene objects named with the right colour and shape

    @property
    def fact_acc(self) -> float:
        """The share of captions that are fully right (``caption_fact_acc`` in lesson 06)."""
        return float(self.fully_right.mean())


def fact_scores(captions: Sequence[str], info, size: int) -> FactScores:
    """Fact precision, recall and full correctness of caption i about scene i (see the module docstring)."""
    if isinstance(captions, str) or not isinstance(captions, Sequence) or not captions:
        raise TypeError(f"captions must be a non-empty list of captions, got {captions!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"size must be the canvas side in pixels (a positive int), got {size!r}")
    n_scenes = len(info["colors"]) if "colors" in info else 0
    if n_scenes != len(captions):
        raise ValueError(f"captions has {len(captions)} captions but info describes {n_scenes} scenes")
    precision, recall, full, what = [], [], [], []
    for i, caption in enumerate(captions):
        parsed = parse_caption(caption)
        truth = {obj.color: obj for obj in scene_objects(info, i, size)}  # one object per colour
        used, right = set(), 0
        for obj in parsed.objects:
            if obj.color not in used and truth.get(obj.color) == obj:
                right += 1
            used.add(obj.color)  # a colour named twice: the second naming is not right
        kinds = {(o.color, o.shape) for o in parsed.objects}
        precision.append(right / len(parsed.objects) if parsed.objects else 0.0)
        recall.append(right / len(truth))
        what.append(sum((o.color, o.shape) in kinds for o in truth.values()) / len(truth))
        number_ok = parsed.number is None or parsed.number == len(truth)
        full.append(precision[-1] == 1.0 and recall[-1] == 1.0 and number_ok)
    return FactScores(np.array(precision), np.array(recall), np.array(full, dtype=bool), np.array(what))


def references_of(dataset) -> list[list[str]]:
    """The reference caption strings of every scene of a ``scene_captions``-style dataset."""
    if "captions" not in getattr(dataset, "info", {}):
        raise KeyError("dataset.info has no 'captions': pass a scene_captions or captioning_scenes dataset")
    return [list(c) for c in dataset.info["captions"]]
