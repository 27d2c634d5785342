import math

import pytest
import torch
from torch.distributions import Independent, Normal

from vaekit import ELBO, VAE, ModelConfig, kl_to_prior, rsample


def test_analytic_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    loc, scale = torch.randn(4, 3, generator=g), torch.rand(4, 3, generator=g) + 0.3
    q = Independent(Normal(loc, scale), 1)
    p = Independent(Normal(torch.zeros(3), torch.ones(3)), 1)
    analytic = kl_to_prior(q, p, None)
    z = rsample(q, 200_000, g)  # (S, 4, 3)
    mc = (q.log_prob(z) - p.log_prob(z)).mean(0)
    assert analytic.shape == (4,)
    torch.testing.assert_close(analytic, mc, atol=0.02, rtol=0.01)


def test_pathwise_gradient_matches_closed_form():
    # d/dμ E[z²] = 2μ and d/dσ E[z²] = 2σ for z ~ N(μ, σ²)
    mu = torch.tensor([0.7], requires_grad=True)
    sigma = torch.tensor([1.3], requires_grad=True)
    q = Independent(Normal(mu, sigma), 1)
    z = rsample(q, 400_000, torch.Generator().manual_seed(1))
    (z**2).mean().backward()
    assert mu.grad.item() == pytest.approx(1.4, abs=0.02)
    assert sigma.grad.item() == pytest.approx(2.6, abs=0.02)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return VAE(ModelConfig(input_dim=12, latent_dim=3, hidden=(16,), likelihood="bernoulli"))


def test_elbo_terms_are_per_example_and_consistent(model):
    x = (torch.rand(7, 12) > 0.5).float()
    t = ELBO()(model, x, torch.Generator().manual_seed(0))
    for v in (t.elbo, t.reconstruction, t.kl):
        assert v.shape == (7,)
    torch.testing.assert_close(t.elbo, t.reconstruction - t.kl)
    assert torch.all(t.kl >= 0)
    torch.testing.assert_close(t.loss, -t.elbo.mean())


def test_elbo_equals_manual_computation(model):
    x = (torch.rand(5, 12) > 0.5).float()
    t = ELBO()(model, x, torch.Generator().manual_seed(3))
    h = model.encoder(x)
    loc, scale = h[:, :3], torch.nn.functional.softplus(h[:, 3:]) + 1e-5
    eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(3))
    z = loc + scale * eps
    logits = model.decoder(z)
    rec = -torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = 0.5 * (loc**2 + scale**2 - 1 - 2 * scale.log()).sum(1)
    torch.testing.assert_close(t.reconstruction, rec)
    torch.testing.assert_close(t.kl, kl)


def test_beta_scales_only_the_kl_in_the_loss(model):
    x = (torch.rand(5, 12) > 0.5).float()
    t0 = ELBO(beta=0.0)(model, x, torch.Generator().manual_seed(0))
    t2 = ELBO(beta=2.0)(model, x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(t0.loss, -t0.reconstruction.mean())
    torch.testing.assert_close(t2.loss, -(t2.reconstruction - 2 * t2.kl).mean())
    torch.testing.assert_close(t0.elbo, t2.elbo)
    assert math.isfinite(t2.loss.item())


def test_raw_scale_inverts_the_posterior_scale_map():
    from vaekit.models import posterior, raw_scale

    s = torch.tensor([2e-5, 1e-3, 0.5, 3.0, 50.0])
    back = posterior(torch.zeros(5), raw_scale(s)).base_dist.scale
    torch.testing.assert_close(back, s, rtol=1e-5, atol=1e-9)
