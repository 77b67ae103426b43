"""Tests of mmlearn.strategies: modality dropout, square-symmetry augmentation and staged training."""

import pytest
import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.encoders.audio import AudioEncoder
from mmlearn.encoders.image import ImageEncoder
from mmlearn.strategies import (
    FrozenEncoder,
    ModalityDropout,
    SquareSymmetries,
    linear_probe,
    pretrain_encoder,
    staged_training,
    unimodal,
)


def _batch(n=200):
    gen = torch.Generator().manual_seed(0)
    return {
        "image": torch.rand(n, 1, 8, 8, generator=gen) + 0.1,
        "audio": torch.randn(n, 13, 6, generator=gen),
    }


def _zeroed(x):  # (B, ...) -> (B,) True where the whole sample is zero
    return (x.flatten(1) == 0).all(dim=1)


def test_per_sample_dropout_rate_and_never_all():
    inputs = _batch(4000)
    out = ModalityDropout(0.3, seed=1)(inputs, torch.zeros(4000))
    img, aud = _zeroed(out["image"]), _zeroed(out["audio"])
    assert not (img & aud).any()  # a sample keeps at least one modality
    # P(dropped) = 0.3 minus half of the 0.09 both-dropped cases that get one back
    assert abs(img.float().mean().item() - 0.255) < 0.03
    assert abs(aud.float().mean().item() - 0.255) < 0.03
    kept = ~img
    assert torch.equal(out["image"][kept], inputs["image"][kept])  # survivors are untouched
    assert not _zeroed(inputs["image"]).any()  # no in-place change


def test_dropout_deterministic_per_seed_and_p_zero():
    inputs = _batch()
    a = ModalityDropout(0.5, seed=3)(inputs, None)
    b = ModalityDropout(0.5, seed=3)(inputs, None)
    c = ModalityDropout(0.5, seed=4)(inputs, None)
    assert torch.equal(a["image"], b["image"]) and not torch.equal(a["image"], c["image"])
    same = ModalityDropout(0.0)(inputs, None)
    assert all(torch.equal(same[m], inputs[m]) for m in inputs)


def test_dropout_only_named_modalities():
    out = ModalityDropout(0.9, modalities=["audio"], seed=0)(_batch(), None)
    assert not _zeroed(out["image"]).any()
    assert _zeroed(out["audio"]).float().mean() > 0.8  # only audio can go, so nothing is put back


def test_per_batch_dropout_removes_keys_but_keeps_one():
    drop = ModalityDropout(0.6, per_sample=False, seed=0)
    seen = [tuple(sorted(drop(_batch(8), None))) for _ in range(200)]
    assert () not in seen
    assert {("audio",), ("image",), ("audio", "image")} == set(seen)


def test_dropout_bad_inputs():
    with pytest.raises(ValueError, match="probability"):
        ModalityDropout(1.0)
    with pytest.raises(ValueError, match="probability"):
        ModalityDropout(-0.1)
    with pytest.raises(KeyError, match="text"):
        ModalityDropout(0.5, modalities=["text"])(_batch(), None)
    with pytest.raises(ValueError, match="batch sizes differ"):
        ModalityDropout(0.5)({"image": torch.rand(3, 1, 8, 8), "audio": torch.rand(4, 13, 6)}, None)


def _dataset(n=120, seed=0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=gen)
    image = torch.rand(n, 1, 8, 8, generator=gen) * 0.2
    image[torch.arange(n), 0, labels, labels] += 1.0  # class = a bright pixel on the diagonal
    audio = torch.randn(n, 13, 6, generator=gen)
    audio[torch.arange(n), labels] += 2.0  # class = a loud channel
    return MultimodalDataset({"image": image, "audio": audio}, labels, {})


def _encoders():
    torch.manual_seed(0)
    return {"image": ImageEncoder(out_dim=8, channels=(8,)), "audio": AudioEncoder(out_dim=8, channels=(8,))}


def _the_8_symmetries(x):  # (..., H, W) -> list of its 8 images under the symmetries of the square
    return [torch.rot90(y, k, dims=(-2, -1)) for y in (x, x.flip(-1)) for k in range(4)]


def test_square_symmetries_gives_each_picture_one_of_the_8():
    n = 4000
    base = torch.arange(3 * 5 * 5, dtype=torch.float32).reshape(3, 5, 5)  # every pixel distinct
    images = base.expand(n, 3, 5, 5).clone()  # (n, 3, 5, 5)
    record = torch.randn(n, 10, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(n) % 2
    inputs = {"image": images, "record": record}
    out = SquareSymmetries("image", seed=3)(inputs, labels)
    assert torch.equal(inputs["image"], images) and torch.equal(images[0], base)  # not modified in place
    assert out["record"] is record and set(out) == {"image", "record"}  # the other modality is untouched
    assert torch.equal(labels, torch.arange(n) % 2)
    variants = torch.stack(_the_8_symmetries(base))  # (8, 3, 5, 5), all different
    assert len({tuple(v.flatten().tolist()) for v in variants}) == 8
    match = (out["image"][:, None] == variants[None]).flatten(2).all(dim=2)  # (n, 8)
    assert torch.equal(match.sum(dim=1), torch.ones(n, dtype=torch.long))  # exactly one symmetry each
    share = match.float().mean(dim=0)  # (8,): each symmetry about 1/8 of the time
    assert (share - 1 / 8).abs().max() < 0.025, share
    # each picture keeps its own pixels (a permutation of them), so what a picture shows is kept
    assert torch.equal(out["image"].flatten(1).sort(dim=1).values, images.flatten(1).sort(dim=1).values)


def test_square_symmetries_deterministic_per_seed_and_per_picture():
    gen = torch.Generator().manual_seed(1)
    inputs = {"image": torch.rand(64, 3, 8, 8, generator=gen)}
    a = SquareSymmetries(seed=5)(inputs)["image"]
    b = SquareSymmetries(seed=5)(inputs)["image"]
    c = SquareSymmetries(seed=6)(inputs)["image"]
    assert torch.equal(a, b) and not torch.equal(a, c)
    turned = (a != inputs["image"]).flatten(1).any(dim=1)  # (64,): the identity leaves a picture as it was
    assert 0 < turned.sum() < 64  # pictures are turned one by one, not the batch as a whole


def test_lesion_pictures_have_no_preferred_orientation():
    """The symmetry that makes the augmentation honest: the lesion generator prefers no direction.

    Per picture, how much darker the left half is than the right, the top than the bottom, and one
    diagonal than the other: each has mean about 0, and left-right spreads as much as top-bottom.
    """
    from mmlearn.data.clinical import clinical_lesions

    data = clinical_lesions(3000, seed=0, image_size=24)
    dark = 1 - data.modalities["image"].mean(dim=1)  # (N, 24, 24) darkness
    left_right = dark[:, :, :12].mean(dim=(1, 2)) - dark[:, :, 12:].mean(dim=(1, 2))  # (N,)
    top_bottom = dark[:, :12].mean(dim=(1, 2)) - dark[:, 12:].mean(dim=(1, 2))
    upper = torch.ones(24, 24).triu(1).bool()
    diagonal = dark[:, upper].mean(dim=1) - dark[:, upper.T].mean(dim=1)
    for stat in (left_right, top_bottom, diagonal):
        assert stat.mean().abs() < 4 * stat.std() / len(stat) ** 0.5
        for y in (0, 1):  # nor within a class: the diagnosis does not depend on the orientation
            s = stat[data.labels == y]
            assert s.mean().abs() < 4 * s.std() / len(s) ** 0.5
    assert 0.9 < left_right.std() / top_bottom.std() < 1.1


def test_square_symmetries_bad_inputs():
    with pytest.raises(TypeError, match="modality"):
        SquareSymmetries(3)
    with pytest.raises((TypeError, ValueError), match="seed"):
        SquareSymmetries(seed=-1)
    t = SquareSymmetries("image")
    with pytest.raises(KeyError, match="image"):
        t({"record": torch.zeros(4, 10)})
    with pytest.raises(ValueError, match="square"):
        t({"image": torch.zeros(4, 3, 8, 6)})  # not square: a turn by 90 degrees would change its shape
    with pytest.raises(ValueError, match="square"):
        t({"image": torch.zeros(4, 8, 8)})  # no channel dimension
    with pytest.raises(ValueError, match="differ"):
        t({"image": torch.zeros(4, 3, 8, 8), "record": torch.zeros(3, 10)})


def test_frozen_encoder_stays_fixed_and_in_eval():
    enc = ImageEncoder(out_dim=8, channels=(8,))
    frozen = FrozenEncoder(enc)
    frozen.train()
    assert not enc.training and frozen.training
    assert all(not p.requires_grad for p in frozen.parameters())
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    frozen(torch.rand(16, 1, 8, 8))  # a forward in "train mode" must not move batch-norm statistics
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())
    with pytest.raises(TypeError, match="nn.Module"):
        FrozenEncoder("not a module")


def test_pretrain_encoder_learns_its_modality():
    enc = _encoders()["audio"]
    h = pretrain_encoder(
        enc, "audio", _dataset(), num_classes=3, epochs=8, lr=1e-2, batch_size=32, progress=False
    )
    assert h.final["train_accuracy"] > 0.8


@pytest.mark.parametrize("freeze", [True, False])
def test_staged_training(freeze):
    encoders = _encoders()
    data = _dataset()
    model, hist = staged_training(
        encoders, data, num_classes=3, freeze=freeze, pretrain_epochs=6, fuse_epochs=3,
        lr=1e-2, batch_size=32, progress=False,
    )  # fmt: skip
    assert list(hist) == ["image", "audio", "fusion"]
    assert hist["fusion"].final["train_accuracy"] > 0.8
    trainable = {
        n.split(".")[1] for n, p in model.named_parameters() if p.requires_grad and n.startswith("encoders")
    }
    assert trainable == (set() if freeze else {"image", "audio"})


def test_staged_training_bad_inputs():
    data = _dataset()
    with pytest.raises(KeyError, match="text"):
        staged_training(
            {"text": ImageEncoder(out_dim=8)}, data, num_classes=3, pretrain_epochs=1, fuse_epochs=1,
            lr=1e-2, batch_size=32, progress=False,
        )  # fmt: skip
    with pytest.raises(ValueError, match="pretrain_epochs"):
        staged_training(
            _encoders(), data, num_classes=3, pretrain_epochs=0, fuse_epochs=1, lr=1e-2, batch_size=32
        )
    with pytest.raises(KeyError, match="text"):
        unimodal(data, "text")


def test_staged_training_takes_the_frozen_wrapper():
    wrapped = []

    def wrapper(encoder):
        wrapped.append(encoder)
        return FrozenEncoder(encoder)

    model, _ = staged_training(
        _encoders(), _dataset(), num_classes=3, freeze=wrapper, pretrain_epochs=1, fuse_epochs=1,
        lr=1e-2, batch_size=32, progress=False,
    )  # fmt: skip
    assert len(wrapped) == 2 and all(isinstance(e, FrozenEncoder) for e in model.encoders.values())
    with pytest.raises(TypeError, match="freeze"):
        staged_training(
            _encoders(), _dataset(), num_classes=3, freeze="yes", pretrain_epochs=1, fuse_epochs=1,
            lr=1e-2, batch_size=32, progress=False,
        )  # fmt: skip


def test_linear_probe_reads_what_an_encoder_learned():
    train, test = _dataset(300, seed=0), _dataset(200, seed=1)
    torch.manual_seed(0)
    encoder = AudioEncoder(out_dim=8, channels=(8,))
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    untrained = linear_probe(encoder, "audio", train, test)
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())  # the encoder is unchanged
    pretrain_encoder(encoder, "audio", train, num_classes=3, epochs=6, lr=1e-2, batch_size=32, progress=False)
    trained = linear_probe(encoder, "audio", train, test)
    assert trained > 0.9 and trained >= untrained
    assert linear_probe(encoder, "audio", train, test) == trained  # deterministic
    with pytest.raises(KeyError, match="text"):
        linear_probe(encoder, "text", train, test)
    with pytest.raises(ValueError, match="C"):
        linear_probe(encoder, "audio", train, test, C=0)
