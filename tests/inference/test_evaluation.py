"""The IS log-likelihood against the exact marginal of a linear-Gaussian model."""

import numpy as np
import torch

import vaekit
from vaekit import elbo_terms, log_likelihood

from ..linear_gaussian import exact_log_likelihood as _exact
from ..linear_gaussian import linear_model as _linear_model


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
    import vaekit.inference.importance as ev

    m = _linear_model(3)
    x = torch.randn(50, 5)
    exact = _exact(m, x)
    a = log_likelihood(m, x, 256, seed=0)
    monkeypatch.setattr(ev, "CHUNK_ELEMENTS", 7)  # forces chunks of one sample each
    b = log_likelihood(m, x, 256, seed=0)
    assert a.dtype == torch.float64 and a.shape == b.shape == (50,)
    # torch draws other numbers in chunks, so compare both with the exact value
    assert np.abs(a.numpy() - exact).mean() < 0.08
    assert np.abs(b.numpy() - exact).mean() < 0.08


def test_is_error_shrinks_at_the_expected_rates():
    # Delta method: bias ≈ Var(w)/(2k p²) ~ 1/k, and the spread across seeds ~ 1/sqrt(k).
    m = _linear_model()
    x = torch.randn(500, 5, generator=torch.Generator().manual_seed(0))
    exact = _exact(m, x)
    est = {k: np.stack([log_likelihood(m, x, k, seed=s).numpy() for s in range(4)])
           for k in (10, 100, 1000)}  # fmt: skip
    bias = {k: float((exact - e).mean()) for k, e in est.items()}
    spread = {k: float(e.std(0).mean()) for k, e in est.items()}
    assert 4 < bias[10] / bias[100] < 25, bias
    assert 2 < spread[100] / spread[1000] < 5, spread
    assert 2 < spread[10] / spread[100] < 5, spread


def test_seed_streams_never_collide():
    from vaekit.runtime import derived_seed

    seeds = [derived_seed(s, "importance", r) for s in range(3) for r in range(1500)]
    seeds += [derived_seed(s, "refine") for s in range(3)]
    assert len(set(seeds)) == len(seeds)  # seed+1+r met seed+1000 at the 1000th repeat


def test_bernoulli_runs_store_no_sigma(tmp_path):
    import json

    import numpy as np

    x = (np.random.default_rng(0).random((200, 16)) > 0.5).astype(np.float32)
    np.save(tmp_path / "bin.npy", x)
    vaekit.train(data=str(tmp_path / "bin.npy"), epochs=1, hidden="4", latent_dim=2,
                 out=tmp_path / "r", quiet=True)  # fmt: skip
    model = json.loads((tmp_path / "r" / "config.json").read_text())["model"]
    assert model["likelihood"] == "bernoulli"
    assert model["sigma"] is None and model["sigma_floor"] is None


def test_progress_advances_within_a_batch(monkeypatch):
    """Issue 14: on small data one batch is all there is, so the bar moved 0 -> 100%."""
    import vaekit.inference.importance as ev
    from vaekit.inference.diagnostics import refine_posterior
    from vaekit.inference.importance import generator_for, log_likelihood_batch

    m = _linear_model(3)
    x = torch.randn(6, 5)
    per_sample = 6 * m.decoder_width
    monkeypatch.setattr(ev, "CHUNK_ELEMENTS", per_sample * 10)  # 10 samples a chunk
    told: list[int] = []
    log_likelihood_batch(m, x, 35, generator_for(m, 0), done=told.append)
    assert told == [60, 60, 60, 30]  # importance weights per chunk, k=35 in 10+10+10+5
    steps: list[int] = []
    refine_posterior(m, x, steps=7, generator=generator_for(m, 0), done=steps.append)
    assert steps == [6] * 7
