"""Ex-post density estimation (issue 16): a mixture fitted to the aggregate posterior, and
sampling from it with vaekit sample --sampler gmm:K."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import vaekit
from tests.cli_runner import run_cli
from vaekit.inference.expost import fit_latent_mixture, posterior_means


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("expost")
    rng = np.random.default_rng(0)
    x = np.zeros((400, 8, 8), np.uint8)
    x[np.arange(400), :, rng.integers(0, 8, 400)] = 1  # eight kinds of image: clustered codes
    np.save(d / "bars.npy", x)
    vaekit.train(data=str(d / "bars.npy"), epochs=40, hidden="32", latent_dim=2,
                 out=d / "r", quiet=True)  # fmt: skip
    return d


def test_the_mixture_fits_held_out_codes_better_than_the_prior(run):
    r = vaekit.load_run(run / "r")
    ds = vaekit.load_dataset(r.config.data)
    gmm = fit_latent_mixture(r.model, ds.train, 8, seed=0)
    z = posterior_means(r.model, ds.test)  # codes of images the mixture never saw
    under_gmm = gmm.log_prob(z).mean()
    under_prior = multivariate_normal(np.zeros(2), np.eye(2)).logpdf(z).mean()
    assert under_gmm > under_prior + 1.0, (under_gmm, under_prior)


def test_sample_with_the_mixture_is_reproducible_and_refuses_bad_k(run, capsys):
    outs = []
    for name, sampler in (("a", "gmm:8"), ("b", "gmm:8"), ("c", "prior")):
        code, _, err = run_cli(["sample", run / "r", "-n", "16", "--sampler", sampler, "--out",
                                run / f"{name}.npy"], capsys)  # fmt: skip
        assert code == 0, err
        outs.append(np.load(run / f"{name}.npy"))
    assert outs[0].shape == (16, 8, 8) and np.array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])
    for bad, said in (
        ("gmm:0", "gmm:K"),
        ("mix:3", "gmm:K"),
        ("gmm:100000", "components need at least"),
    ):
        code, _, err = run_cli(["sample", run / "r", "--sampler", bad, "--out", run / "x.npy"],
                               capsys)  # fmt: skip
        assert code == 2 and said in err and err.count("\n") == 1, err
