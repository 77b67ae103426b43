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

``captioning_scenes`` makes lesson 06's captioning sets: training scenes,
new test scenes and scenes of a held-out colour-shape combination, with
four place-naming references each from the shortest frames.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.scene_render import COLORS, SHAPES, Scenes, make_scenes, scene_rng
from mmlearn.data.text import Vocabulary
from mmlearn.validation import check_positive_int, check_seed

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
SHORT_FRAMES = FRAMES[
    :4
]  # the four shortest frames, for a captioning model that trains in seconds (lesson 06)
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


def make_captions(
    scenes: Scenes, n_captions: int = 5, seed: int = 0, *, frames=FRAMES, prompt: bool = True
) -> list[list[str]]:
    """``n_captions`` different reference captions per scene, deterministic per ``seed``.

    The first ``n_captions - 1`` captions use different sentence frames and
    name every object's place; the last one is "a photo of ..." without
    places (with ``n_captions=1`` the only caption names places). Object
    order and synonyms are drawn at random for each caption.

    ``frames`` (a subset of ``FRAMES``, say) are the sentence frames to draw
    from; ``prompt=False`` leaves out the "a photo of ..." caption, so that
    every caption names places (lesson 06 uses ``SHORT_FRAMES`` that way).
    """
    if not isinstance(scenes, Scenes):
        raise TypeError(f"scenes must be a Scenes from make_scenes, got {type(scenes).__name__}")
    n_captions = check_positive_int(n_captions, "n_captions")
    if isinstance(frames, str) or not isinstance(frames, list | tuple) or not frames:
        raise TypeError(f"frames must be a non-empty tuple of sentence frames such as FRAMES, got {frames!r}")
    if not all(isinstance(f, str) and "{objects}" in f for f in frames):
        raise ValueError(
            f"frames must be sentence frames, each a string containing '{{objects}}', got {frames!r}"
        )
    if not isinstance(prompt, bool):
        raise TypeError(f"prompt must be True or False, got {prompt!r}")
    most = len(frames) + prompt
    if n_captions > most:
        raise ValueError(f"n_captions must be at most {most} (one sentence frame each), got {n_captions}")
    rng = scene_rng(seed, 2)
    n, k = scenes.colors.shape
    n_placed = max(n_captions - 1, 1) if prompt else n_captions  # captions that name places
    colors, shapes = scenes.colors.tolist(), scenes.shapes.tolist()
    thirds = (scenes.centers * 3 // scenes.size).tolist()  # (N, K, 2): column third, row third
    counts = scenes.n_objects.tolist()

    # All random choices at once: frames per caption, object order, and synonym picks per object
    # (an integer in 0..11, taken modulo the number of synonyms: 12 divides evenly by 1, 2, 3 and 4).
    chosen = rng.random((n, len(frames))).argsort(axis=1)[:, :n_placed].tolist()  # (N, C - 1)
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
            frame = frames[chosen[i][c]] if with_places else PROMPT_FRAME
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
    return captioned_dataset(scenes, captions, vocab)


def captioned_dataset(
    scenes: Scenes, captions: list[list[str]], vocab: Vocabulary | None
) -> MultimodalDataset:
    """Scenes and their caption strings as the dataset ``scene_captions`` returns (see there)."""
    n, n_captions = len(scenes), len(captions[0])
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


# --- lesson 06: captioning data with held-out scenes and a held-out colour-shape combination ------------


class CaptioningData(NamedTuple):
    """What ``captioning_scenes`` returns: three sets of captioned scenes and their vocabulary.

    ``train``: the scenes a model learns from; none shows ``heldout`` (the
    held-out colour-shape combination). ``test``: new scenes, none identical
    to a training scene and none showing ``heldout``. ``combo``: new scenes
    that each show ``heldout``. ``vocab`` is built from the training captions.
    """

    train: MultimodalDataset
    test: MultimodalDataset
    combo: MultimodalDataset
    vocab: Vocabulary
    heldout: str


def _derived_seed(seed: int, stream: int) -> int:
    """An independent seed for the ``stream``-th set of scenes made from ``seed``."""
    return int(np.random.SeedSequence([seed, 6, stream]).generate_state(1)[0])


def _scene_keys(scenes: Scenes) -> list[tuple]:
    """One hashable key per scene: its objects' colours, shapes and centres (equal keys = equal images)."""
    return [
        (tuple(c), tuple(s), tuple(map(tuple, xy)))
        for c, s, xy in zip(
            scenes.colors.tolist(), scenes.shapes.tolist(), scenes.centers.tolist(), strict=True
        )
    ]


def captioning_scenes(
    n: int,
    *,
    seed: int = 0,
    n_test: int = 300,
    n_combo: int = 200,
    heldout: str = "red triangle",
    max_objects: int = 2,
    size: int = 30,
    half_size: int = 3,
    n_captions: int = 4,
    frames=SHORT_FRAMES,
    margin: int = 2,
) -> CaptioningData:
    """Lesson 06 data: ``n`` training scenes, new test scenes, and scenes of a held-out combination.

    Scenes hold 1 to ``max_objects`` objects (squares, circles, triangles) on
    a ``size`` x ``size`` canvas; every scene has ``n_captions`` reference
    captions, one per sentence frame of ``frames``, all naming every object's
    colour, shape and place (no "a photo of ..." caption). The ``heldout``
    colour-shape combination ("red triangle") never appears in ``train`` or
    ``test``; every ``combo`` scene shows it. A test scene identical to a
    training scene (same objects at the same pixels) is dropped, so every
    test image is new. Every object's centre is at least ``margin`` px
    from the lines between the thirds of the canvas, so that the place
    words are never a judgement call. Each dataset has modalities ``"image"`` (N, 3, size,
    size) uint8 and ``"captions"`` (N, n_captions, L) token ids, and the
    ``info`` of ``scene_captions``.
    """
    n = check_positive_int(n, "n")
    seed = check_seed(seed)
    size = check_positive_int(size, "size")
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise ValueError(f"margin must be a whole number of pixels >= 0, got {margin!r}")
    n_test = check_positive_int(n_test, "n_test")
    n_combo = check_positive_int(n_combo, "n_combo")
    if heldout not in COMBO_NAMES:
        raise ValueError(
            f"heldout must be a colour-shape combination such as 'red triangle', got {heldout!r}"
        )
    combo_id = COMBO_NAMES.index(heldout)
    options = dict(n_objects=(1, check_positive_int(max_objects, "max_objects")), shapes=SHAPES, size=size,
                   half_size=half_size)  # fmt: skip

    def draw(count: int, stream: int, keep) -> Scenes:
        """The first ``count`` scenes of a stream for which ``keep(scenes) -> (N,) bool`` holds."""
        pool = 4 * count
        while True:
            scenes = make_scenes(pool, seed=_derived_seed(seed, stream), **options)
            index = torch.nonzero(keep(scenes)).flatten()
            if len(index) >= count:
                return scenes.subset(index[:count])
            pool *= 2

    def clear(scenes: Scenes) -> torch.Tensor:
        """(N,) bool: every object's centre is at least ``margin`` px from the lines between thirds."""
        cut = scenes.centers * 3 % size  # (N, K, 2): 3 x the distance past the last line, in thirds of a px
        off = torch.minimum(cut, size - cut)  # 3 x the distance to the nearest line
        return ((off >= 3 * margin) | (scenes.centers < 0)).all(dim=2).all(dim=1)

    def shows_heldout(scenes: Scenes) -> torch.Tensor:
        return ((scenes.colors * len(SHAPES) + scenes.shapes == combo_id) & (scenes.colors >= 0)).any(dim=1)

    train = draw(n, 0, lambda s: clear(s) & ~shows_heldout(s))
    seen = set(_scene_keys(train))
    test = draw(
        n_test,
        1,
        lambda s: clear(s) & ~shows_heldout(s) & torch.tensor([k not in seen for k in _scene_keys(s)]),
    )
    combo = draw(n_combo, 2, lambda s: clear(s) & shows_heldout(s))

    def captions(scenes: Scenes, stream: int) -> list[list[str]]:
        return make_captions(scenes, n_captions, _derived_seed(seed, stream), frames=frames, prompt=False)

    texts = {name: captions(scenes, 3 + i) for i, (name, scenes) in enumerate(
        (("train", train), ("test", test), ("combo", combo)))}  # fmt: skip
    vocab = Vocabulary.build(c for per_scene in texts["train"] for c in per_scene)
    sets = {name: captioned_dataset(scenes, texts[name], vocab)
            for name, scenes in (("train", train), ("test", test), ("combo", combo))}  # fmt: skip
    return CaptioningData(sets["train"], sets["test"], sets["combo"], vocab, heldout)
