import numpy as np
import pytest
import torch
from scipy import stats

from vaekit import LIKELIHOODS, DataError, make_likelihood

D = 6


def _out(name: str, batch: int = 5, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, LIKELIHOODS[name].params_per_dim * D, generator=g)


def test_bernoulli_log_prob_matches_scipy():
    lik = make_likelihood("bernoulli", D)
    out = _out("bernoulli")
    x = (torch.rand(5, D) > 0.5).float()
    p = torch.sigmoid(out).double().numpy()
    expected = stats.bernoulli.logpmf(x.numpy(), p).sum(1)
    np.testing.assert_allclose(lik.log_prob(out, x).numpy(), expected, rtol=1e-5)
    # the fast path equals the torch.distributions path
    np.testing.assert_allclose(lik.log_prob(out, x), lik.distribution(out).log_prob(x), rtol=1e-6)


@pytest.mark.parametrize(
    "name", ["gaussian", "gaussian-shared", "gaussian-diag", "gaussian-decoded"]
)
def test_gaussian_log_prob_matches_scipy(name):
    lik = make_likelihood(name, D, sigma=0.7, sigma_floor=1e-3)
    if name == "gaussian-diag":
        with torch.no_grad():
            lik.raw_scale.copy_(torch.linspace(-1, 1, D))
    out = _out(name)
    x = torch.randn(5, D)
    loc = out[:, :D].numpy()
    scale = lik.scale(out).detach().numpy()
    expected = stats.norm.logpdf(x.numpy(), loc, scale).sum(1)
    got = lik.log_prob(out, x).detach().numpy()
    assert got.shape == (5,)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(lik.mean(out).detach(), out[:, :D])


def test_fixed_sigma_is_the_given_one_and_learned_sigma_starts_there():
    assert make_likelihood("gaussian", D, sigma=0.3).scale(_out("gaussian"))[0, 0] == pytest.approx(
        0.3
    )
    lik = make_likelihood("gaussian-shared", D, sigma=0.3)
    assert float(lik.scale(_out("gaussian-shared"))[0, 0].detach()) == pytest.approx(0.3, rel=1e-5)


def test_decoded_sigma_cannot_collapse_below_floor():
    lik = make_likelihood("gaussian-decoded", D, sigma=1.0, sigma_floor=0.05)
    out = torch.cat([torch.zeros(2, D), torch.full((2, D), -1e4)], 1)
    assert torch.all(lik.scale(out) >= 0.05)
    assert torch.isfinite(lik.log_prob(out, torch.ones(2, D))).all()


def test_bernoulli_rejects_non_binary_data():
    lik = make_likelihood("bernoulli", 3)
    lik.check_data(np.array([[0, 1, 1.0]]))
    with pytest.raises(DataError, match="not binary"):
        lik.check_data(np.array([[0, 0.5, 1.0]]))


def test_unknown_likelihood_name():
    from vaekit import ConfigError

    with pytest.raises(ConfigError, match="unknown likelihood"):
        make_likelihood("poisson", 3)
