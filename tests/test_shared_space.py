"""mmlearn.shared_space.ProjectionHead: shapes, unit rows, dropout only in training, clear errors."""

import pytest
import torch

from mmlearn.shared_space import ProjectionHead


def test_maps_to_unit_rows_of_out_dim():
    torch.manual_seed(0)
    head = ProjectionHead(6, out_dim=3, hidden=5).eval()
    out = head(torch.randn(4, 6) * 10)
    assert out.shape == (4, 3)
    assert torch.allclose(out.norm(dim=1), torch.ones(4), atol=1e-6)


def test_dropout_acts_only_in_train_mode():
    torch.manual_seed(0)
    head = ProjectionHead(8, dropout=0.5)
    x = torch.randn(16, 8)
    head.eval()
    assert torch.equal(head(x), head(x))
    head.train()
    assert not torch.equal(head(x), head(x))


def test_gradients_reach_every_parameter():
    head = ProjectionHead(5, out_dim=4, hidden=8)
    head(torch.randn(3, 5)).sum().backward()
    assert all(p.grad is not None for p in head.parameters())


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="in_features"):
        ProjectionHead(0)
    with pytest.raises(ValueError, match="dropout"):
        ProjectionHead(4, dropout=1.5)
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        ProjectionHead(4)(torch.randn(3, 5))
