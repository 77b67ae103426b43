"""The captioner of lesson 06 (encoder, additive attention, decoder, training step) and its data."""

import pytest
import torch

from mmlearn.captioning import AdditiveAttention, AttentionDecoder, Captioner, RegionEncoder, captioning_step
from mmlearn.data.scene_captions import (
    COMBO_NAMES,
    FRAMES,
    SHORT_FRAMES,
    captioning_scenes,
    make_captions,
)
from mmlearn.data.scene_render import make_scenes
from mmlearn.training import fit


def small_captioner(vocab_size=12, blind=False, seed=0):
    torch.manual_seed(seed)
    encoder = RegionEncoder(30, dim=8, channels=(4, 8, 8))
    decoder = AttentionDecoder(vocab_size, region_dim=8, hidden=16, embedding=8, attention_dim=8)
    return Captioner(encoder, decoder, blind=blind)


def images(n, seed=0):
    return torch.randint(
        0, 256, (n, 3, 30, 30), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )


# --- encoder ---------------------------------------------------------------------------------------------


def test_region_encoder_keeps_a_grid_of_regions():
    encoder = RegionEncoder(30, dim=8, channels=(4, 8, 8))
    assert (encoder.grid, encoder.n_regions, encoder.stride) == (4, 16, 8)
    assert encoder(images(3)).shape == (3, 16, 8)  # (B, R, dim), uint8 pixels accepted
    assert encoder(images(3).float() / 255).shape == (3, 16, 8)
    assert RegionEncoder(32, dim=5, channels=(4, 4)).n_regions == 64  # 32 -> 16 -> 8


def test_region_encoder_sees_where_things_are():
    """With coordinate channels, one object shifted by a pixel changes the region of its cell."""
    encoder = RegionEncoder(30, dim=8, channels=(4, 8, 8)).eval()
    a = torch.full((1, 3, 30, 30), 255, dtype=torch.uint8)
    b = a.clone()
    a[..., 2:5, 2:5] = 0
    b[..., 3:6, 3:6] = 0
    with torch.no_grad():
        assert not torch.allclose(encoder(a)[0, 0], encoder(b)[0, 0])


def test_region_at_names_the_cell_centred_nearest():
    encoder = RegionEncoder(30, dim=8, channels=(4, 8, 8))  # cells centred on pixels 0, 8, 16, 24
    assert encoder.region_at(0, 0) == 0
    assert encoder.region_at(21, 5) == 1 * 4 + 3  # row round(5 / 8) = 1, column round(21 / 8) = 3
    assert encoder.region_at(29, 29) == 15
    with pytest.raises(ValueError, match="x must be a pixel"):
        encoder.region_at(30, 0)


def test_region_encoder_rejects_bad_images():
    encoder = RegionEncoder(30, dim=8, channels=(4, 8, 8))
    with pytest.raises(ValueError, match="30"):
        encoder(images(2)[..., :28, :28])
    with pytest.raises(ValueError, match="channel"):
        encoder(torch.rand(2, 1, 30, 30))
    with pytest.raises(ValueError, match="image_size"):
        RegionEncoder(0)


# --- attention and decoder -------------------------------------------------------------------------------


def test_additive_attention_weights_sum_to_one_over_regions():
    torch.manual_seed(0)
    attention = AdditiveAttention(query_dim=6, key_dim=4, attention_dim=5)
    query, keys = torch.randn(2, 3, 6), torch.randn(2, 7, 4)
    context, weights = attention(query, keys, attention.key(keys))
    assert context.shape == (2, 3, 4) and weights.shape == (2, 3, 7)
    assert torch.allclose(weights.sum(dim=2), torch.ones(2, 3))
    # the context is the weighted sum of the regions, computed by hand
    assert torch.allclose(context[1, 2], (weights[1, 2, :, None] * keys[1]).sum(0), atol=1e-6)
    # by hand: e_ti = v^T tanh(W_q h_t + b + W_k r_i)
    energy = attention.score(torch.tanh(attention.query(query[0, 0]) + attention.key(keys[0]))).squeeze(1)
    assert torch.allclose(weights[0, 0], torch.softmax(energy, dim=0), atol=1e-6)


def test_teacher_forcing_equals_reading_word_by_word():
    model = small_captioner().eval()
    x, tokens = images(3), torch.randint(4, 12, (3, 6))
    with torch.no_grad():
        logits, weights = model(x, tokens)  # (B, T, V), (B, T, R)
        state = model.start(x)
        for t in range(6):
            step_logits, state, step_weights = model.step(tokens[:, t], state)
            assert torch.allclose(step_logits, logits[:, t], atol=1e-5)
            assert torch.allclose(step_weights, weights[:, t], atol=1e-6)
    assert logits.shape == (3, 6, 12) and weights.shape == (3, 6, 16)


def test_the_blind_captioner_never_reads_the_image():
    model = small_captioner(blind=True).eval()
    tokens = torch.randint(4, 12, (2, 5))
    with torch.no_grad():
        a, _ = model(images(2, seed=1), tokens)
        b, _ = model(images(2, seed=2), tokens)
    assert torch.equal(a, b)
    seeing = small_captioner().eval()
    with torch.no_grad():
        assert not torch.allclose(seeing(images(2, seed=1), tokens)[0], seeing(images(2, seed=2), tokens)[0])


def test_decoder_and_captioner_errors_name_the_argument():
    model = small_captioner()
    with pytest.raises(ValueError, match="tokens"):
        model(images(2), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="tokens has 3 captions but regions has 2"):
        model(images(2), torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="regions must be"):
        model.decoder.start(torch.zeros(2, 16, 5))
    with pytest.raises(ValueError, match="vocab_size"):
        AttentionDecoder(0, 8)
    with pytest.raises(ValueError, match="decoder expects"):
        Captioner(RegionEncoder(30, dim=8), AttentionDecoder(12, region_dim=9))
    with pytest.raises(TypeError, match="tokens must be word ids"):
        model(images(2), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="tokens must be word ids in 0..11"):
        model(images(2), torch.full((2, 4), 12))
    with pytest.raises(ValueError, match="attention_dim"):
        AdditiveAttention(4, 4, attention_dim=0)
    with pytest.raises(TypeError, match="blind"):
        Captioner(model.encoder, model.decoder, blind="yes")


# --- the training step -----------------------------------------------------------------------------------


def test_captioning_step_scores_words_not_padding():
    model = small_captioner()
    captions = torch.tensor([[[2, 5, 6, 3, 0, 0]], [[2, 7, 3, 0, 0, 0]]])  # (B=2, C=1, L=6)
    out = captioning_step(model, seed=0)({"image": images(2), "captions": captions}, torch.arange(2))
    assert set(out) == {"loss", "token_accuracy"} and out["loss"].requires_grad
    # by hand: the mean cross-entropy over the 3 + 2 real next words, on the columns that are not all padding
    logits, _ = model(images(2), captions[:, 0, :3])
    targets = captions[:, 0, 1:4]
    mask = targets != 0
    expected = torch.nn.functional.cross_entropy(logits[mask], targets[mask])
    assert torch.allclose(out["loss"], expected, atol=1e-6)


def test_captioning_step_errors():
    model = small_captioner()
    step = captioning_step(model)
    with pytest.raises(KeyError, match="captions"):
        step({"image": images(2)}, torch.arange(2))
    with pytest.raises(ValueError, match="n_captions"):
        step({"image": images(2), "captions": torch.zeros(2, 5, dtype=torch.long)}, torch.arange(2))
    with pytest.raises(ValueError, match="pad_id"):
        captioning_step(model, pad_id=-1)
    with pytest.raises(ValueError, match="modalities"):  # 2 images, 3 scenes of captions
        step({"image": images(2), "captions": torch.zeros(3, 2, 5, dtype=torch.long)}, torch.arange(2))
    with pytest.raises(TypeError, match="inputs"):
        step(None, torch.arange(2))


def test_fit_trains_the_captioner():
    data = captioning_scenes(64, seed=0, n_test=4, n_combo=2, max_objects=1)
    model = small_captioner(vocab_size=len(data.vocab))
    history = fit(model, data.train, captioning_step(model), epochs=3, lr=1e-2, batch_size=16, progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert "train_token_accuracy" in history


# --- the data --------------------------------------------------------------------------------------------


def test_captioning_scenes_hold_out_scenes_and_a_combination():
    data = captioning_scenes(300, seed=1, n_test=60, n_combo=30, max_objects=2)
    assert (len(data.train), len(data.test), len(data.combo)) == (300, 60, 30)
    held = COMBO_NAMES.index(data.heldout)
    for part in (data.train, data.test):
        assert not (part.info["combos"] == held).any()
    assert (data.combo.info["combos"] == held).any(dim=1).all()

    def keys(d):
        colors, shapes, centers = (
            d.info["colors"].tolist(),
            d.info["shapes"].tolist(),
            d.info["centers"].tolist(),
        )
        return {
            (tuple(c), tuple(s), tuple(map(tuple, xy)))
            for c, s, xy in zip(colors, shapes, centers, strict=True)
        }

    assert not keys(data.train) & keys(data.test)  # every test image is new
    centers = torch.cat([d.info["centers"][d.info["colors"] >= 0] for d in data[:3]])
    distance = (centers * 3 % 30).minimum(30 - centers * 3 % 30)  # 3 x the distance to a line between thirds
    assert (distance >= 6).all()  # the default margin: 2 px
    assert data.train.modalities["captions"].shape[:2] == (300, 4)
    assert data.train.modalities["image"].shape == (300, 3, 30, 30)
    unk = data.vocab.unk_id
    assert not (data.test.modalities["captions"] == unk).any()


def test_captioning_scenes_are_deterministic_per_seed():
    a, b = (
        captioning_scenes(50, seed=3, n_test=5, n_combo=5),
        captioning_scenes(50, seed=3, n_test=5, n_combo=5),
    )
    assert torch.equal(a.train.modalities["image"], b.train.modalities["image"])
    assert a.test.info["captions"] == b.test.info["captions"]
    c = captioning_scenes(50, seed=4, n_test=5, n_combo=5)
    assert not torch.equal(a.train.modalities["image"], c.train.modalities["image"])


def test_captioning_scenes_errors_name_the_argument():
    with pytest.raises(ValueError, match="heldout"):
        captioning_scenes(10, heldout="purple hexagon")
    with pytest.raises(ValueError, match="margin"):
        captioning_scenes(10, margin=-1)
    with pytest.raises(ValueError, match="n_test"):
        captioning_scenes(10, n_test=0)


def test_make_captions_with_short_frames_and_no_prompt():
    scenes = make_scenes(20, seed=0, n_objects=(1, 2), shapes=("square", "circle", "triangle"))
    captions = make_captions(scenes, 4, seed=0, frames=SHORT_FRAMES, prompt=False)
    assert all(len(c) == 4 for c in captions)
    assert not any(c.startswith("a photo of") for caps in captions for c in caps)
    assert make_captions(scenes, 5, seed=0) == make_captions(scenes, 5, seed=0, frames=FRAMES, prompt=True)
    with pytest.raises(ValueError, match="n_captions must be at most 4"):
        make_captions(scenes, 5, frames=SHORT_FRAMES, prompt=False)
    with pytest.raises(TypeError, match="frames"):
        make_captions(scenes, 2, frames="{objects}.")
    with pytest.raises(ValueError, match="objects"):
        make_captions(scenes, 2, frames=("no place for them",))
