"""Tests for mmlearn.encoders: shapes, padding handling, gradients, determinism and input errors."""

import pytest
import torch

from mmlearn.encoders import AudioEncoder, ImageEncoder, MLPEncoder, SensorEncoder, TextEncoder


def make(kind: str) -> tuple[torch.nn.Module, torch.Tensor]:
    """A small encoder of each kind and a valid batch for it."""
    g = torch.Generator().manual_seed(1)
    if kind == "image":
        return ImageEncoder(1, out_dim=24, channels=(8, 16)), torch.rand(5, 1, 8, 8, generator=g)
    if kind == "gru":
        return TextEncoder(30, out_dim=20), torch.randint(1, 30, (5, 7), generator=g)
    if kind == "transformer":
        return TextEncoder(30, out_dim=20, kind="transformer", max_len=10), torch.randint(
            1, 30, (5, 7), generator=g
        )
    if kind == "conv":
        tokens = torch.randint(1, 30, (5, 7), generator=g)
        return TextEncoder(30, out_dim=20, kind="conv", num_layers=2), tokens
    if kind == "audio":
        return AudioEncoder(13, out_dim=24, channels=(8, 16)), torch.randn(5, 13, 20, generator=g)
    if kind == "tabular":
        return MLPEncoder(7, out_dim=12), torch.randn(5, 7, generator=g)
    if kind == "sensor":
        return SensorEncoder(6, out_dim=24, channels=(8, 16)), torch.randn(5, 6, 50, generator=g)
    raise ValueError(kind)


KINDS = ["image", "gru", "transformer", "conv", "audio", "tabular", "sensor"]


@pytest.mark.parametrize("kind", KINDS)
def test_output_shape_and_out_dim(kind):
    enc, x = make(kind)
    out = enc(x)
    assert out.shape == (5, enc.out_dim)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("kind", KINDS)
def test_tokens_shape(kind):
    enc, x = make(kind)
    tok, mask = enc.tokens(x)
    assert tok.dim() == 3 and tok.shape[0] == 5 and tok.shape[2] == enc.token_dim
    if mask is not None:
        assert mask.shape == tok.shape[:2] and mask.dtype == torch.bool


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_every_parameter(kind):
    enc, x = make(kind)
    enc(x).square().sum().backward()
    missing = [n for n, p in enc.named_parameters() if p.grad is None]
    assert not missing
    assert all(p.grad.abs().sum() > 0 for n, p in enc.named_parameters() if "position" not in n)


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_given_seed(kind):
    torch.manual_seed(3)
    a, x = make(kind)
    torch.manual_seed(3)
    b, _ = make(kind)
    a.eval(), b.eval()
    assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("size,stride", [(8, 1), (32, 1), (75, 2)])
def test_image_encoder_any_size(size, stride):
    enc = ImageEncoder(3, out_dim=16, channels=(8, 8, 8), first_stride=stride)
    assert enc(torch.rand(2, 3, size, size)).shape == (2, 16)
    fmap = enc.feature_map(torch.rand(2, 3, size, size))
    expected = -(-size // stride)  # ceil: the first block
    for _ in range(2):  # two blocks of stride 2
        expected = -(-expected // 2)
    assert fmap.shape == (2, 8, expected, expected)


def test_image_uint8_is_scaled_to_unit_range():
    enc = ImageEncoder(3, out_dim=8, channels=(4,)).eval()
    pixels = torch.randint(0, 256, (2, 3, 12, 12), dtype=torch.uint8)
    assert torch.allclose(enc(pixels), enc(pixels.float() / 255.0))


@pytest.mark.parametrize("kind", ["gru", "transformer", "conv"])
def test_text_padding_does_not_change_features(kind):
    torch.manual_seed(0)
    enc = TextEncoder(30, out_dim=16, kind=kind, max_len=12, num_layers=2, bidirectional=kind == "gru").eval()
    short = torch.tensor([[5, 6, 7]])
    padded = torch.tensor([[5, 6, 7, 0, 0, 0]])
    # the same sentence in a batch beside a longer one
    batch = torch.tensor([[5, 6, 7, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7]])
    ref = enc(short)
    assert torch.allclose(enc(padded), ref, atol=1e-5)
    assert torch.allclose(enc(batch)[:1], ref, atol=1e-5)


def test_text_pad_id_configurable():
    torch.manual_seed(0)
    enc = TextEncoder(10, out_dim=8, pad_id=9).eval()
    assert torch.allclose(enc(torch.tensor([[0, 3, 9, 9]])), enc(torch.tensor([[0, 3]])), atol=1e-6)


def test_text_gru_feature_is_final_state_at_true_length():
    torch.manual_seed(0)
    enc = TextEncoder(20, out_dim=8).eval()
    x = torch.tensor([[4, 5, 6, 0, 0]])
    out, _ = enc.rnn(enc.embedding(x[:, :3]))  # an independent run on the unpadded prefix
    assert torch.allclose(enc(x), out[:, -1], atol=1e-6)


def test_text_conv_sees_word_order_within_its_window():
    """Two layers of width 3 see five words: swapping two neighbours changes the feature (a bag would not)."""
    torch.manual_seed(0)
    enc = TextEncoder(20, out_dim=8, kind="conv", num_layers=2).eval()
    a, b = enc(torch.tensor([[4, 5, 6, 7]])), enc(torch.tensor([[4, 6, 5, 7]]))
    assert not torch.allclose(a, b, atol=1e-4)


def test_text_conv_tokens_are_zero_at_padding():
    torch.manual_seed(0)
    enc = TextEncoder(20, out_dim=8, kind="conv", num_layers=2).eval()
    tok, pad = enc.tokens(torch.tensor([[4, 5, 0, 0], [4, 5, 6, 7]]))
    assert tok.shape == (2, 4, 8)
    assert pad[0].tolist() == [False, False, True, True]
    assert torch.equal(tok[0, 2:], torch.zeros(2, 8))


def test_bidirectional_gru_needs_even_out_dim():
    with pytest.raises(ValueError, match="even out_dim"):
        TextEncoder(10, out_dim=7, bidirectional=True)


@pytest.mark.parametrize(
    "x,match",
    [
        (torch.rand(3, 5), "integer token ids"),
        (torch.tensor([[1, 2, 40]]), r"outside \[0, 30\)"),
        (torch.tensor([[1, 2], [0, 0]]), r"rows \[1\] contain only padding"),
        (torch.tensor([[0, 2, 3]]), "right-padded"),
        (torch.tensor([1, 2, 3]), "2 dimensions"),
        (torch.zeros(0, 4, dtype=torch.long), "empty batch"),
    ],
)
def test_text_bad_inputs(x, match):
    with pytest.raises((ValueError, TypeError), match=match):
        TextEncoder(30, out_dim=8)(x)


def test_text_transformer_too_long_and_bad_options():
    with pytest.raises(ValueError, match="max_len=4"):
        TextEncoder(30, kind="transformer", max_len=4)(torch.ones(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="kind must be one of"):
        TextEncoder(30, kind="lstm")
    with pytest.raises(ValueError, match="divisible by num_heads"):
        TextEncoder(30, kind="transformer", embed_dim=30, num_heads=4)
    with pytest.raises(ValueError, match="pad_id"):
        TextEncoder(30, pad_id=30)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        TextEncoder(30, kind="conv", kernel_size=4)
    with pytest.raises(ValueError, match="kernel_size"):
        TextEncoder(30, kind="conv", kernel_size=0)
    with pytest.raises(ValueError, match="dropout is not used by kind='conv'"):
        TextEncoder(30, kind="conv", dropout=0.1)


def test_audio_any_number_of_frames():
    enc = AudioEncoder(13, out_dim=16, channels=(8, 8))
    for frames in (1, 7, 20, 101):
        assert enc(torch.randn(3, 13, frames)).shape == (3, 16)


@pytest.mark.parametrize(
    "kind,x,match",
    [
        ("image", torch.rand(2, 8, 8), "4 dimensions"),
        ("image", torch.rand(2, 3, 8, 8), "1 channel"),
        ("image", torch.zeros(2, 1, 8, 8, dtype=torch.int64), "floats"),
        ("audio", torch.randn(2, 20, 13), "13 channels"),
        ("audio", torch.randn(2, 13), "3 dimensions"),
        ("audio", torch.randn(2, 13, 0), "no time steps"),
        ("sensor", torch.randn(2, 3, 50), "6 channels"),
        ("tabular", torch.randn(2, 8), "7 columns"),
        ("tabular", torch.ones(2, 7, dtype=torch.long), "floats"),
        ("tabular", [[1.0] * 7], "torch.Tensor"),
    ],
)
def test_bad_shapes_and_types(kind, x, match):
    enc, _ = make(kind)
    with pytest.raises((ValueError, TypeError), match=match):
        enc(x)


@pytest.mark.parametrize("kind", ["image", "audio", "tabular", "sensor"])
def test_nan_and_empty_batches_raise(kind):
    enc, x = make(kind)
    bad = x.clone()
    bad.view(-1)[3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        enc(bad)
    with pytest.raises(ValueError, match="empty batch"):
        enc(x[:0])


@pytest.mark.parametrize(
    "build",
    [
        lambda: ImageEncoder(0),
        lambda: ImageEncoder(1, channels=()),
        lambda: SensorEncoder(3, kernel_size=4),
        lambda: MLPEncoder(5, out_dim=-1),
        lambda: AudioEncoder(13, channels=(8, 0)),
    ],
)
def test_bad_constructor_arguments(build):
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize("kind", ["image", "audio", "tabular", "sensor"])
def test_float64_batches_are_accepted_and_give_the_float32_answer(kind):
    torch.manual_seed(0)
    encoder, x = make(kind)
    encoder.eval()
    with torch.no_grad():
        expected = encoder(x)
        got = encoder(x.double())  # what torch.from_numpy gives for a NumPy float array
    assert got.dtype == torch.float32 and torch.allclose(got, expected, atol=1e-5)


def test_image_feature_map_of_pool_size_is_used_as_it_is():
    """A feature map already pool_size x pool_size skips the identity pooling: the same numbers either way."""
    torch.manual_seed(0)
    enc = ImageEncoder(3, out_dim=8, channels=(4, 4), first_stride=2, pool_size=4).eval()
    x = torch.rand(2, 3, 16, 16)  # 16 -> 8 -> 4: the map is 4x4 already
    fmap = enc.feature_map(x)
    assert fmap.shape[-2:] == (4, 4)
    assert torch.equal(enc(x), enc.fc(enc.pool(fmap).flatten(1)))
