"""The recipes lessons 04 and 05 share with their seed benchmarks build what the lessons describe."""

import torch

from mmlearn.data.scene_captions import COMBO_NAMES
from mmlearn.recipes import HELD_OUT, av_fusion_model, contrastive_encoders, contrastive_scenes


def test_contrastive_scenes_hold_out_two_combinations_everywhere_but_the_zero_shot_test():
    data = contrastive_scenes(1500, seed=0)
    held = torch.tensor([COMBO_NAMES.index(name) for name in HELD_OUT])
    train_rows = data.train.labels  # labels are scene indices
    assert not torch.isin(data.scenes.info["combos"][train_rows], held).any()
    assert len(data.val) == 200 and (data.scenes.info["n_objects"][data.val.labels] >= 2).all()
    assert set(data.train.labels.tolist()).isdisjoint(data.val.labels.tolist())
    val_captions = [data.captions[i] for i in data.val.labels.tolist()]
    assert len(set(val_captions)) == 200  # exactly one caption fits each held-out image
    assert data.prompts.shape[0] == len(COMBO_NAMES) == 18
    assert torch.equal(data.held_out_mask, torch.isin(data.zero_shot_combos, held))
    assert 0 < int(data.held_out_mask.sum()) < len(data.zero_shot_combos) == 1800
    n_classes, n_places, length = data.place_prompts.shape  # every class: its captions at every place
    assert n_classes == 18 and n_places > 9
    words = data.vocab.decode(data.place_prompts[COMBO_NAMES.index("red triangle"), 0].tolist())
    assert "red triangle" in words and "<unk>" not in words
    again = contrastive_scenes(1500, seed=0)
    assert torch.equal(again.train.modalities["text"], data.train.modalities["text"])


def test_recipe_models_are_fresh_and_seeded():
    a, b = av_fusion_model(seed=3), av_fusion_model(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    with torch.no_grad():
        next(a.parameters()).add_(1.0)  # training one model must not move the other's weights
    assert not torch.equal(next(a.parameters()), next(b.parameters()))
    logits = a({"image": torch.rand(4, 1, 8, 8), "audio": torch.randn(4, 13, 44)})
    assert logits.shape == (4, 10)
    assert a({"image": torch.rand(4, 1, 8, 8)}).shape == (4, 10)  # a missing modality is filled with zeros
    image_encoder, text_encoder = contrastive_encoders(49, seed=0)
    assert image_encoder(torch.rand(2, 3, 32, 32)).shape == text_encoder(torch.randint(1, 49, (2, 7))).shape
