"""The IS log-likelihood against the exact marginal of a linear-Gaussian model."""

import numpy as np
import torch
from scipy.stats import multivariate_normal

from vaekit import VAE, ModelConfig, elbo_terms, log_likelihood


def _linear_model(seed=0):
    torch.manual_seed(seed)
    m = VAE(ModelConfig(input_dim=5, latent_dim=2, arch="linear", likelihood="gaussian",
                        sigma=0.8))  # fmt: skip
    # A sensible but imperfect proposal: the exact posterior mean, stds 1.5x too wide.
    w, b = m.decoder[0].weight.detach(), m.decoder[0].bias.detach()  # (D, L), (D,)
    minv = torch.linalg.inv(w.T @ w + 0.64 * torch.eye(2))
    std = 1.5 * torch.sqrt(0.64 * torch.diagonal(minv))
    enc = m.encoder[0]
    with torch.no_grad():
        enc.weight[:2] = minv @ w.T
        enc.bias[:2] = -(minv @ w.T) @ b
        enc.weight[2:] = 0
        enc.bias[2:] = std + torch.log(-torch.expm1(-std))  # inverse softplus
    return m


def _exact(m, x):
    w = m.decoder[0].weight.detach().double().numpy()  # (D, L)
    b = m.decoder[0].bias.detach().double().numpy()
    cov = w @ w.T + 0.8**2 * np.eye(5)
    return multivariate_normal(b, cov).logpdf(x.double().numpy())


def test_is_estimate_converges_to_exact_log_likelihood():
    m = _linear_model()
    x = torch.randn(200, 5)
    exact = _exact(m, x)
    errors = []
    for k in (1, 10, 100, 5000):
        est = log_likelihood(m, x, k, seed=0).numpy()
        errors.append(np.abs(est - exact).mean())
    assert errors == sorted(errors, reverse=True)  # error shrinks as k grows
    assert errors[-1] < 0.02


def test_is_bound_increases_with_k_and_exceeds_elbo_on_average():
    m = _linear_model(1)
    x = torch.randn(300, 5)
    elbo = float(elbo_terms(m, x)["elbo"].mean())
    means = [float(log_likelihood(m, x, k, seed=2).mean()) for k in (1, 5, 50, 500)]
    assert means == sorted(means)
    assert means[-1] > elbo
    assert float(_exact(m, x).mean()) >= means[-1] - 0.01


def test_k1_bound_equals_elbo_in_expectation():
    m = _linear_model(2)
    x = torch.randn(2000, 5)
    k1 = float(log_likelihood(m, x, 1, seed=5).mean())
    elbo = float(elbo_terms(m, x, seed=6)["elbo"].mean())
    assert abs(k1 - elbo) < 0.1


def test_chunking_does_not_change_the_estimate(monkeypatch):
    import vaekit.evaluation as ev

    m = _linear_model(3)
    x = torch.randn(50, 5)
    exact = _exact(m, x)
    a = log_likelihood(m, x, 256, seed=0)
    monkeypatch.setattr(ev, "_CHUNK_ELEMENTS", 7)  # forces chunks of one sample each
    b = log_likelihood(m, x, 256, seed=0)
    assert a.dtype == torch.float64 and a.shape == b.shape == (50,)
    # torch draws other numbers in chunks, so compare both with the exact value
    assert np.abs(a.numpy() - exact).mean() < 0.08
    assert np.abs(b.numpy() - exact).mean() < 0.08
