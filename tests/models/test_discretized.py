"""DiscretizedLogistic against independent references: scipy's logistic cdf in float64 where
the masses are representable, mpmath at 50 digits in the far tails, and sampling frequencies."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import torch
from scipy import stats
from torch.distributions import Independent

from vaekit.models.discretized import DiscretizedLogistic

L = 256
H = 0.5 / (L - 1)
GRID = np.arange(L) / (L - 1)  # (256,)


def _scipy_log_probs(mu: float, s: float) -> np.ndarray:
    """log P(k/255) for all 256 levels from scipy cdf/sf differences in float64, (256,).

    Each mass is a difference of two cdf values (or of two sf values, on the side of μ where
    the cdf is near 1), so it is exact to ~1e-13 until it underflows to 0 (log = -inf)."""
    lo, hi = (GRID - H - mu) / s, (GRID + H - mu) / s
    dist = stats.logistic
    mass = np.where(lo > 0, dist.sf(lo) - dist.sf(hi), dist.cdf(hi) - dist.cdf(lo))
    mass[0], mass[-1] = dist.cdf(hi[0]), dist.sf(lo[-1])
    with np.errstate(divide="ignore"):
        return np.log(mass)


def _mpmath_log_prob(mu: float, s: float, k: int) -> float:
    """log P(k/255) at 50 digits, by the textbook formula: no float underflow, no cancellation."""
    with mpmath.workdps(50):
        x, h, mu, s = mpmath.mpf(k) / (L - 1), mpmath.mpf(1) / (2 * (L - 1)), mpmath.mpf(mu), s
        a, b = (x + h - mu) / s, (x - h - mu) / s

        def cdf(t):
            return 1 / (1 + mpmath.exp(-t))

        def sf(t):
            return 1 / (1 + mpmath.exp(t))

        if k == 0:
            mass = cdf(a)
        elif k == L - 1:
            mass = sf(b)
        else:
            mass = sf(b) - sf(a) if b > 0 else cdf(a) - cdf(b)
        return float(mpmath.log(mass))


def _log_probs(mu: float, s: float, dtype=torch.float64) -> torch.Tensor:
    """The module's log P over all 256 levels for one (μ, s), (256,)."""
    loc = torch.full((L,), mu, dtype=dtype)
    log_scale = torch.full((L,), float(np.log(s)), dtype=dtype)
    return DiscretizedLogistic(loc, log_scale).log_prob(torch.tensor(GRID, dtype=dtype))


def _random_params(n: int, seed: int) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    mus = rng.uniform(-0.5, 1.5, n)
    scales = np.exp(rng.uniform(np.log(1e-3), 0.0, n))
    return list(zip(mus.tolist(), scales.tolist(), strict=True))


@pytest.mark.parametrize(("mu", "s"), _random_params(12, 0) + [(0.0, 1e-3), (1.0, 1.0)])
def test_log_prob_matches_scipy_in_float64_on_all_levels(mu, s):
    expected = _scipy_log_probs(mu, s)
    got = _log_probs(mu, s).numpy()
    # scipy's masses lose digits as subnormals (< e^-708) and underflow to 0 beyond: those far
    # tails are checked against mpmath below.
    normal = expected > -700
    assert normal[[0, -1]].any() and normal.sum() > 10
    np.testing.assert_allclose(got[normal], expected[normal], rtol=1e-5, atol=1e-12)
    assert np.isfinite(got).all()


@pytest.mark.parametrize(("mu", "s"), _random_params(12, 1))
def test_log_prob_in_float32_matches_scipy_where_the_mass_is_not_tiny(mu, s):
    expected = _scipy_log_probs(mu, s)
    got = _log_probs(mu, s, torch.float32).numpy()
    sizable = expected > -20
    assert sizable.any()
    # float32 x - μ is off by ~6e-8, i.e. by ~6e-8/s in the standardised edges.
    np.testing.assert_allclose(got[sizable], expected[sizable], rtol=1e-4, atol=2e-4)


@pytest.mark.parametrize(
    ("mu", "s"), [(-0.5, 1e-3), (1.5, 1e-3), (0.3, 1e-6), (-50.0, 1e-2), (0.5, 1e4), (2.0, 0.02)]
)
def test_log_prob_matches_mpmath_in_the_far_tails(mu, s):
    got = _log_probs(mu, s).numpy()
    expected = np.array([_mpmath_log_prob(mu, s, k) for k in range(L)])
    assert expected.min() < -100 or s > 1  # really in the tails (or the wide case)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("mu", "s"),
    [(0.5, 0.1), (0.0, 1e-3), (1.0, 1e-3), (-3.0, 0.5), (4.0, 2.0), (0.7, 1e-6), (0.2, 1e3)],
)
def test_masses_sum_to_one(mu, s):
    assert _log_probs(mu, s).exp().sum().item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_log_prob_and_gradients_are_finite_for_extreme_inputs(dtype):
    locs = torch.tensor([-1e30, -50.0, 0.0, 0.5, 100 / 255, 100.5 / 255, 1.0, 50.0, 1e30])
    log_scales = torch.tensor([-200.0, -40.0, -14.0, -6.0, 0.0, 14.0, 80.0, 200.0])
    grid = torch.tensor(GRID, dtype=torch.float32)
    loc, log_scale, x = torch.meshgrid(locs, log_scales, grid, indexing="ij")
    loc = loc.to(dtype).requires_grad_()
    log_scale = log_scale.to(dtype).requires_grad_()
    lp = DiscretizedLogistic(loc, log_scale).log_prob(x.to(dtype))
    assert torch.isfinite(lp).all() and (lp <= 0).all()
    g_loc, g_scale = torch.autograd.grad(lp.sum(), (loc, log_scale))
    assert torch.isfinite(g_loc).all() and torch.isfinite(g_scale).all()


def test_far_away_loc_with_tiny_scale_is_finite_with_finite_gradients():
    loc = torch.tensor(-50.0, requires_grad=True)
    log_scale = torch.tensor(float(np.log(1e-6)), requires_grad=True)
    lp = DiscretizedLogistic(loc, log_scale).log_prob(torch.tensor(1.0))
    # log σ(-b) with b = (1 - h + 50)/1e-6: the mass above the last lower edge, ≈ -5.1e7.
    assert torch.isfinite(lp) and lp.item() == pytest.approx(-(51 - H) / 1e-6, rel=1e-6)
    grads = torch.autograd.grad(lp, (loc, log_scale))
    assert all(torch.isfinite(g) for g in grads)
    assert grads[0].item() == pytest.approx(1e6, rel=1e-4)  # d/dμ of -(x - h - μ)/s


def test_loc_at_a_bin_centre_with_tiny_scale_is_certain():
    x = torch.tensor([0.0, 100 / 255, 1.0], dtype=torch.float64)
    d = DiscretizedLogistic(x, torch.full((3,), float(np.log(1e-6)), dtype=torch.float64))
    assert d.log_prob(x).abs().max().item() < 1e-12
    # on a bin edge, exactly half of the mass falls in each neighbouring bin
    edge = DiscretizedLogistic(torch.tensor(100.5 / 255, dtype=torch.float64), torch.tensor(-20.0))
    lp = edge.log_prob(torch.tensor([100 / 255, 101 / 255], dtype=torch.float64))
    torch.testing.assert_close(lp, torch.full((2,), np.log(0.5), dtype=torch.float64))


def test_sample_with_is_on_the_grid_and_matches_the_masses():
    mu, s = 0.02, 0.03  # puts sizeable mass in the first (edge) bin too
    d = DiscretizedLogistic(torch.tensor(mu), torch.tensor(np.log(s), dtype=torch.float32))
    draws = d.sample_with(torch.Generator().manual_seed(0), (200_000,))
    assert draws.shape == (200_000,) and draws.dtype == torch.float32
    assert draws.min() >= 0 and draws.max() <= 1
    k = draws.double() * (L - 1)
    assert (k - k.round()).abs().max() < 1e-4
    freq = np.bincount(k.round().long().numpy(), minlength=L) / draws.numel()
    probs = np.exp(_scipy_log_probs(mu, s))
    assert freq[0] > 0.3 and np.abs(freq - probs).max() < 0.005


def test_sample_with_is_reproducible_and_sample_has_the_extended_shape():
    d = DiscretizedLogistic(torch.rand(4, 3), torch.full((4, 3), -2.0))

    def draw(seed):
        return d.sample_with(torch.Generator().manual_seed(seed), (5,))

    assert torch.equal(draw(7), draw(7)) and not torch.equal(draw(7), draw(8))
    assert d.sample((2, 5)).shape == (2, 5, 4, 3)


@pytest.mark.parametrize(
    ("mu", "s"), _random_params(6, 2) + [(-2.0, 1e-4), (3.0, 0.5), (0.5, 50.0), (0.31, 1e-6)]
)
def test_mean_is_the_exact_discrete_mean(mu, s):
    expected = float((GRID * np.exp(_scipy_log_probs(mu, s))).sum())
    loc = torch.tensor(mu, dtype=torch.float64, requires_grad=True)
    d = DiscretizedLogistic(loc, torch.tensor(np.log(s), dtype=torch.float64))
    assert d.mean.item() == pytest.approx(expected, abs=1e-12)
    (grad,) = torch.autograd.grad(d.mean, loc)
    assert torch.isfinite(grad)
    d32 = DiscretizedLogistic(torch.tensor(mu), torch.tensor(np.log(s), dtype=torch.float32))
    assert d32.mean.item() == pytest.approx(expected, abs=1e-5)


def test_batches_broadcast_expand_and_wrap_in_independent():
    loc = torch.rand(2, 5, dtype=torch.float64)
    d = DiscretizedLogistic(loc, torch.tensor(-3.0, dtype=torch.float64))  # log_scale broadcast
    assert d.batch_shape == (2, 5) and d.event_shape == () and d.mean.shape == (2, 5)
    x = torch.randint(0, L, (2, 5)).double() / (L - 1)
    joint = Independent(d, 1)
    assert joint.log_prob(x).shape == (2,)
    torch.testing.assert_close(joint.log_prob(x), d.log_prob(x).sum(-1))
    wide = d.expand((3, 2, 5))
    torch.testing.assert_close(wide.log_prob(x), d.log_prob(x).expand(3, 2, 5))
    torch.testing.assert_close(wide.mean, d.mean.expand(3, 2, 5))


def test_validation_rejects_values_off_the_grid():
    d = DiscretizedLogistic(torch.zeros(3), torch.zeros(3), validate_args=True)
    d.log_prob(torch.tensor([0.0, 17 / 255, 1.0]))  # on the grid: fine
    for bad in ([0.0, 0.5, 1.0], [0.0, 1.0, 1 + 1 / 255], [-1 / 255, 0.0, 1.0]):
        with pytest.raises(ValueError):
            d.log_prob(torch.tensor(bad))
    with pytest.raises(ValueError):
        DiscretizedLogistic(torch.tensor([float("nan")]), torch.zeros(1), validate_args=True)
