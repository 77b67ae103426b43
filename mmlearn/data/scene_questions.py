"""Sort-of-CLEVR questions and answers: the visual question answering task of lesson 07.

Each scene gets questions about one object, named by its colour. Three
question types look at that object alone (non-relational) and three compare
it with the others (relational), following Santoro et al. (2017, Supp. D):

====  ==========  ==============================================================
id    name        question (answer)
====  ==========  ==============================================================
0     shape       What is the shape of the red object? (square / circle)
1     horizontal  Is the red object on the left or the right? (left / right)
2     vertical    Is the red object at the top or the bottom? (top / bottom)
3     closest     What is the shape of the object closest to the red object?
4     furthest    What is the shape of the object furthest from the red object?
5     count       How many objects have the same shape as the red object? (1-6)
====  ==========  ==============================================================

Rules, exactly as the answers are computed:

- left means the centre's x < size / 2, top means its y < size / 2.
- closest / furthest use the Euclidean distance between object centres; a
  tie goes to the object that comes first in colour order.
- count includes the object itself, so the answer is 1 to 6.

Every question is given three ways: the paper's 11-bit vector, an English
sentence, and the ids (colour, question type) it was built from.

Bit-vector layout (11 bits)::

    bits 0-5   one-hot colour, in COLORS order (red, green, blue, orange, yellow, gray)
    bit  6     non-relational question
    bit  7     relational question
    bits 8-10  one-hot subtype: qtype % 3 (shape/closest, horizontal/furthest, vertical/count)

Answers are ids into ``ANSWERS``; shape answers share their id with the
shape id in ``SHAPES``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.scene_render import COLORS, SHAPES, Scenes, make_scenes, scene_rng

QUESTION_TYPES = ("shape", "horizontal", "vertical", "closest", "furthest", "count")
RELATIONAL = (False, False, False, True, True, True)  # per question type
QUESTION_TEMPLATES = (
    "What is the shape of the {color} object?",
    "Is the {color} object on the left or the right?",
    "Is the {color} object at the top or the bottom?",
    "What is the shape of the object closest to the {color} object?",
    "What is the shape of the object furthest from the {color} object?",
    "How many objects have the same shape as the {color} object?",
)
# Fixed answer vocabulary; ids 0-2 are the shape ids of SHAPES.
ANSWERS = SHAPES + ("left", "right", "top", "bottom", "1", "2", "3", "4", "5", "6")
LEFT, RIGHT, TOP, BOTTOM, ONE = (ANSWERS.index(a) for a in ("left", "right", "top", "bottom", "1"))
N_BITS = 11
NON_RELATIONAL_BIT, RELATIONAL_BIT, SUBTYPE_BIT = 6, 7, 8


@dataclass(frozen=True)
class Questions:
    """Q questions for each of N scenes; every array is (N, Q) unless noted."""

    bits: torch.Tensor  # (N, Q, 11) uint8, the paper's encoding
    qtype: torch.Tensor  # (N, Q) int64 ids into QUESTION_TYPES
    color: torch.Tensor  # (N, Q) int64 colour id the question is about
    answer: torch.Tensor  # (N, Q) int64 ids into ANSWERS

    def __len__(self) -> int:
        return self.qtype.shape[0]

    def texts(self) -> list[list[str]]:
        """The questions as English sentences, a list of Q strings per scene."""
        table = np.array([t.format(color=c) for t in QUESTION_TEMPLATES for c in COLORS], dtype=object)
        return table[(self.qtype * len(COLORS) + self.color).numpy()].tolist()

    def answer_texts(self) -> list[list[str]]:
        """The answers as words ("square", "left", "3", ...), a list of Q strings per scene."""
        return np.array(ANSWERS, dtype=object)[self.answer.numpy()].tolist()


def question_bits(qtype: np.ndarray, color: np.ndarray) -> np.ndarray:
    """Encode question types and colours (any equal shapes) as 11-bit vectors, shape (..., 11) uint8."""
    bits = np.zeros((*qtype.shape, N_BITS), dtype=np.uint8)
    relational = np.asarray(RELATIONAL)[qtype]
    np.put_along_axis(bits, color[..., None], 1, axis=-1)
    np.put_along_axis(bits, np.where(relational, RELATIONAL_BIT, NON_RELATIONAL_BIT)[..., None], 1, axis=-1)
    np.put_along_axis(bits, (SUBTYPE_BIT + qtype % 3)[..., None], 1, axis=-1)
    return bits


def answer_questions(scenes: Scenes, qtype: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """Answer ids for questions of type ``qtype`` about object ``slot`` of each scene, both (N, Q)."""
    shapes = scenes.shapes.numpy()  # (N, K)
    centers = scenes.centers.numpy().astype(np.float64)  # (N, K, 2)
    present = scenes.colors.numpy() >= 0  # (N, K)
    rows = np.arange(len(scenes))[:, None]  # (N, 1)
    half = scenes.size / 2

    # Squared distances between every pair of objects of a scene: (N, K, K).
    dist = ((centers[:, :, None, :] - centers[:, None, :, :]) ** 2).sum(axis=-1)
    # others[n, i, j]: object j exists and is not object i, shape (N, K, K).
    others = present[:, None, :] & ~np.eye(present.shape[1], dtype=bool)[None]
    closest = np.where(others, dist, np.inf).argmin(axis=2)  # (N, K); argmin keeps the first of a tie
    furthest = np.where(others, dist, -np.inf).argmax(axis=2)
    same_shape = ((shapes[:, :, None] == shapes[:, None, :]) & present[:, None, :]).sum(axis=2)  # (N, K)

    x, y = centers[rows, slot, 0], centers[rows, slot, 1]  # (N, Q)
    candidates = np.stack(
        [
            shapes[rows, slot],
            np.where(x < half, LEFT, RIGHT),
            np.where(y < half, TOP, BOTTOM),
            shapes[rows, closest[rows, slot]],
            shapes[rows, furthest[rows, slot]],
            ONE + same_shape[rows, slot] - 1,
        ]
    )  # (6, N, Q): the answer each question type would give
    return np.take_along_axis(candidates, qtype[None], axis=0)[0]


def make_questions(
    scenes: Scenes, seed: int = 0, *, n_non_relational: int = 10, n_relational: int = 10
) -> Questions:
    """Draw questions for every scene: first the non-relational ones, then the relational ones.

    Each question picks an object of the scene uniformly at random and a
    question type uniformly within its group, as in the paper (10 + 10 per
    image by default). Relational questions need scenes of 2 or more objects.
    """
    if not isinstance(scenes, Scenes):
        raise TypeError(f"scenes must be a Scenes from make_scenes, got {type(scenes).__name__}")
    for name, value in (("n_non_relational", n_non_relational), ("n_relational", n_relational)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if n_non_relational + n_relational == 0:
        raise ValueError("ask at least one question: n_non_relational + n_relational is 0")
    counts = scenes.n_objects.numpy()
    if n_relational and counts.min() < 2:
        raise ValueError("relational questions need at least 2 objects in every scene")

    rng = scene_rng(seed, 1)
    n, q = len(scenes), n_non_relational + n_relational
    qtype = np.concatenate(
        [rng.integers(0, 3, size=(n, n_non_relational)), rng.integers(3, 6, size=(n, n_relational))], axis=1
    )  # (N, Q)
    slot = (rng.random((n, q)) * counts[:, None]).astype(np.int64)  # (N, Q) which object is asked about
    color = np.take_along_axis(scenes.colors.numpy(), slot, axis=1)
    answer = answer_questions(scenes, qtype, slot)
    return Questions(
        torch.from_numpy(question_bits(qtype, color)),
        torch.from_numpy(qtype),
        torch.from_numpy(color),
        torch.from_numpy(answer),
    )


def sort_of_clevr(n: int = 10_000, *, seed: int = 0, **scene_options) -> MultimodalDataset:
    """The Sort-of-CLEVR VQA dataset: one sample per scene, with all its questions.

    Modalities: ``"image"`` (N, 3, 75, 75) uint8 (divide by 255 in the model)
    and ``"question"`` (N, 20, 11) float32 bit vectors; labels (N, 20) int64
    answer ids into ``ANSWERS``. ``info`` holds ``"qtype"`` (N, 20) ids into
    ``QUESTION_TYPES`` and the scene metadata (``"colors"``, ``"shapes"``,
    ``"centers"``). Keeping the 20 questions of a scene together stores each
    image once; a model encodes the image once and answers all 20 (flatten
    the question axis for the loss). The paper holds out 200 of 10,000 scenes.
    """
    scenes = make_scenes(n, seed=seed, **scene_options)
    questions = make_questions(scenes, seed)
    return MultimodalDataset(
        {"image": scenes.images, "question": questions.bits.float()},
        questions.answer,
        {
            "qtype": questions.qtype,
            "colors": scenes.colors,
            "shapes": scenes.shapes,
            "centers": scenes.centers,
        },
        classes=ANSWERS,
    )
