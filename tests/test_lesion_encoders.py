"""The lesion CNN and the clinical encoder pair (mmlearn.lesion_encoders)."""

import pytest
import torch

from mmlearn.lesion_encoders import LesionCNN, clinical_encoders


def test_shapes_and_tokens():
    enc = LesionCNN(out_dim=16, channels=(8, 16))
    x = torch.rand(4, 3, 24, 24)
    assert enc(x).shape == (4, 16)
    tokens, pad = enc.tokens(x)
    assert tokens.shape == (4, 12 * 12, enc.token_dim) and pad is None


def test_seeded_and_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    a, b = clinical_encoders(seed=3), clinical_encoders(seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    for name in ("image", "record"):
        for p, q in zip(a[name].parameters(), b[name].parameters(), strict=True):
            assert torch.equal(p, q)
    assert a["record"](torch.randn(5, 10)).shape == (5, 16)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="LesionCNN input"):
        LesionCNN()(torch.rand(2, 1, 24, 24))
    with pytest.raises(ValueError, match="channels"):
        LesionCNN(channels=())
    with pytest.raises(ValueError, match="out_dim"):
        LesionCNN(out_dim=0)
