"""Captions of Sort-of-CLEVR scenes, for captioning (lesson 06) and image-text retrieval (lesson 04).

Real captioning sets such as Flickr8k give every image five captions written
by different people. Here each scene gets several reference captions built
from templates: the sentence frame, the words for a place ("top left",
"upper left corner"), "gray" or "grey", and the order of the objects vary,
while the facts do not. Every caption names the colour and the shape of every
object ("a red triangle").

All captions but the last also say where each object is, by thirds of the
canvas: top / middle / bottom and left / centre / right. Naming places makes
the captions of two different scenes rarely coincide, which retrieval needs.
The last caption only lists the objects, "a photo of a red triangle and a
blue circle.", the very form of a zero-shot prompt ("a photo of a red
triangle."), so a model trained on these captions has seen such prompts.
"""

from __future__ import annotations

import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.scene_render import COLORS, SHAPES, Scenes, make_scenes, scene_rng
from mmlearn.data.text import Vocabulary
from mmlearn.validation import check_positive_int

# Colour-shape classes for zero-shot classification: class id = color id * len(SHAPES) + shape id.
COMBO_NAMES = tuple(f"{color} {shape}" for color in COLORS for shape in SHAPES)

COLOR_WORDS = {"gray": ("gray", "grey")}  # synonyms; other colours have one word
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six")
# Sentence frames of the captions that name places; {objects} is the list of object
# phrases, {n} the number word, {s} a plural "s".
FRAMES = (
    "{objects}.",
    "an image of {objects}.",
    "we see {objects}.",
    "{n} shape{s}: {objects}.",
    "a picture showing {objects}.",
    "{objects} on a {background} background.",
)
PROMPT_FRAME = "a photo of {objects}."  # the last caption: objects without places, like a zero-shot prompt
MAX_CAPTIONS = len(FRAMES) + 1


def place_phrases(row: int, col: int) -> tuple[str, ...]:
    """Ways to say where an object is, given its third of the canvas (0, 1, 2 from top / left)."""
    for name, value in (("row", row), ("col", col)):
        if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1, 2):
            raise ValueError(f"{name} must be a third of the canvas: 0, 1 or 2, got {value!r}")
    vertical = {0: ("top", "upper"), 2: ("bottom", "lower")}
    horizontal = {0: "left", 2: "right"}
    if row != 1 and col != 1:  # a corner
        v, h = vertical[row], horizontal[col]
        return (f"at the {v[0]} {h}", f"in the {v[0]} {h}", f"in the {v[1]} {h} corner", f"at the {v[1]} {h}")
    if row != 1:  # top or bottom edge
        v = vertical[row][0]
        return (f"at the {v}", f"near the {v}", f"at the {v} centre")
    if col != 1:  # left or right edge
        h = horizontal[col]
        return (f"on the {h}", f"at the {h}", f"on the {h} side")
    return ("in the centre", "in the middle", "at the centre")


PLACES = [[place_phrases(row, col) for col in range(3)] for row in range(3)]


def article(word: str) -> str:
    """ "a" or "an" before ``word``."""
    if not isinstance(word, str) or not word:
        raise TypeError(f"word must be a non-empty str, got {word!r}")
    return "an" if word[0] in "aeiou" else "a"


def join_list(phrases: list[str]) -> str:
    """ "a, b and c" """
    if isinstance(phrases, str) or not isinstance(phrases, list | tuple) or not phrases:
        raise TypeError(f"phrases must be a non-empty list of strings, got {phrases!r}")
    if not all(isinstance(p, str) for p in phrases):
        raise TypeError(f"phrases must be strings, got {phrases!r}")
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def make_captions(scenes: Scenes, n_captions: int = 5, seed: int = 0) -> list[list[str]]:
    """``n_captions`` different reference captions per scene, deterministic per ``seed``.

    The first ``n_captions - 1`` captions use different sentence frames and
    name every object's place; the last one is "a photo of ..." without
    places (with ``n_captions=1`` the only caption names places). Object
    order and synonyms are drawn at random for each caption.
    """
    if not isinstance(scenes, Scenes):
        raise TypeError(f"scenes must be a Scenes from make_scenes, got {type(scenes).__name__}")
    n_captions = check_positive_int(n_captions, "n_captions")
    if n_captions > MAX_CAPTIONS:
        raise ValueError(
            f"n_captions must be at most {MAX_CAPTIONS} (one sentence frame each), got {n_captions}"
        )
    rng = scene_rng(seed, 2)
    n, k = scenes.colors.shape
    n_placed = max(n_captions - 1, 1)  # captions that name places
    colors, shapes = scenes.colors.tolist(), scenes.shapes.tolist()
    thirds = (scenes.centers * 3 // scenes.size).tolist()  # (N, K, 2): column third, row third
    counts = scenes.n_objects.tolist()

    # All random choices at once: frames per caption, object order, and synonym picks per object
    # (an integer in 0..11, taken modulo the number of synonyms: 12 divides evenly by 1, 2, 3 and 4).
    frames = rng.random((n, len(FRAMES))).argsort(axis=1)[:, :n_placed].tolist()  # (N, C - 1)
    orders = rng.random((n, n_captions, k)).argsort(axis=2).tolist()  # (N, C, K)
    picks = rng.integers(0, 12, size=(n, n_captions, k, 2)).tolist()  # (N, C, K, 2): place, colour word

    captions = []
    for i in range(n):
        scene_captions = []
        for c in range(n_captions):
            with_places = c < n_placed
            phrases = []
            for j in orders[i][c]:
                if j >= counts[i]:  # objects are the first counts[i] slots
                    continue
                color = COLORS[colors[i][j]]
                words = COLOR_WORDS.get(color, (color,))
                color_word = words[picks[i][c][j][1] % len(words)]
                phrase = f"{article(color_word)} {color_word} {SHAPES[shapes[i][j]]}"
                if with_places:
                    places = PLACES[thirds[i][j][1]][thirds[i][j][0]]
                    phrase += " " + places[picks[i][c][j][0] % len(places)]
                phrases.append(phrase)
            frame = FRAMES[frames[i][c]] if with_places else PROMPT_FRAME
            scene_captions.append(
                frame.format(
                    objects=join_list(phrases),
                    n=NUMBER_WORDS[counts[i] - 1],
                    s="" if counts[i] == 1 else "s",
                    background=scenes.background,
                )
            )
        captions.append(scene_captions)
    return captions


def combo_prompts(template: str = "a photo of {a} {name}.") -> list[str]:
    """One prompt per colour-shape class, in ``COMBO_NAMES`` order, for zero-shot classification.

    ``{name}`` becomes e.g. "orange circle" and ``{a}`` its article ("an").
    """
    if not isinstance(template, str) or "{name}" not in template:
        raise ValueError(f"template must be a string containing '{{name}}', got {template!r}")
    return [template.format(a=article(name), name=name) for name in COMBO_NAMES]


def scene_captions(
    n: int,
    *,
    seed: int = 0,
    min_objects: int = 1,
    max_objects: int = 3,
    shapes=SHAPES,
    n_captions: int = 5,
    vocab: Vocabulary | None = None,
    **scene_options,
) -> MultimodalDataset:
    """Small scenes (1-3 objects, squares, circles and triangles) with reference captions.

    Returns a dataset with modality ``"image"`` (N, 3, 75, 75) uint8 and
    labels = the scene index (image i goes with captions i). ``info`` holds
    ``"captions"`` (a list of ``n_captions`` strings per scene, the last one
    without places; see ``make_captions``), the scene
    metadata ``"colors"``, ``"shapes"``, ``"centers"`` (padded with -1),
    ``"n_objects"`` and ``"combos"`` (N, K): each object's colour-shape class,
    an id into ``COMBO_NAMES`` (-1 for no object), for zero-shot classification.

    With a ``vocab``, the captions also come as a token modality for a model
    to consume: ``"captions"`` (N, n_captions, L) int64 ids framed by
    ``<bos>`` and ``<eos>`` and right-padded with ``<pad>`` (a captioning
    decoder's targets, lesson 06).
    """
    if vocab is not None and not isinstance(vocab, Vocabulary):
        raise TypeError(f"vocab must be a mmlearn.data.Vocabulary or None, got {type(vocab).__name__}")
    for name, value in (("min_objects", min_objects), ("max_objects", max_objects)):
        check_positive_int(value, name)  # here, so that the message names it (make_scenes says n_objects)
    scenes = make_scenes(n, seed=seed, n_objects=(min_objects, max_objects), shapes=shapes, **scene_options)
    captions = make_captions(scenes, n_captions, seed)
    combos = torch.where(scenes.colors >= 0, scenes.colors * len(SHAPES) + scenes.shapes, -1)
    modalities = {"image": scenes.images}
    if vocab is not None:
        flat = [c for per_scene in captions for c in per_scene]  # n * n_captions sentences
        ids = vocab.encode_batch(flat, bos=True, eos=True)  # (n * n_captions, L)
        modalities["captions"] = ids.reshape(n, n_captions, ids.shape[1])  # (N, n_captions, L)
    return MultimodalDataset(
        modalities,
        torch.arange(n),
        {
            "captions": captions,
            "colors": scenes.colors,
            "shapes": scenes.shapes,
            "centers": scenes.centers,
            "n_objects": scenes.n_objects,
            "combos": combos,
        },
    )
