"""8-bit images: the discretized logistic by default, its numbers probabilities (no Jacobian),
and no bits/dim for a continuous density on 8-bit data (issue 15)."""

from __future__ import annotations

import json
import math

import numpy as np

import vaekit
from vaekit.cli import main

from ..cli_runner import run_cli

RNG = np.random.default_rng(0)


def _evaluate(run_dir, capsys):
    capsys.readouterr()
    main(["evaluate", str(run_dir), "--json", "--quiet", "-k", "20"])
    out = capsys.readouterr()
    return json.loads(out.out), out.err


def test_eight_bit_images_get_probabilities_and_bits_per_dim(tmp_path, capsys):
    x = RNG.integers(0, 256, size=(60, 6, 5), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    run = vaekit.train(data=str(tmp_path / "x.npy"), arch="conv", channels="4", hidden="",
                       epochs=2, out=tmp_path / "r", quiet=True)  # fmt: skip
    assert run.config.model.likelihood == "discretized-logistic"  # auto, for 8-bit images
    res, err = _evaluate(tmp_path / "r", capsys)
    assert "log_jacobian" not in res and "probabilities" in res["units"]
    ds = vaekit.load_dataset(run.config.data)  # with the run's scaling to [0, 1] applied
    assert ds.held["test"].dtype == np.uint8 and ds.test.max() <= 1.0  # held as read, read scaled
    model_units = vaekit.evaluate(run.model, ds.test, importance_samples=20, quiet=True)
    assert math.isclose(res["elbo"], model_units["elbo"], rel_tol=1e-6)  # no Jacobian added
    assert math.isclose(res["log_likelihood_bits_per_dim"],
                        -res["log_likelihood"] / (30 * math.log(2)), rel_tol=1e-9)  # fmt: skip
    # uniform noise: nothing to learn, so about 8 bits/dim (the uniform's), never below 0
    assert 7.5 < res["log_likelihood_bits_per_dim"] < 12


def test_a_density_on_eight_bit_data_reports_no_bits_per_dim(tmp_path, capsys):
    x = RNG.integers(0, 256, size=(60, 6, 5), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    vaekit.train(data=str(tmp_path / "x.npy"), likelihood="gaussian-shared", epochs=1,
                 out=tmp_path / "g", quiet=True)  # fmt: skip
    res, err = _evaluate(tmp_path / "g", capsys)
    assert res["elbo_bits_per_dim"] is None and res["log_likelihood_bits_per_dim"] is None
    assert "no bits/dim" in err and "--likelihood discretized-logistic" in err
    main(["evaluate", str(tmp_path / "g"), "--quiet", "-k", "5"])
    table = capsys.readouterr().out
    assert "bits/dim" not in table and "nats" in table


def test_discretized_logistic_refuses_data_off_the_grid(tmp_path, capsys):
    np.save(tmp_path / "r.npy", RNG.random((30, 4, 4)).astype(np.float32))
    code, _, err = run_cli(["train", "--data", tmp_path / "r.npy", "--likelihood",
                            "discretized-logistic", "--out", tmp_path / "o", "--epochs", "1"],
                           capsys)  # fmt: skip
    assert code == 2
    assert "not 8-bit" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
