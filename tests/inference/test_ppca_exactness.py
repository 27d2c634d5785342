"""A linear VAE with a learned shared σ reaches the exact probabilistic-PCA maximum likelihood.

At its optimum the linear VAE's ELBO is tight (Lucas et al. 2019), so both its ELBO and its
IS log-likelihood must match the Tipping & Bishop closed form, computed independently here.
"""

import numpy as np
import torch

import vaekit
from vaekit import Dataset

from ..ppca import ppca_log_likelihood, ppca_mle, sample_ppca


def test_linear_vae_reaches_exact_ppca_likelihood(tmp_path):
    x = sample_ppca(7000, 10, 2, 0.5, seed=0)
    train, valid, test = x[:5000], x[5000:6000], x[6000:]
    mu, cov = ppca_mle(train, q=2)
    exact = ppca_log_likelihood(test, mu, cov)
    run = vaekit.train(dataset=Dataset("ppca", train, valid, test), data="ppca",
                       out=tmp_path / "run", quiet=True, arch="linear",
                       likelihood="gaussian-shared", latent_dim=2, epochs=60, lr=2e-2,
                       batch_size=250, lr_schedule="cosine")  # fmt: skip
    # The ELBO is an expectation: average the one-sample estimate over seeds (its seed-to-seed
    # spread on 1000 examples is ~0.03 nats, i.e. 0.3%).
    elbo = np.mean(
        [float(vaekit.elbo_terms(run.model, test, seed=s)["elbo"].mean()) for s in range(10)]
    )
    ll = float(vaekit.log_likelihood(run.model, test, k=1000).mean())
    assert abs(elbo - exact) / abs(exact) < 0.005, (elbo, exact)
    assert abs(ll - exact) / abs(exact) < 0.002, (ll, exact)
    # and the sample covariance of the model equals the closed-form one
    w = run.model.decoder[0].weight.detach().double().numpy()
    sigma = float(run.model.likelihood.scale(torch.zeros(1, 10))[0, 0].detach())
    np.testing.assert_allclose(w @ w.T + sigma**2 * np.eye(10), cov, atol=0.1 * np.abs(cov).max())
