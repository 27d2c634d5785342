"""Probabilistic PCA (Tipping & Bishop 1999) in closed form, independent of vaekit."""

from __future__ import annotations

import numpy as np
from scipy.stats import multivariate_normal


def sample_ppca(n: int, d: int, q: int, noise_std: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(d, q)) * 1.5
    mu = rng.normal(size=d)
    z = rng.normal(size=(n, q))
    return (z @ w.T + mu + noise_std * rng.normal(size=(n, d))).astype(np.float32)


def ppca_mle(x: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood mean and covariance W Wᵀ + σ² I of a q-dimensional PPCA."""
    x = x.astype(np.float64)
    mu = x.mean(0)
    s = np.cov(x, rowvar=False, bias=True)  # the ML covariance (1/N)
    evals, evecs = np.linalg.eigh(s)
    evals, evecs = evals[::-1], evecs[:, ::-1]
    sigma2 = evals[q:].mean()
    w = evecs[:, :q] * np.sqrt(evals[:q] - sigma2)
    return mu, w @ w.T + sigma2 * np.eye(x.shape[1])


def ppca_log_likelihood(x: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> float:
    """Mean exact log p(x) per example, in nats."""
    return float(multivariate_normal(mu, cov).logpdf(x.astype(np.float64)).mean())
