"""Set-ups that a lesson and its seed benchmark share, written once.

Lesson 04 (sections 1 and 5) and lesson 05 (section 1, "Data and one model recipe") build their data
and models here.

A lesson's claims are measured over several seeds by a script in
``benchmarks/``; both must build exactly the same data and models, so the
recipe lives here and both import it.

* Lesson 04 (sections 1 and 5): ``contrastive_scenes`` (captioned scenes
  with two colour-shape combinations held out, the held-out retrieval pairs,
  the zero-shot test set and its class prompts, single and ensembled) and
  ``contrastive_encoders``.
* Lesson 05 (section 1): ``av_encoders`` and ``av_fusion_model``, intermediate fusion of a small
  CNN image encoder and a CNN audio encoder on the audio-visual digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.scene_captions import COMBO_NAMES, FRAMES, PLACES, article, combo_prompts, scene_captions
from mmlearn.data.text import Vocabulary
from mmlearn.encoders import AudioEncoder, ImageEncoder, TextEncoder
from mmlearn.fusion import make_fusion_model
from mmlearn.validation import check_positive_int, check_seed

__all__ = [
    "HELD_OUT",
    "ContrastiveScenes",
    "contrastive_scenes",
    "contrastive_encoders",
    "av_encoders",
    "av_fusion_model",
]

HELD_OUT = ("red triangle", "blue circle")  # colour-shape combinations no training scene shows


@dataclass
class ContrastiveScenes:
    """Lesson 04's data: ``train`` and ``val`` hold "image" (N, 3, 32, 32) uint8 and "text" (N, L) ids."""

    train: MultimodalDataset
    val: MultimodalDataset  # 200 held-out pairs, 2-3 objects, captions that name places
    vocab: Vocabulary
    captions: list[str]  # the caption each scene got (train and held-out alike)
    scenes: MultimodalDataset  # all generated scenes
    dropped: int  # scenes dropped for showing a held-out combination
    zero_shot_images: torch.Tensor  # (Z, 3, 32, 32) single-object scenes of every combination
    zero_shot_combos: torch.Tensor  # (Z,) the object's colour-shape class, an index into COMBO_NAMES
    prompts: torch.Tensor  # (18, L) "a photo of a red square." ... one per COMBO_NAMES entry
    place_prompts: torch.Tensor  # (18, P, L) per class, the P captions of one object at every place

    @property
    def held_out_mask(self) -> torch.Tensor:
        """(Z,) True for the zero-shot images of a held-out combination."""
        held_ids = torch.tensor([COMBO_NAMES.index(name) for name in HELD_OUT])
        return torch.isin(self.zero_shot_combos, held_ids)


def _place_prompts(name: str) -> list[str]:
    """Every caption of a scene holding one ``name`` object ("red square") that names its place.

    All sentence frames of ``scene_captions`` times all the ways to say each of
    the nine places: "one shape: a red square at the top left.", "we see a red
    square in the middle.", ... Averaging a class's text embeddings over these
    is prompt ensembling (Radford et al. 2021, section 3.1.4), for lesson 04,
    section 5 ("Zero-shot classification of unseen combinations").
    """
    if name not in COMBO_NAMES:
        raise ValueError(f"name must be one of COMBO_NAMES, e.g. 'red square', got {name!r}")
    color = name.split()[0]
    prompts = []
    for row in PLACES:
        for places in row:
            for place in places:
                objects = f"{article(color)} {name} {place}"
                prompts += [f.format(objects=objects, n="one", s="", background="white") for f in FRAMES]
    return prompts


def contrastive_scenes(n: int = 10_000, *, seed: int = 0, n_zero_shot: int = 1800) -> ContrastiveScenes:
    """``n`` captioned 32x32 scenes without the ``HELD_OUT`` combinations, for CLIP-style training.

    Scene i gets the (i % 5)-th of its five captions (the fifth is the
    "a photo of ..." form, the others name places). The last 200 kept scenes with 2-3 objects are held
    out for retrieval and get one of the four templates that name places, so
    their captions are all different (a few scenes show the same objects at
    the same places, and then their captions, differing only by synonyms,
    fit both images). The zero-shot set (``n_zero_shot``
    single-object scenes, ``seed + 1``) covers all 18 combinations, about
    ``n_zero_shot / 9`` images of the held-out ones.
    """
    check_positive_int(n_zero_shot, "n_zero_shot")
    held_ids = torch.tensor([COMBO_NAMES.index(name) for name in HELD_OUT])
    scenes = scene_captions(n, seed=seed, size=32, half_size=3, n_captions=5)
    has_held_out = torch.isin(scenes.info["combos"], held_ids).any(dim=1)  # (N,) shows a held-out combo
    keep = (~has_held_out).nonzero().squeeze(1)
    val_ids = keep[scenes.info["n_objects"][keep] >= 2][-200:]
    train_ids = keep[keep < val_ids[0]]
    captions = [caps[i % 5] for i, caps in enumerate(scenes.info["captions"])]
    for i in val_ids.tolist():
        captions[i] = scenes.info["captions"][i][i % 4]
    per_class = [_place_prompts(name) for name in COMBO_NAMES]  # 18 lists of P captions
    vocab = Vocabulary.build(captions + combo_prompts() + per_class[0])
    pairs = MultimodalDataset(
        {"image": scenes.modalities["image"], "text": vocab.encode_batch(captions)}, scenes.labels, {}
    )
    singles = scene_captions(n_zero_shot, seed=seed + 1, size=32, half_size=3, min_objects=1, max_objects=1)
    placed = vocab.encode_batch([p for prompts in per_class for p in prompts])  # (18 * P, L)
    return ContrastiveScenes(
        train=pairs.subset(train_ids),
        val=pairs.subset(val_ids),
        vocab=vocab,
        captions=captions,
        scenes=scenes,
        dropped=int(has_held_out.sum()),
        zero_shot_images=singles.modalities["image"],
        zero_shot_combos=singles.info["combos"][:, 0],
        prompts=vocab.encode_batch(combo_prompts()),
        place_prompts=placed.reshape(len(COMBO_NAMES), -1, placed.shape[1]),
    )


def contrastive_encoders(vocab_size: int, *, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """Lesson 04's pair of encoders, both ending in R^64, freshly initialised from ``seed``.

    A small CNN for 32x32 scenes: (B, 3, 32, 32) -> 16x16 -> 8x8 -> a 4x4
    feature map kept whole (``pool_size=4``, places matter) -> (B, 64); and a
    1-D CNN for captions: (B, L) ids -> (B, L, 32) word vectors -> two
    convolutions, each over 3 neighbouring words -> (B, L, 64) -> max over the
    real words -> linear -> (B, 64). The bidirectional GRU used here before
    retrieved less well (R@1 on the held-out pairs 0.91 against 0.97, mean of
    5 seeds) at about three times the cost per step on a CPU, since it reads
    one word at a time.
    """
    torch.manual_seed(check_seed(seed))
    image_encoder = ImageEncoder(3, out_dim=64, channels=(16, 32, 32), first_stride=2, pool_size=4)
    text_encoder = TextEncoder(vocab_size, out_dim=64, embed_dim=32, kind="conv", num_layers=2)
    return image_encoder, text_encoder


def av_encoders(*, seed: int | None = None) -> dict[str, nn.Module]:
    """Lesson 05's fresh encoders: small CNNs for (B, 1, 8, 8) digits and (B, 13, 44) MFCCs -> (B, 32).

    ``seed`` seeds torch's generator first when given, so that
    ``av_encoders(seed=s)`` starts from the same weights as the encoders of
    ``av_fusion_model(seed=s)`` (lesson 05 compares strategies from one start).
    """
    if seed is not None:
        torch.manual_seed(check_seed(seed))
    return {
        "image": ImageEncoder(out_dim=32, channels=(16, 32)),
        "audio": AudioEncoder(out_dim=32, channels=(32, 32)),
    }


def av_fusion_model(*, seed: int | None = None) -> nn.Module:
    """Lesson 05's model: intermediate fusion of a CNN image encoder and a CNN audio encoder, 10 classes.

    Fresh weights every call (models must not share encoders); ``seed`` seeds
    torch's generator first when given. A missing modality is filled with zeros.
    """
    return make_fusion_model("intermediate", av_encoders(seed=seed), 10, missing="zeros")
