"""Finite mixtures (issue 16): exact log-likelihoods, EM that recovers a known mixture, and
baseline runs that evaluate, sample and score like any run."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from scipy.stats import bernoulli, multivariate_normal

from tests.cli_runner import run_cli
from vaekit.models.mixtures import BernoulliMixture, GaussianMixtureModel, independent
from vaekit.training.baseline import load_baseline

RNG = np.random.default_rng(0)


def test_bernoulli_mixture_log_prob_is_the_sum_over_components():
    w = np.array([0.2, 0.5, 0.3])
    probs = RNG.uniform(0.05, 0.95, size=(3, 4))
    m = BernoulliMixture(np.log(w), probs)
    xs = np.array(list(itertools.product([0, 1], repeat=4)), dtype=float)  # all 16 images
    brute = [np.log(sum(wk * bernoulli.pmf(x, pk).prod() for wk, pk in zip(w, probs, strict=True)))
             for x in xs]  # fmt: skip
    np.testing.assert_allclose(m.log_prob(xs), brute, rtol=1e-12)
    assert np.exp(m.log_prob(xs)).sum() == pytest.approx(1.0, abs=1e-12)  # a distribution


def test_em_recovers_a_known_mixture():
    patterns = (RNG.random((3, 30)) < 0.5).astype(float)
    true = BernoulliMixture(np.log([0.5, 0.3, 0.2]), np.where(patterns == 1, 0.9, 0.1))
    x = true.sample(3000, seed=1)
    fit, report = BernoulliMixture.fit(x, 3, seed=0, restarts=3)
    assert sorted(np.exp(fit.log_weights)) == pytest.approx([0.2, 0.3, 0.5], abs=0.03)
    test = true.sample(2000, seed=2)
    assert fit.log_prob(test).mean() == pytest.approx(true.log_prob(test).mean(), abs=0.1)
    assert report.log_likelihood == pytest.approx(fit.log_prob(x).mean())


def test_independent_models_are_their_closed_forms():
    xb = (RNG.random((500, 6)) < [0.1, 0.3, 0.5, 0.7, 0.9, 0.2]).astype(float)
    m, _ = independent(xb)
    p = np.clip(xb.mean(0), 1e-4, 1 - 1e-4)
    np.testing.assert_allclose(m.log_prob(xb[:20]), bernoulli.logpmf(xb[:20], p).sum(1), rtol=1e-9)
    xr = RNG.normal([1, -2, 5], [0.5, 2, 3], size=(500, 3))
    g, _ = GaussianMixtureModel.fit(xr, 1, restarts=1)  # one full-covariance Gaussian: the MLE
    mle = multivariate_normal(xr.mean(0), np.cov(xr.T, bias=True) + 1e-6 * np.eye(3))
    np.testing.assert_allclose(g.log_prob(xr[:20]), mle.logpdf(xr[:20]), rtol=1e-6)
    again = GaussianMixtureModel.from_params(g.params())
    np.testing.assert_allclose(again.log_prob(xr[:20]), g.log_prob(xr[:20]), rtol=1e-12)


def test_a_baseline_run_evaluates_samples_and_scores(tmp_path, capsys):
    x = np.zeros((300, 6, 5), np.uint8)
    x[np.arange(300), :, RNG.integers(0, 5, 300)] = 1
    np.save(tmp_path / "bars.npy", x)
    out = tmp_path / "b"
    code, _, err = run_cli(["baseline", "bernoulli-mixture", "--data", tmp_path / "bars.npy",
                            "-K", "5", "--out", out], capsys)  # fmt: skip
    assert code == 0, err
    run = load_baseline(out)
    code, stdout, _ = run_cli(["evaluate", out, "--json"], capsys)
    res = json.loads(stdout)
    import vaekit

    test = vaekit.load_dataset(run.data).test
    assert res["exact"] and res["log_likelihood"] == pytest.approx(run.model.log_prob(test).mean())
    assert res["log_likelihood"] > -2  # five bars, nearly deterministic given the component
    assert run_cli(["sample", out, "-n", "7", "--out", tmp_path / "s.npy"], capsys)[0] == 0
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (7, 6, 5) and np.isin(s, (0, 1)).all()
    code, _, err = run_cli(["score", out, "--out", tmp_path / "sc.csv"], capsys)
    assert code == 0 and "nll_nats" in (tmp_path / "sc.csv").read_text().splitlines()[0]
    np.save(tmp_path / "grey.npy", RNG.random((10, 6, 5)).astype(np.float32))
    for args, said in (
        (["evaluate", out, "--data", tmp_path / "grey.npy"], "not 0/1 data"),
        (["reconstruct", out, "--out", tmp_path / "r.png"], "is a baseline run"),
    ):
        code, _, err = run_cli(args, capsys)
        assert code == 2 and said in err and err.count("error:") == 1, err  # (and a note)


def test_baseline_bad_input_is_one_line(tmp_path, capsys):
    np.save(tmp_path / "real.npy", RNG.normal(size=(50, 4)).astype(np.float32))
    np.save(tmp_path / "bin.npy", (RNG.random((20, 4)) < 0.5).astype(np.uint8))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    cases = [
        (["bernoulli-mixture", "--data", tmp_path / "real.npy"], "not 0/1 data"),
        (["bernoulli-mixture", "--data", tmp_path / "bin.npy", "-K", "500"], "500 components"),
        (["gmm", "--data", tmp_path / "real.npy", "--out", tmp_path / "full"], "already holds"),
    ]
    for args, said in cases:
        if "--out" not in args:
            args = [*args, "--out", tmp_path / "o"]
        code, _, err = run_cli(["baseline", *args], capsys)
        assert code == 2 and said in err and err.count("error:") == 1, err  # (and a note)
    assert not (tmp_path / "o").exists()
