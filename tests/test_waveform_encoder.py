"""Lesson 08's raw-waveform CNN (mmlearn.encoders.audio.WaveformEncoder) and the worst-case gap."""

import numpy as np
import pytest
import torch

from mmlearn.encoders.audio import WaveformEncoder
from mmlearn.robustness import worst_case_gap


def test_waveform_encoder_shapes_and_loudness_invariance():
    torch.manual_seed(0)
    enc = WaveformEncoder(out_dim=12, channels=(4, 8), first_kernel=32, first_stride=16).eval()
    x = torch.randn(5, 1, 5600)
    out = enc(x)
    assert out.shape == (5, 12)
    assert torch.allclose(enc(3.0 * x + 0.5), out, atol=1e-4)  # each clip is standardised first
    assert enc(torch.randn(2, 1, 100)).shape == (2, 12)  # any length of at least first_kernel


def test_waveform_encoder_learns_a_frequency():
    """Two classes told apart only by pitch: a few steps of training separate them."""
    torch.manual_seed(0)
    t = torch.arange(800) / 8000.0
    gen = torch.Generator().manual_seed(1)
    phase = torch.rand(64, 1, generator=gen) * 6.28
    labels = torch.arange(64) % 2
    freq = torch.where(labels == 0, 300.0, 1500.0)[:, None]
    x = (torch.sin(2 * torch.pi * freq * t + phase) + 0.3 * torch.randn(64, 800, generator=gen))[:, None]
    model = torch.nn.Sequential(WaveformEncoder(out_dim=8, channels=(8,), first_kernel=32, first_stride=8),
                                torch.nn.Linear(8, 2))  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(model(x), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    assert (model(x).argmax(dim=1) == labels).float().mean() > 0.95


def test_waveform_encoder_names_the_shape_mistake():
    enc = WaveformEncoder()
    with pytest.raises(ValueError, match=r"\(B, 1, T\).*unsqueeze"):
        enc(torch.randn(4, 5600))  # (B, T): the source article's mistake
    with pytest.raises(ValueError, match=r"\(B, 1, T\)"):
        enc(torch.randn(4, 5600, 1))
    with pytest.raises(ValueError, match="first_kernel"):
        enc(torch.randn(4, 1, 10))
    with pytest.raises(ValueError, match="channels"):
        WaveformEncoder(channels=())


def test_worst_case_gap_by_hand():
    fused = [0.85, 0.7, 0.6, 0.5]
    singles = {"image": [0.66, 0.66, 0.66, 0.66], "audio": [0.63, 0.5, 0.3, 0.15]}
    assert worst_case_gap(fused, singles) == pytest.approx(0.5 - 0.66)
    assert worst_case_gap([0.9, 0.9, 0.9, 0.9], singles) == pytest.approx(0.9 - 0.66)


def test_worst_case_gap_skips_unusable_models_and_levels():
    fused = np.array([0.8, 0.5, 0.12])
    singles = {"audio": np.array([0.6, 0.3, 0.15])}
    assert worst_case_gap(fused, singles) == pytest.approx(0.2)  # the last level has no usable model
    assert worst_case_gap(fused, singles, usable=0.0) == pytest.approx(-0.03)
    with pytest.raises(ValueError, match="usable"):
        worst_case_gap(fused, {"audio": [0.1, 0.1, 0.1]})


def test_worst_case_gap_rejects_mismatched_curves():
    with pytest.raises(ValueError, match="singles"):
        worst_case_gap([0.5, 0.5], {"a": [0.5, 0.5, 0.5]})
    with pytest.raises(TypeError, match="singles"):
        worst_case_gap([0.5, 0.5], [[0.5, 0.5]])
    with pytest.raises(ValueError, match="fused"):
        worst_case_gap([0.5, 1.5], {"a": [0.5, 0.5]})
