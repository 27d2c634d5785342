"""Conditional VAEs against exact values: linear-Gaussian models whose p(x|c) is a Gaussian.

With a linear decoder x = W z + V f(c) + b + σε and a linear learned prior p(z|c) =
N(A f + a, diag s(f)²), p(x|c) = N(W μ(f) + V f + b, W diag s² Wᵀ + σ² I) exactly; for a mask
the same holds for the unobserved dimensions given the observed ones (f = x ⊙ m).
"""

import numpy as np
import pytest
import torch
from scipy.stats import bernoulli, multivariate_normal
from torch.distributions import Independent, Normal

from vaekit import VAE, ModelConfig
from vaekit.errors import ConfigError
from vaekit.inference.importance import log_likelihood, log_likelihood_batch
from vaekit.models.conditions import quadrant_mask

SIGMA = 0.7


def _linear(cond, **kw):
    torch.manual_seed(0)
    return VAE(ModelConfig(input_dim=6, latent_dim=2, arch="linear", hidden=(), prior="learned",
                           likelihood="gaussian", sigma=SIGMA, condition=cond, **kw))  # fmt: skip


def _gaussians(m, f):
    """Decoder W (D, L), V (D, F), b (D,) and the prior's means and stds (B, L), float64."""
    dec = m.decoder
    w, v, b = (t.detach().double() for t in (dec.first.weight, dec.cond.weight, dec.first.bias))
    p = m.prior.distribution(f).base_dist
    return w, v, b, p.loc.detach().double(), p.scale.detach().double()


def _exact(m, f, x, u):
    """log N(x_u; mean_u, cov_uu) for features f (B, F), data x (B, D), scored dims u."""
    w, v, b, mu, s = (t.numpy() for t in _gaussians(m, f))
    fn, out = f.double().numpy(), []
    for i in range(x.shape[0]):
        mean = w @ mu[i] + v @ fn[i] + b
        cov = w @ np.diag(s[i] ** 2) @ w.T + SIGMA**2 * np.eye(6)
        out.append(multivariate_normal(mean[u], cov[np.ix_(u, u)]).logpdf(x[i, u].double().numpy()))
    return np.array(out)


def _estimate(m, rows, f, x, u, k=20000):
    """IS log p(x_u|c) with the exact posterior, 1.3x wider, as the proposal: the log-joint and
    the estimator are what is tested here, not how good a random encoder is."""
    w, v, b, mu, s = _gaussians(m, f)
    wu = w[u]  # (U, L)
    prec = wu.T @ wu / SIGMA**2 + torch.diag_embed(s**-2)  # (B, L, L)
    resid = x.double()[:, u] - (f.double() @ v.T + b)[:, u]  # (B, U)
    mean = torch.linalg.solve(prec, (resid @ wu / SIGMA**2 + mu / s**2)[..., None])[..., 0]
    std = 1.3 * torch.linalg.inv(prec).diagonal(dim1=-2, dim2=-1).sqrt()
    q = Independent(Normal(mean.float(), std.float()), 1)
    return log_likelihood_batch(m, rows, k, torch.Generator().manual_seed(3), q).numpy()


def test_class_conditional_log_likelihood_is_exact():
    m = _linear("labels", condition_classes=("a", "b", "c"))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 6, generator=g)
    c = torch.tensor([[0.0], [1.0], [2.0], [1.0], [0.0]])
    rows = torch.cat([x, c], 1)
    exact = _exact(m, m.parts(rows)[1], x, np.arange(6))
    est = _estimate(m, rows, m.parts(rows)[1], x, np.arange(6))
    np.testing.assert_allclose(est, exact, atol=0.02)
    # The encoder's own proposal agrees too, with more draws; the condition matters: the same
    # x under other classes has another likelihood.
    np.testing.assert_allclose(log_likelihood(m, rows, k=50000).numpy(), exact, atol=0.15)
    other = torch.cat([x, (c + 1) % 3], 1)
    assert np.abs(log_likelihood(m, other, k=2000).numpy() - exact).max() > 0.3


def test_mask_conditional_log_likelihood_scores_only_the_missing_part():
    mask = (0, 2, 3)  # observed dimensions
    m = _linear("mask:observed.npy", condition_mask=mask)
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(2))
    missing = np.array([1, 4, 5])
    exact = _exact(m, m.parts(x)[1], x, missing)
    np.testing.assert_allclose(_estimate(m, x, m.parts(x)[1], x, missing), exact, atol=0.02)
    # Changing an observed value changes the condition, not a scored term of the likelihood.
    lj = m(x, 3, torch.Generator().manual_seed(0))
    decoded = m.decode(lj.z, lj.features).base_dist
    manual = decoded.log_prob(x)[..., missing].sum(-1)
    torch.testing.assert_close(lj.log_likelihood, manual)


def test_masked_bernoulli_log_prob_matches_scipy():
    m = VAE(ModelConfig(input_dim=16, latent_dim=2, hidden=(8,), image_shape=(4, 4),
                        condition="quadrants:3", condition_mask=tuple(
                            int(i) for i in np.flatnonzero(quadrant_mask((4, 4), 3)))))  # fmt: skip
    x = (torch.rand(3, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    lj = m(x)
    p = torch.sigmoid(lj.decoder_output).detach().double().numpy()
    unobserved = np.flatnonzero(1 - quadrant_mask((4, 4), 3))  # the top-right 2x2
    assert list(unobserved) == [2, 3, 6, 7]
    want = bernoulli(p[:, unobserved]).logpmf(x[:, unobserved].numpy()).sum(-1)
    np.testing.assert_allclose(lj.log_likelihood.detach().numpy(), want, rtol=1e-5)


def test_quadrants_follow_pyros_order():
    q1, q2, q3 = (quadrant_mask((4, 4), k).reshape(4, 4) for k in (1, 2, 3))
    assert q1[2:, :2].all() and q1.sum() == 4  # bottom-left
    assert q2[:, :2].all() and q2.sum() == 8  # the left half
    assert (q3 == 1 - np.pad(np.ones((2, 2)), ((0, 2), (2, 0)))).all()  # all but top-right
    assert quadrant_mask((2, 2, 3), 1).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"prior": "learned"}, "it needs"),
        ({"condition": "labels", "prior": "vamp", "condition_classes": ("a",)}, "not conditional"),
        ({"condition": "labels"}, "missing what the data gives"),
        ({"condition": "mask:m.npy", "condition_mask": ()}, "some but not all"),
        ({"condition": "mask:m.npy", "condition_mask": tuple(range(6))}, "some but not all"),
        ({"condition": "quadrants:4"}, "K = 1, 2 or 3"),
        ({"condition": "colour"}, "must be one of"),
    ],
)
def test_bad_conditional_settings_are_one_line_errors(kw, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(input_dim=6, latent_dim=2, **kw)
