"""Gap split, active units and KL per dimension against closed forms of a linear-Gaussian model."""

import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from vaekit import elbo_terms, evaluate
from vaekit.inference import latent_statistics, refined_elbo

from ..linear_gaussian import exact_log_likelihood as _exact
from ..linear_gaussian import linear_model as _linear_model

SIGMA2 = 0.8**2


def _posterior(m, x):
    """Exact p(z|x) = N(mean, Λ⁻¹) of the linear-Gaussian model: (N, L) means, (L, L) precision."""
    w = m.decoder[0].weight.detach().double()  # (D, L)
    b = m.decoder[0].bias.detach().double()
    prec = w.T @ w / SIGMA2 + torch.eye(w.shape[1], dtype=torch.float64)
    mean = torch.linalg.solve(prec, (w.T @ (x.double() - b).T) / SIGMA2).T
    return mean, prec


def test_refined_elbo_reaches_the_best_mean_field_elbo():
    # The best diagonal Gaussian for a Gaussian posterior N(m, Λ⁻¹) is N(m, diag(1/Λ_jj)):
    # its ELBO is log p(x) − KL(q* ‖ p(z|x)), in closed form.
    m = _linear_model()
    x = torch.randn(200, 5, generator=torch.Generator().manual_seed(1))
    mean, prec = _posterior(m, x)
    q_star = MultivariateNormal(mean, torch.diag(1 / torch.diagonal(prec)))
    post = MultivariateNormal(mean, precision_matrix=prec)
    best = _exact(m, x) - kl_divergence(q_star, post).numpy()  # (N,)
    refined = refined_elbo(m, x, steps=300, lr=2e-2, eval_samples=256).numpy()
    amortised = elbo_terms(m, x)["elbo"].numpy()
    assert best.mean() - amortised.mean() > 0.1  # the encoder here is deliberately off
    assert refined.mean() == pytest.approx(best.mean(), abs=0.02)
    assert refined.mean() <= best.mean() + 0.02  # a bound: never above the optimum


def test_gap_split_adds_up_and_is_ordered():
    m = _linear_model(1)
    x = torch.randn(300, 5, generator=torch.Generator().manual_seed(2))
    r = evaluate(m, x, importance_samples=2000, repeats=3, refine_steps=200)
    assert r["gap"] == pytest.approx(r["log_likelihood"] - r["elbo"])
    assert r["amortisation_gap"] + r["approximation_gap"] == pytest.approx(r["gap"])
    assert r["amortisation_gap"] > 0.05 and r["approximation_gap"] > 0
    assert r["log_likelihood"] == pytest.approx(float(_exact(m, x).mean()), abs=0.02)
    assert len(r["log_likelihood_repeats"]) == 3
    assert r["log_likelihood"] == pytest.approx(np.mean(r["log_likelihood_repeats"]))
    assert 0 < r["log_likelihood_repeat_stderr"] < 0.05
    assert r["log_likelihood_bits_per_dim"] == pytest.approx(-r["log_likelihood"] / (5 * np.log(2)))
    assert "bits_per_dim" not in r  # one key a number (it duplicated the IS or ELBO one)


def test_active_units_and_kl_per_dimension():
    m = _linear_model(2)
    with torch.no_grad():  # unit 1 ignores x: its posterior mean is constant, so it is inactive
        m.encoder[0].weight[1] = 0
    x = torch.randn(400, 5, generator=torch.Generator().manual_seed(3))
    stats = latent_statistics(m, x)
    with torch.no_grad():
        q = m.encode(x).base_dist
    mu, s2 = q.loc.double().numpy(), q.scale.double().numpy() ** 2
    np.testing.assert_allclose(stats["unit_activity"], mu.var(0, ddof=1), rtol=1e-6, atol=1e-12)
    kl = 0.5 * (mu**2 + s2 - 1 - np.log(s2)).mean(0)
    np.testing.assert_allclose(stats["kl_per_dim"], kl, rtol=1e-5)
    assert stats["active_units"] == 1
    assert stats["unit_activity"][1] < 1e-12 and stats["unit_activity"][0] > 0.01


def test_refined_proposal_gives_a_tighter_is_estimate():
    # The encoder here is 1.5x too wide: q* is the better proposal, so at equal small k its
    # IS estimate sits closer to the exact log p(x), and both stay below it on average.
    from vaekit.inference import refined_estimates

    m = _linear_model(3)
    x = torch.randn(300, 5, generator=torch.Generator().manual_seed(4))
    exact = float(_exact(m, x).mean())
    r = evaluate(m, x, importance_samples=5, refine_steps=200, refined_proposal=True)
    assert r["log_likelihood"] < r["log_likelihood_refined_proposal"] < exact + 0.005
    assert exact - r["log_likelihood_refined_proposal"] < 0.5 * (exact - r["log_likelihood"])
    big = refined_estimates(m, x, steps=200, importance_samples=2000)["log_likelihood"]
    assert float(big.mean()) == pytest.approx(exact, abs=0.01)
