"""Priors against independent computations: scipy densities, moments, a closed-form marginal."""

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm
from torch.distributions import Independent, MixtureSameFamily, Normal

from vaekit import ELBO, VAE, ModelConfig, kl_per_dim, kl_to_prior, log_likelihood
from vaekit.models import GaussianMixture


def _mixture(k=5, dim=3, seed=0, spread=1.0, scale=(0.05, 1.5)):
    g = torch.Generator().manual_seed(seed)
    loc = spread * torch.randn(k, dim, generator=g)
    sd = scale[0] + (scale[1] - scale[0]) * torch.rand(k, dim, generator=g)
    return GaussianMixture(loc, sd), loc.double().numpy(), sd.double().numpy()


def _scipy_log_prob(z, loc, sd):
    comp = norm.logpdf(z[:, None, :], loc[None], sd[None]).sum(-1)  # (N, K)
    return logsumexp(comp, axis=1) - np.log(loc.shape[0])


@pytest.mark.parametrize("spread", [0.5, 10.0])
def test_mixture_log_prob_matches_scipy(spread):
    p, loc, sd = _mixture(spread=spread)
    z = spread * torch.randn(400, 3, generator=torch.Generator().manual_seed(1))
    ours = p.log_prob(z.reshape(20, 20, 3)).reshape(-1).double().numpy()
    np.testing.assert_allclose(ours, _scipy_log_prob(z.double().numpy(), loc, sd), rtol=2e-6)
    # and against torch's own (N, K, L) implementation that the expansion replaces
    torch.testing.assert_close(p.log_prob(z), MixtureSameFamily.log_prob(p, z))


def test_mixture_log_prob_keeps_precision_far_from_narrow_components():
    # z ≈ 30, σ = 0.05: squared terms of 1e6 cancel to O(1); float32 would lose the answer.
    p, loc, sd = _mixture(k=4, spread=30.0, scale=(0.05, 0.06))
    z = torch.from_numpy(loc[:2] + 0.03).float()  # near two components
    ours = p.log_prob(z).double().numpy()
    np.testing.assert_allclose(ours, _scipy_log_prob(z.double().numpy(), loc, sd), rtol=1e-5)


def test_vamp_samples_have_the_mixture_moments():
    torch.manual_seed(0)
    m = VAE(ModelConfig(input_dim=6, latent_dim=2, hidden=(8,), prior="vamp",
                        prior_components=3))  # fmt: skip
    with torch.no_grad():
        m.prior.pseudo_inputs.uniform_(0, 1)
        base = m.prior.distribution().component_distribution.base_dist
        mu, var = base.loc.double(), base.scale.double() ** 2  # (K, L)
        z = m.prior.sample(200_000, torch.Generator().manual_seed(2)).double()
    mean = mu.mean(0)
    second = (var + mu**2).mean(0)
    torch.testing.assert_close(z.mean(0), mean, atol=5 * float(second.max().sqrt()) / 450, rtol=0)
    torch.testing.assert_close((z**2).mean(0), second, rtol=0.02, atol=0.01)


def test_monte_carlo_kl_averages_draws_and_matches_the_analytic_kl():
    g = torch.Generator().manual_seed(0)
    q = Independent(Normal(torch.randn(4, 3, generator=g), 0.5 + torch.rand(4, 3, generator=g)), 1)
    one = GaussianMixture(torch.zeros(1, 3), torch.ones(1, 3))  # N(0, I) as a mixture
    analytic = kl_to_prior(q, Independent(Normal(torch.zeros(3), torch.ones(3)), 1), None)
    z = q.base_dist.loc + q.base_dist.scale * torch.randn(20_000, 4, 3, generator=g)
    mc = kl_to_prior(q, one, z)  # no closed form is registered for a mixture: the estimate
    assert mc.shape == (4,)
    torch.testing.assert_close(mc, analytic, atol=0.05, rtol=0)


def test_kl_per_dim_refuses_a_mixture_prior():
    q = Independent(Normal(torch.zeros(2, 3), torch.ones(2, 3)), 1)
    with pytest.raises(ValueError, match="factorises"):
        kl_per_dim(q, GaussianMixture(torch.zeros(2, 3), torch.ones(2, 3)))


def _linear_vamp(seed=0):
    """Linear-Gaussian decoder under a 3-component VampPrior: p(x) is a Gaussian mixture."""
    torch.manual_seed(seed)
    m = VAE(ModelConfig(input_dim=4, latent_dim=2, arch="linear", likelihood="gaussian",
                        sigma=0.7, prior="vamp", prior_components=3))  # fmt: skip
    w, b = m.decoder[0].weight.detach(), m.decoder[0].bias.detach()  # (D, L), (D,)
    with torch.no_grad():
        m.prior.pseudo_inputs.uniform_(0, 1)
        enc = m.encoder[0]
        # Means: the standard-prior posterior mean; stds 0.6, wider than the posterior (a
        # proposal must cover it) and narrow enough that the prior is far from N(0, I).
        enc.weight[:2] = torch.linalg.inv(w.T @ w + 0.49 * torch.eye(2)) @ w.T
        enc.bias[:2] = -enc.weight[:2] @ b
        enc.weight[2:] = 0
        enc.bias[2:] = 0.6 + torch.log(-torch.expm1(torch.tensor(-0.6)))
    return m


def _exact_vamp_log_likelihood(m, x):
    base = m.prior.distribution().component_distribution.base_dist
    mu, sd = base.loc.detach().double().numpy(), base.scale.detach().double().numpy()
    w = m.decoder[0].weight.detach().double().numpy()  # (D, L)
    b = m.decoder[0].bias.detach().double().numpy()
    comps = [multivariate_normal(w @ mu[k] + b, w @ np.diag(sd[k] ** 2) @ w.T + 0.49 * np.eye(4))
             for k in range(mu.shape[0])]  # fmt: skip
    xs = x.double().numpy()
    return logsumexp([c.logpdf(xs) for c in comps], axis=0) - np.log(len(comps))


def test_is_estimate_under_a_vamp_prior_converges_to_the_exact_marginal():
    m = _linear_vamp()
    x = m.sample(300, torch.Generator().manual_seed(3), noise=True)
    exact = _exact_vamp_log_likelihood(m, x)
    errors = [
        np.abs(log_likelihood(m, x, k, seed=0).numpy() - exact).mean() for k in (1, 30, 20000)
    ]
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 0.01


def test_vamp_gradients_reach_the_pseudo_inputs_and_the_encoder_through_the_prior():
    m = _linear_vamp()
    x = torch.randn(8, 4)
    ELBO()(m, x, torch.Generator().manual_seed(0)).loss.backward()
    assert m.prior.pseudo_inputs.grad is not None and m.prior.pseudo_inputs.grad.abs().sum() > 0
    # the encoder is trained both as the posterior and as the prior's components
    enc_grad = m.encoder[0].weight.grad.clone()
    m.zero_grad()
    q = m.encode(x)
    z = q.base_dist.loc.detach()
    (-m.prior.log_prob(z).sum()).backward()  # the prior term alone
    assert m.encoder[0].weight.grad.abs().sum() > 0 and not torch.equal(enc_grad, 0 * enc_grad)


def test_is_encodes_the_pseudo_inputs_once_a_batch_with_the_numbers_of_once_a_chunk(monkeypatch):
    # A chunk can be a single draw (conv decoders); re-encoding K pseudo-inputs each chunk
    # cost more than the decoding. Computing p(z) once a batch must not change a single bit.
    import vaekit.inference.importance as importance

    m = _linear_vamp()
    x = m.sample(30, torch.Generator().manual_seed(4), noise=True)  # (30, 4)
    monkeypatch.setattr(importance, "CHUNK_ELEMENTS", 10 * 4)  # 1-draw chunks of 10 rows
    calls = []
    m.encoder.register_forward_hook(lambda mod, inp, out: calls.append(inp[0].shape[0]))
    ours = log_likelihood(m, x, 7, batch_size=10, seed=5)
    assert calls.count(3) == 3  # the 3 pseudo-inputs: once for each of the 3 batches
    gen = torch.Generator().manual_seed(5)  # the same draws, the prior recomputed each chunk
    per_chunk = []
    for xb in x.split(10):
        q, acc = m.encode(xb), torch.full((10,), -np.inf, dtype=torch.float64)
        for _ in range(7):  # the loop's own accumulation, so only the prior's reuse differs
            lw = importance.log_weights(m, xb, 1, gen, q)  # (1, B)
            acc = torch.logaddexp(acc, torch.logsumexp(lw.double(), 0))
        per_chunk.append(acc - np.log(7))
    assert torch.equal(ours, torch.cat(per_chunk))
