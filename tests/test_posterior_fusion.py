"""The product rule (mmlearn.posterior_fusion) is Bayes' rule under conditional independence."""

import pytest
import torch

from mmlearn.posterior_fusion import product_rule


def test_equals_the_exact_posterior_of_two_independent_gaussian_cues():
    # y ~ Bernoulli(0.3); x1 | y ~ N(y, 1), x2 | y ~ N(2y, 1.5^2), independent given y
    gen = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(50, generator=gen), torch.randn(50, generator=gen)
    prior = torch.tensor([0.7, 0.3], dtype=torch.float64)
    x1, x2 = x1.double(), x2.double()

    def log_lik(x, mean, sd):
        return -0.5 * ((x - mean) / sd) ** 2

    ll1 = torch.stack([log_lik(x1, 0.0, 1.0), log_lik(x1, 1.0, 1.0)], dim=1)
    ll2 = torch.stack([log_lik(x2, 0.0, 1.5), log_lik(x2, 2.0, 1.5)], dim=1)
    post1 = torch.log_softmax(ll1 + prior.log(), dim=1)  # each classifier's exact posterior
    post2 = torch.log_softmax(ll2 + prior.log(), dim=1)
    exact = torch.log_softmax(ll1 + ll2 + prior.log(), dim=1)
    assert torch.allclose(product_rule({"a": post1, "b": post2}, prior), exact, atol=1e-12)


def test_one_modality_gives_its_own_posterior_and_rows_are_distributions():
    z = torch.randn(4, 3)
    prior = torch.tensor([0.2, 0.5, 0.3])
    assert torch.allclose(product_rule({"image": z}, prior), torch.log_softmax(z, dim=1))
    fused = product_rule({"image": z, "record": torch.randn(4, 3)}, prior)
    assert torch.allclose(fused.exp().sum(dim=1), torch.ones(4))


def test_bad_inputs_name_the_argument():
    z = torch.randn(4, 2)
    with pytest.raises(TypeError, match="logits"):
        product_rule({}, [0.5, 0.5])
    with pytest.raises(ValueError, match="shape"):
        product_rule({"a": z, "b": torch.randn(3, 2)}, [0.5, 0.5])
    with pytest.raises(ValueError, match="prior"):
        product_rule({"a": z}, [0.5, 0.3, 0.2])
    with pytest.raises(ValueError, match="prior"):
        product_rule({"a": z}, [0.9, 0.3])
    with pytest.raises(TypeError, match="prior"):
        product_rule({"a": z}, "uniform")
