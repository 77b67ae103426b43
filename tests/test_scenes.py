"""Sort-of-CLEVR scenes, questions and captions, checked against slow loop-by-loop references."""

import math

import numpy as np
import pytest
import torch

from mmlearn.data.scene_captions import (
    COMBO_NAMES,
    MAX_CAPTIONS,
    combo_prompts,
    make_captions,
    scene_captions,
)
from mmlearn.data.scene_questions import (
    ANSWERS,
    QUESTION_TYPES,
    make_questions,
    sort_of_clevr,
)
from mmlearn.data.scene_render import COLORS, PALETTE, SHAPES, make_scenes
from mmlearn.metrics import accuracy_by_question_type

# --- slow references, written with plain loops -------------------------------------------------


def stamp_area(shape: str, h: int = 5) -> int:
    """Pixel count of one shape, counted point by point."""
    area = 0
    for dy in range(-h, h + 1):
        for dx in range(-h, h + 1):
            if shape == "square":
                area += 1
            elif shape == "circle":
                area += dx * dx + dy * dy <= h * h + h
            else:  # triangle pointing up: one pixel at the top row, 2h+1 at the bottom row
                area += 2 * abs(dx) <= dy + h
    return area


AREA_TO_SHAPE = {stamp_area(s): s for s in SHAPES}


def read_objects(image: torch.Tensor) -> list[tuple[str, str, int, int]]:
    """(colour, shape, x, y) of every object, read from the pixels one colour at a time."""
    img = image.numpy()
    objects = []
    for color_name, rgb in zip(COLORS, PALETTE, strict=True):
        mask = (img[0] == rgb[0]) & (img[1] == rgb[1]) & (img[2] == rgb[2])
        area = int(mask.sum())
        if area == 0:
            continue
        rows, cols = np.nonzero(mask)
        x = (int(cols.min()) + int(cols.max())) // 2
        y = (int(rows.min()) + int(rows.max())) // 2
        objects.append((color_name, AREA_TO_SHAPE.get(area, f"area {area}"), x, y))
    return objects


def reference_answer(objects, color: str, qtype: str, size: int = 75) -> str:
    """The answer to one question, by loops over the objects (ties: first in colour order)."""
    me = next(o for o in objects if o[0] == color)
    if qtype == "shape":
        return me[1]
    if qtype == "horizontal":
        return "left" if me[2] < size / 2 else "right"
    if qtype == "vertical":
        return "top" if me[3] < size / 2 else "bottom"
    if qtype == "count":
        return str(sum(1 for o in objects if o[1] == me[1]))
    best, best_d = None, None
    for o in objects:
        if o is me:
            continue
        d = math.hypot(o[2] - me[2], o[3] - me[3])
        if best is None or (d < best_d if qtype == "closest" else d > best_d):
            best, best_d = o, d
    return best[1]


def decode_bits(bits) -> tuple[str, str]:
    """(colour, question type) from one 11-bit vector, following the documented layout."""
    bits = [int(b) for b in bits]
    assert sum(bits[0:6]) == 1 and bits[6] + bits[7] == 1 and sum(bits[8:11]) == 1
    color = COLORS[bits[0:6].index(1)]
    subtype = bits[8:11].index(1)
    return color, QUESTION_TYPES[3 * bits[7] + subtype]


# --- scenes --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(300, seed=11)


def test_shapes_and_dtypes(scenes):
    assert scenes.images.shape == (300, 3, 75, 75) and scenes.images.dtype == torch.uint8
    assert scenes.colors.shape == scenes.shapes.shape == (300, 6)
    assert scenes.centers.shape == (300, 6, 2)
    assert len(scenes) == 300 and scenes.size == 75
    assert torch.equal(scenes.n_objects, torch.full((300,), 6))


def test_pixels_match_metadata_and_nothing_overlaps(scenes):
    for i in range(len(scenes)):
        objects = read_objects(scenes.images[i])
        # Every colour exactly once, with the full area of its shape: no pixel was overwritten.
        assert [o[0] for o in objects] == list(COLORS)
        expected = [
            (COLORS[c], SHAPES[s], x, y)
            for c, s, (x, y) in zip(
                scenes.colors[i].tolist(), scenes.shapes[i].tolist(), scenes.centers[i].tolist(), strict=True
            )
        ]
        assert objects == expected
        background = (scenes.images[i] == 255).all(dim=0).sum().item()
        assert background == 75 * 75 - sum(stamp_area(o[1]) for o in objects)


def test_objects_keep_apart_and_inside(scenes):
    for centers in scenes.centers.tolist():
        for a in range(6):
            assert 5 <= centers[a][0] <= 69 and 5 <= centers[a][1] <= 69
            for b in range(a + 1, 6):
                gap = max(abs(centers[a][0] - centers[b][0]), abs(centers[a][1] - centers[b][1]))
                assert gap >= 12  # 11-px tiles with at least one background pixel between them


def test_positions_spread_over_the_canvas_without_a_grid(scenes):
    x = scenes.centers[..., 0].flatten().numpy()
    y = scenes.centers[..., 1].flatten().numpy()
    for coord in (x, y):
        assert len(np.unique(coord)) >= 60  # 65 possible values: no lattice
        counts = np.histogram(coord, bins=5, range=(5, 70))[0]
        assert counts.min() > 0.1 * coord.size  # every fifth of the canvas is used
    assert np.mean(scenes.shapes.numpy() == 0) == pytest.approx(0.5, abs=0.05)


def test_deterministic_per_seed_and_seeds_differ():
    a, b, c = make_scenes(20, seed=4), make_scenes(20, seed=4), make_scenes(20, seed=5)
    for name in ("images", "colors", "shapes", "centers"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.images, c.images)
    assert not torch.equal(a.centers, c.centers)
    qa, qb, qc = make_questions(a, seed=1), make_questions(b, seed=1), make_questions(a, seed=2)
    assert torch.equal(qa.bits, qb.bits) and torch.equal(qa.answer, qb.answer)
    assert not torch.equal(qa.bits, qc.bits)
    assert make_captions(a, seed=3) == make_captions(b, seed=3) != make_captions(a, seed=4)


def test_black_background_and_options():
    s = make_scenes(
        40, seed=2, n_objects=(1, 3), shapes=SHAPES, colors=("red", "blue", "gray"), background="black"
    )
    counts = s.n_objects
    assert counts.min() >= 1 and counts.max() <= 3 and len(set(counts.tolist())) == 3
    assert set(s.colors[s.colors >= 0].tolist()) <= {0, 2, 5}
    assert set(s.shapes[s.shapes >= 0].tolist()) == {0, 1, 2}
    for i in range(len(s)):
        objects = read_objects(s.images[i])
        assert len(objects) == counts[i]
        assert [o[1] for o in objects] == [SHAPES[v] for v in s.shapes[i].tolist() if v >= 0]
        area = sum(stamp_area(o[1]) for o in objects)
        assert (s.images[i] == 0).all(dim=0).sum().item() == 75 * 75 - area
        k = counts[i].item()  # empty slots come last and are -1 everywhere
        assert (
            (s.colors[i, k:] == -1).all() and (s.shapes[i, k:] == -1).all() and (s.centers[i, k:] == -1).all()
        )


def test_tiny_batches_of_variable_scenes():
    for seed in range(5):
        one = make_scenes(1, seed=seed, n_objects=(1, 3))
        assert one.colors.shape == (1, 3) and one.centers.shape == (1, 3, 2)
        assert len(read_objects(one.images[0])) == one.n_objects.item()


def test_subset_and_describe(scenes):
    assert scenes.subset(2).images.shape == (1, 3, 75, 75) and len(scenes.subset(slice(0, 5))) == 5
    sub = scenes.subset([3, 1])
    assert torch.equal(sub.images[1], scenes.images[1]) and torch.equal(sub.centers[0], scenes.centers[3])
    text = scenes.describe(0)
    assert text.count(" at (x=") == 6 and "red" in text
    with pytest.raises(IndexError):
        scenes.describe(300)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"n": 0}, ValueError),
        ({"n": -5}, ValueError),
        ({"n": 2.5}, ValueError),
        ({"n": 3, "seed": "x"}, TypeError),
        ({"n": 3, "seed": -1}, ValueError),
        ({"n": 3, "n_objects": 0}, ValueError),
        ({"n": 3, "n_objects": 7}, ValueError),
        ({"n": 3, "n_objects": (3, 2)}, ValueError),
        ({"n": 3, "n_objects": 2.0}, TypeError),
        ({"n": 3, "shapes": ("square", "hexagon")}, KeyError),
        ({"n": 3, "shapes": "square"}, TypeError),
        ({"n": 3, "shapes": ()}, ValueError),
        ({"n": 3, "shapes": ("circle", "circle")}, ValueError),
        ({"n": 3, "colors": ("red", "purple")}, KeyError),
        ({"n": 3, "colors": ("red", "blue"), "n_objects": 3}, ValueError),
        ({"n": 3, "size": 40}, ValueError),  # 6 objects do not fit
        ({"n": 3, "size": 9, "n_objects": 1}, ValueError),  # smaller than one object
        ({"n": 3, "size": -75}, ValueError),
        ({"n": 3, "half_size": 1}, ValueError),
        ({"n": 3, "background": "pink"}, KeyError),
    ],
)
def test_bad_scene_arguments(kwargs, error):
    with pytest.raises(error):
        make_scenes(**kwargs)


# --- questions -----------------------------------------------------------------------------------


def test_answers_match_a_slow_reference(scenes):
    q = make_questions(scenes, seed=5)
    texts, answer_texts = q.texts(), q.answer_texts()
    assert q.bits.shape == (300, 20, 11) and q.bits.dtype == torch.uint8
    for i in range(len(scenes)):
        objects = read_objects(scenes.images[i])
        for j in range(20):
            color, qtype = decode_bits(q.bits[i, j].tolist())
            assert QUESTION_TYPES[q.qtype[i, j]] == qtype and COLORS[q.color[i, j]] == color
            assert (qtype in ("closest", "furthest", "count")) == (
                j >= 10
            )  # 10 non-relational, then 10 relational
            assert f"the {color} object" in texts[i][j]
            expected = reference_answer(objects, color, qtype)
            assert ANSWERS[q.answer[i, j]] == expected == answer_texts[i][j]


def test_question_mix_and_texts(scenes):
    q = make_questions(scenes, seed=0)
    counts = torch.bincount(q.qtype.flatten(), minlength=6)
    assert counts.sum() == 6000 and (counts > 600).all()  # about 1000 per type
    texts = q.texts()
    assert texts[0][0].endswith("?") and len(texts) == 300 and len(texts[0]) == 20
    kinds = {t.split(" the ")[0] for row in texts for t in row}
    assert kinds == {"What is", "Is", "How many objects have"}
    assert set(torch.unique(q.color).tolist()) == set(range(6))


def test_questions_on_small_scenes_and_custom_counts():
    s = make_scenes(50, seed=3, n_objects=(2, 3), shapes=SHAPES)
    q = make_questions(s, seed=1, n_non_relational=4, n_relational=2)
    assert q.bits.shape == (50, 6, 11)
    for i in range(50):
        objects = read_objects(s.images[i])
        present = {o[0] for o in objects}
        for j in range(6):
            color, qtype = decode_bits(q.bits[i, j].tolist())
            assert color in present
            assert ANSWERS[q.answer[i, j]] == reference_answer(objects, color, qtype)


def test_question_errors(scenes):
    with pytest.raises(TypeError):
        make_questions(scenes.images)
    with pytest.raises(ValueError):
        make_questions(scenes, n_relational=-1)
    with pytest.raises(TypeError):
        make_questions(scenes, seed=1.5)
    with pytest.raises(ValueError):
        make_questions(scenes, n_relational=0, n_non_relational=0)
    single = make_scenes(5, n_objects=1)
    with pytest.raises(ValueError, match="2 objects"):
        make_questions(single)
    assert make_questions(single, n_relational=0).bits.shape == (5, 10, 11)


def test_sort_of_clevr_dataset():
    data = sort_of_clevr(60, seed=3)
    assert data.modalities["image"].shape == (60, 3, 75, 75) and data.modalities["image"].dtype == torch.uint8
    assert (
        data.modalities["question"].shape == (60, 20, 11)
        and data.modalities["question"].dtype == torch.float32
    )
    assert data.labels.shape == (60, 20) and data.labels.max() < len(ANSWERS)
    again = make_questions(make_scenes(60, seed=3), seed=3)
    assert torch.equal(data.labels, again.answer) and torch.equal(data.info["qtype"], again.qtype)
    train, test = data.split((0.8, 0.2), seed=0)
    assert len(train) == 48 and train.info["qtype"].shape == (48, 20)


def test_accuracy_by_question_type():
    answers = torch.tensor([[0, 3, 5, 1, 0, 9]])
    qtype = torch.tensor([[0, 1, 2, 3, 4, 5]])
    predictions = torch.tensor([[0, 4, 5, 1, 1, 9]])
    acc = accuracy_by_question_type(predictions, answers, qtype)
    assert acc["shape"] == 1 and acc["horizontal"] == 0 and acc["furthest"] == 0 and acc["count"] == 1
    assert acc["non-relational"] == pytest.approx(2 / 3) and acc["relational"] == pytest.approx(2 / 3)
    assert acc["overall"] == pytest.approx(4 / 6)
    assert math.isnan(accuracy_by_question_type(answers[:, :2], answers[:, :2], qtype[:, :2])["count"])
    with pytest.raises(ValueError):
        accuracy_by_question_type(predictions, answers[:, :3], qtype)
    with pytest.raises(ValueError):
        accuracy_by_question_type(predictions, answers, qtype + 1)  # a type id 6 does not exist


# --- captions ------------------------------------------------------------------------------------

PLACE_WORDS = {
    "row": {0: ("top", "upper"), 1: (), 2: ("bottom", "lower")},
    "col": {0: ("left",), 1: (), 2: ("right",)},
}


def object_phrase(caption: str, color: str, shape: str) -> str:
    """The words after "<colour> <shape>" in a caption, up to the next object or the end."""
    words = {"gray": ("gray", "grey")}.get(color, (color,))
    for word in words:
        key = f" {word} {shape} "
        if key in caption:
            rest = caption.split(key, 1)[1]
            for stop in (",", " and ", " on a ", "."):
                rest = rest.split(stop)[0]
            return rest
    raise AssertionError(f"{color} {shape} is missing from {caption!r}")


def test_captions_name_every_object_and_its_place():
    s = make_scenes(200, seed=8, n_objects=(1, 3), shapes=SHAPES)
    captions = make_captions(s, n_captions=5, seed=1)
    place_words = ("top", "upper", "bottom", "lower", "left", "right", "centre", "middle")
    for i in range(len(s)):
        assert len(captions[i]) == 5 and len(set(captions[i])) == 5  # five different sentence frames
        *placed, prompt_like = captions[i]
        objects = [
            (COLORS[c], SHAPES[shp], x, y)
            for c, shp, (x, y) in zip(
                s.colors[i].tolist(), s.shapes[i].tolist(), s.centers[i].tolist(), strict=True
            )
            if c >= 0
        ]
        # The last caption lists the objects like a zero-shot prompt, without places.
        assert prompt_like.startswith("a photo of ") and not any(w in prompt_like for w in place_words)
        assert prompt_like.count(",") + prompt_like.count(" and ") == len(objects) - 1
        for color, shape, _, _ in objects:
            words = {"gray": ("gray", "grey")}.get(color, (color,))
            assert any(f" {w} {shape}" in prompt_like for w in words), prompt_like
        for caption in placed:
            for color, shape, x, y in objects:
                place = object_phrase(caption, color, shape)
                row_words = PLACE_WORDS["row"][y * 3 // 75]  # thirds of the canvas
                col_words = PLACE_WORDS["col"][x * 3 // 75]
                if row_words:
                    assert any(w in place for w in row_words), (caption, place)
                else:
                    assert not any(w in place for w in ("top", "upper", "bottom", "lower")), (caption, place)
                if col_words:
                    assert col_words[0] in place, (caption, place)
                else:
                    assert "left" not in place and "right" not in place, (caption, place)
                if not row_words and not col_words:
                    assert "centre" in place or "middle" in place, (caption, place)
    single = make_captions(s, n_captions=1, seed=1)
    assert all(len(c) == 1 and not c[0].startswith("a photo of") for c in single)


def test_captions_of_different_scenes_rarely_coincide():
    data = scene_captions(200, seed=0, min_objects=2)
    first = [caps[0] for caps in data.info["captions"]]
    assert len(set(first)) == 200
    with pytest.raises(ValueError):
        make_captions(make_scenes(2), n_captions=MAX_CAPTIONS + 1)
    with pytest.raises(TypeError):
        make_captions("a red square")
    with pytest.raises(ValueError):
        make_captions(make_scenes(2), seed=-3)


def test_scene_captions_dataset():
    data = scene_captions(100, seed=4)
    assert data.modalities["image"].shape == (100, 3, 75, 75) and torch.equal(data.labels, torch.arange(100))
    assert len(data.info["captions"]) == 100 and all(len(c) == 5 for c in data.info["captions"])
    n = data.info["n_objects"]
    assert n.min() == 1 and n.max() == 3
    combos = data.info["combos"]
    for i in range(100):
        for slot in range(n[i]):
            name = COMBO_NAMES[combos[i, slot]]
            color = COLORS[data.info["colors"][i, slot]]
            assert name == f"{color} {SHAPES[data.info['shapes'][i, slot]]}"
            words = {"gray": ("gray", "grey")}.get(color, (color,))
            assert all(any(f"{w} {name.split()[1]}" in c for w in words) for c in data.info["captions"][i])
        assert (combos[i, n[i] :] == -1).all()
    single = scene_captions(20, seed=1, min_objects=1, max_objects=1, n_captions=2)
    assert single.info["combos"].shape == (20, 1) and all(len(c) == 2 for c in single.info["captions"])


def test_combo_prompts():
    prompts = combo_prompts()
    assert len(prompts) == 18 == len(COMBO_NAMES)
    assert prompts[0] == "a photo of a red square." and prompts[3 * 3 + 1] == "a photo of an orange circle."
    assert combo_prompts("{name}")[-1] == "gray triangle"
    with pytest.raises(ValueError):
        combo_prompts("a photo")


def test_scene_captions_give_every_reference_caption_as_tokens_when_a_model_needs_them():
    from mmlearn.data import Vocabulary

    plain = scene_captions(12, seed=2, n_captions=3)
    vocab = Vocabulary.build([c for caps in plain.info["captions"] for c in caps])
    data = scene_captions(12, seed=2, n_captions=3, vocab=vocab)
    ids = data.modalities["captions"]  # (N, n_captions, L)
    assert ids.shape[:2] == (12, 3) and ids.dtype == torch.int64
    assert torch.equal(data.modalities["image"], plain.modalities["image"])  # same scenes with or without
    for i in (0, 11):
        for j in range(3):
            assert ids[i, j, 0] == vocab.bos_id
            assert vocab.decode(ids[i, j]) == plain.info["captions"][i][j]
    assert "captions" not in plain.modalities
    with pytest.raises(TypeError, match="vocab must be a mmlearn.data.Vocabulary"):
        scene_captions(2, vocab=["a", "b"])
