import numpy as np
import pytest
import torch
from scipy import stats

import vaekit
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


@pytest.mark.parametrize("dim", [1, 7, 64, 784, 96])
def test_bernoulli_log_prob_without_gradient_matches_scipy_and_the_autograd_form(dim):
    """The no-grad form (products of σ(|l|) over halves) against the exact value in float64,
    and against the autograd form in float32, with logits from −300 to 300 and exact zeros."""
    g = torch.Generator().manual_seed(dim)
    out = torch.randn(3, 4, dim, generator=g, dtype=torch.float64) * 8  # (S, B, D)
    out[0, 0] = torch.linspace(-300, 300, dim, dtype=torch.float64)
    out[0, 1, ::3] = 0.0
    x = (torch.rand(4, dim, generator=g) < 0.3).double()  # (B, D), broadcast over S
    lik = make_likelihood("bernoulli", dim)
    # float64 x·l − log(1 + e^l) as the reference (logaddexp: F.softplus returns l itself above
    # l = 20, off by e^-20); scipy via p = σ(l) loses digits where p rounds near 1, so it is
    # held to 1e-6 only, and not at |l| = 300.
    exact = (x * out - torch.logaddexp(torch.zeros_like(out), out)).sum(-1).numpy()
    p = torch.sigmoid(out[1:]).numpy()
    scipy_ll = stats.bernoulli.logpmf(np.broadcast_to(x.numpy(), p.shape), p).sum(-1)
    np.testing.assert_allclose(exact[1:], scipy_ll, rtol=1e-6)
    with torch.no_grad():
        fast = lik.log_prob(out, x)
        fast32 = lik.log_prob(out.float(), x.float())
    assert fast.shape == (3, 4)
    np.testing.assert_allclose(fast.numpy(), exact, rtol=1e-13, atol=1e-10)
    grad_form = lik.log_prob(out.float().requires_grad_(), x.float()).detach()
    np.testing.assert_allclose(fast32.numpy(), grad_form.numpy(), rtol=2e-6, atol=1e-4)
    np.testing.assert_allclose(fast32.double().numpy(), exact, rtol=2e-6, atol=1e-4)


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
    scale = _sigma_by_hand(name, lik, out.double().numpy())  # not the code under test's σ
    expected = stats.norm.logpdf(x.numpy(), loc, scale).sum(1)
    got = lik.log_prob(out, x).detach().numpy()
    assert got.shape == (5,)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(lik.mean(out).detach(), out[:, :D])


def _softplus(v):
    return np.logaddexp(0.0, v)


def _sigma_by_hand(name, lik, out):
    """σ from the documented parameterisation, in float64 NumPy: σ = floor + softplus(raw),
    with raw chosen so that σ starts at the configured sigma (0.7 here)."""
    floor, start = 1e-3, 0.7
    offset = np.log(np.expm1(start - floor))  # softplus⁻¹(0.7 − floor)
    if name == "gaussian":
        return np.full((out.shape[0], D), start)
    if name == "gaussian-decoded":  # the decoder's second half, shifted by the offset
        return floor + _softplus(out[:, D:] + offset)
    raw = lik.raw_scale.detach().double().numpy()  # the learned parameter itself
    return np.broadcast_to(floor + _softplus(raw), (out.shape[0], D))


def test_learned_sigma_starts_at_the_given_value_by_hand():
    for name in ("gaussian-shared", "gaussian-diag"):
        lik = make_likelihood(name, D, sigma=0.7, sigma_floor=1e-3)
        np.testing.assert_allclose(_sigma_by_hand(name, lik, np.zeros((2, 2 * D))), 0.7)


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


def test_diag_sigma_starts_per_column_from_the_config():
    cfg = vaekit.ModelConfig(input_dim=3, likelihood="gaussian-diag", sigma=1.0,
                             sigma_start=(0.01, 2.0, 500.0))  # fmt: skip
    lik = vaekit.DiagGaussianLikelihood.from_config(cfg)
    scale = lik.distribution(torch.zeros(1, 3)).base_dist.scale[0]
    np.testing.assert_allclose(scale.detach().numpy(), [0.01, 2.0, 500.0], rtol=1e-5)
    shared = vaekit.ModelConfig(input_dim=3, likelihood="gaussian-shared", sigma_start=(1, 2, 3))
    assert shared.sigma_start is None  # one σ: nothing per column to start
    with pytest.raises(vaekit.ConfigError, match="2 entries for 3"):
        vaekit.ModelConfig(input_dim=3, likelihood="gaussian-diag", sigma_start=(1, 2))
    with pytest.raises(vaekit.ConfigError, match="above sigma_floor"):
        vaekit.ModelConfig(input_dim=2, likelihood="gaussian-diag", sigma_start=(1, 1e-4))
