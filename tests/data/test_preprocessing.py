"""Own data (issue 14): preprocessing recorded in the run and undone on output, CSV columns,
labels and missing values, shapes never guessed, log-likelihoods in the data's own units."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats

import vaekit
from vaekit.data.transform import Transform

from ..cli_runner import run_cli

RNG = np.random.default_rng(0)


def _tabular(n=300):
    """Three columns on scales 0.01, 1 and 5000, correlated through one factor."""
    z = RNG.normal(size=(n, 1))
    x = np.hstack([0.01 * z + 0.001 * RNG.normal(size=(n, 1)), z + 0.1 * RNG.normal(size=(n, 1)),
                   5000 + 800 * z + 100 * RNG.normal(size=(n, 1))])  # fmt: skip
    return x


@pytest.fixture
def scaled_csv(tmp_path):
    path = tmp_path / "scaled.csv"
    np.savetxt(path, _tabular(), delimiter=",", header="small,unit,large", comments="")
    return path


def test_transform_round_trip_and_jacobian_against_scipy():
    x = _tabular()
    t = Transform.standardize(x)
    np.testing.assert_allclose(t.invert(t.apply(x)), x, rtol=1e-6)
    # A standard normal in model units is N(mean, std²) per column in the data's units.
    xm = t.apply(x[:5]).astype(np.float64)
    model_units = stats.norm.logpdf(xm).sum(1)
    data_units = stats.norm.logpdf(x[:5], np.asarray(t.shift), np.asarray(t.scale)).sum(1)
    np.testing.assert_allclose(model_units + t.log_jacobian(3), data_units, rtol=1e-6)
    eight = Transform.eight_bit()
    assert eight.log_jacobian(784) == pytest.approx(-784 * np.log(255))


def test_tabular_data_of_unequal_scales_is_standardised_by_default_with_a_note(
    scaled_csv, tmp_path, capsys
):
    code, _, err = run_cli(["train", "--data", scaled_csv, "--epochs", "2", "--hidden", "8",
                         "--latent-dim", "1", "--out", tmp_path / "r"], capsys)  # fmt: skip
    assert code == 0, err
    assert "note: each column standardised" in err and "--no-standardize" in err
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())["data"]
    assert cfg["transform"]["kind"] == "standardize" and len(cfg["transform"]["scale"]) == 3
    ds = vaekit.load_dataset(vaekit.load_run(tmp_path / "r").config.data)
    assert abs(float(ds.train.mean())) < 1e-5 and ds.train.std(0) == pytest.approx(1, rel=1e-4)


def test_no_standardize_keeps_raw_values(scaled_csv, tmp_path, capsys):
    code, _, err = run_cli(["train", "--data", scaled_csv, "--epochs", "1", "--hidden", "8",
                         "--no-standardize", "--out", tmp_path / "r"], capsys)  # fmt: skip
    assert code == 0 and "note" not in err
    assert vaekit.load_run(tmp_path / "r").config.data.transform is None


def test_outputs_are_in_the_data_units_and_evaluation_says_so(scaled_csv, tmp_path, capsys):
    run = tmp_path / "r"
    assert run_cli(["train", "--data", scaled_csv, "--epochs", "30", "--hidden", "16",
                 "--latent-dim", "1", "--out", run, "--quiet"], capsys)[0] == 0  # fmt: skip
    assert run_cli(["sample", run, "-n", "500", "--out", tmp_path / "s.npy"], capsys)[0] == 0
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (500, 3)  # tabular stays flat
    assert 3000 < np.median(s[:, 2]) < 7000  # the large column in its own units, not z-scores
    code, out, _ = run_cli(["evaluate", run, "-k", "20", "--json", "--quiet"], capsys)
    r = json.loads(out)
    t = Transform.from_dict(vaekit.load_run(run).config.data.transform)
    assert r["log_jacobian"] == pytest.approx(t.log_jacobian(3))
    assert "data's own units" in r["units"]
    # The same evaluation in the model's units, shifted by exactly the log-Jacobian.
    model = vaekit.load(run)
    x = vaekit.load_dataset(vaekit.load_run(run).config.data).test
    raw = vaekit.evaluate(model, x, importance_samples=20)
    for key in ("elbo", "log_likelihood", "reconstruction"):
        assert r[key] == pytest.approx(raw[key] + r["log_jacobian"], rel=1e-9)
    assert r["kl"] == pytest.approx(raw["kl"])
    assert "bits_per_dim" not in r
    # Python states the same numbers as the command when given the run's preprocessing.
    api = vaekit.evaluate(model, x, importance_samples=20, transform=vaekit.load_run(run).transform)
    for key in ("elbo", "log_likelihood", "reconstruction", "kl", "log_jacobian", "units"):
        assert api[key] == pytest.approx(r[key], rel=1e-9) if key != "units" else api[key] == r[key]


def test_8bit_data_is_scaled_and_outputs_come_back_as_8bit_images(tmp_path, capsys):
    imgs = RNG.integers(0, 256, size=(120, 6, 5), dtype=np.uint8)
    np.save(tmp_path / "img.npy", imgs)
    code, _, err = run_cli(["train", "--data", tmp_path / "img.npy", "--epochs", "1", "--hidden", "8",
                         "--out", tmp_path / "r"], capsys)  # fmt: skip
    assert code == 0 and "8-bit data (0–255) scaled to [0, 1]" in err
    ds = vaekit.load_dataset(vaekit.load_run(tmp_path / "r").config.data)
    assert ds.train.max() <= 1.0 and ds.image_shape == (6, 5)
    assert (
        run_cli(["sample", tmp_path / "r", "-n", "4", "--out", tmp_path / "s.npy"], capsys)[0] == 0
    )
    s = np.load(tmp_path / "s.npy")
    model_units = vaekit.load(tmp_path / "r").sample(4, torch.Generator().manual_seed(0))
    assert s.shape == (4, 6, 5)
    np.testing.assert_allclose(s, 255 * model_units.numpy().reshape(4, 6, 5), rtol=1e-6)


def test_flat_data_is_never_guessed_to_be_images(tmp_path, capsys):
    np.save(tmp_path / "flat16.npy", RNG.random((80, 16)))
    assert vaekit.load_dataset(str(tmp_path / "flat16.npy")).image_shape is None
    shaped = vaekit.load_dataset(vaekit.DataConfig(name=str(tmp_path / "flat16.npy"),
                                                   image_shape=(4, 4)))  # fmt: skip
    assert shaped.image_shape == (4, 4)
    with pytest.raises(vaekit.DataError, match="does not hold 16"):
        vaekit.load_dataset(
            vaekit.DataConfig(name=str(tmp_path / "flat16.npy"), image_shape=(3, 4))
        )


def test_csv_columns_labels_and_missing_values(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,kind,c\n1,2,cat,3\n4,,dog,6\n7,8,cat,9\n10,11,dog,12\n13,14,cat,15\n")
    with pytest.raises(vaekit.DataError, match="not a number.*label_column"):
        vaekit.load_dataset(str(path))
    cfg = dict(name=str(path), label_column="kind", valid_fraction=0.2)
    with pytest.raises(vaekit.DataError, match=r"missing value.*row 2, column 'b'.*impute='mean'"):
        vaekit.load_dataset(vaekit.DataConfig(**cfg))
    ds = vaekit.load_dataset(vaekit.DataConfig(**cfg, impute="mean", test_fraction=0.2))
    assert ds.dim == 3 and not np.isnan(ds.train).any()
    all_rows = np.concatenate([ds.train, ds.valid, ds.test])
    assert sorted(np.concatenate([ds.labels[s] for s in ("train", "valid", "test")])) == [
        0,
        0,
        0,
        1,
        1,
    ]
    assert not np.isnan(all_rows).any()
    picked = vaekit.load_dataset(vaekit.DataConfig(name=str(path), columns=("c", "0"),
                                                   label_column="kind", valid_fraction=0.25))  # fmt: skip
    assert picked.dim == 2 and set(picked.test[:, 1]) <= {1.0, 4.0, 7.0, 10.0, 13.0}
    dropped = vaekit.load_dataset(vaekit.DataConfig(name=str(path), drop_columns=("b", "kind"),
                                                    valid_fraction=0.25))  # fmt: skip
    assert dropped.dim == 2
    with pytest.raises(vaekit.DataError, match="no column 'zzz'"):
        vaekit.load_dataset(vaekit.DataConfig(name=str(path), columns=("zzz",)))
    with pytest.raises(vaekit.ConfigError, match="CSV"):
        vaekit.DataConfig(name="x.npy", label_column="y")


def test_imputed_values_are_the_training_means(tmp_path):
    x = RNG.normal(size=(50, 3))
    x[7, 1] = np.nan
    np.savez(tmp_path / "m.npz", train=x[:40], valid=x[40:45], test=x[45:])
    with pytest.raises(vaekit.DataError, match="NaN"):
        vaekit.load_dataset(str(tmp_path / "m.npz"))
    ds = vaekit.load_dataset(vaekit.DataConfig(name=str(tmp_path / "m.npz"), impute="mean"))
    assert ds.train[7, 1] == pytest.approx(np.nanmean(x[:40, 1]), rel=1e-6)


def test_a_run_records_its_data_range_for_pictures(tmp_path):
    run = vaekit.train(data="digits", epochs=1, hidden="4", latent_dim=2, out=tmp_path / "r",
                       quiet=True)  # fmt: skip
    assert run.config.data.value_range == (0.0, 1.0)
    torch.manual_seed(0)


def test_errors_speak_python_to_python_and_flags_on_the_command_line(tmp_path, capsys):
    np.save(tmp_path / "x.npy", RNG.random((50, 3)))
    vaekit.train(data=str(tmp_path / "x.npy"), epochs=1, hidden="4", out=tmp_path / "r",
                 quiet=True)  # fmt: skip
    with pytest.raises(vaekit.RunDirError) as e:
        vaekit.train(data=str(tmp_path / "x.npy"), epochs=2, hidden="4", out=tmp_path / "r",
                     quiet=True)  # fmt: skip
    assert "overwrite=True" in str(e.value) and "resume=True" in str(e.value)
    assert "--" not in str(e.value)
    code, _, err = run_cli(["train", "--data", tmp_path / "x.npy", "--epochs", "2", "--hidden", "4",
                         "--out", tmp_path / "r"], capsys)  # fmt: skip
    assert code == 2 and "--overwrite" in err and "--resume" in err and "=True" not in err
    with pytest.raises(vaekit.ConfigError, match=r"refined_proposal uses.*refine_steps=N"):
        vaekit.EvalConfig(refined_proposal=True)


def test_gaussian_diag_starts_each_column_at_its_own_std(tmp_path):
    """Unstandardised columns of different scales: each σ starts at its column's std (the
    optimum of a model that ignores z), not at one pooled value (issue 14)."""
    x = RNG.normal(size=(200, 3)) * [0.05, 1.0, 300.0]
    np.save(tmp_path / "x.npy", x)
    run = vaekit.train(data=str(tmp_path / "x.npy"), likelihood="gaussian-diag",
                       standardize=False, epochs=1, hidden="4", out=tmp_path / "r", quiet=True)  # fmt: skip
    ds = vaekit.load_dataset(run.config.data)
    np.testing.assert_allclose(run.config.model.sigma_start, ds.train.std(0), rtol=1e-6)
    fresh = vaekit.VAE(run.config.model)  # the config alone rebuilds the starting σ
    start = fresh.likelihood.scale(torch.zeros(1, 3))[0].detach().numpy()
    np.testing.assert_allclose(start, ds.train.std(0), rtol=1e-5)
    again = vaekit.train(data=str(tmp_path / "x.npy"), likelihood="gaussian-diag",
                         standardize=False, epochs=1, hidden="4", out=tmp_path / "r", quiet=True)  # fmt: skip
    assert again.already_finished  # the same command is the same run
    given = vaekit.train(data=str(tmp_path / "x.npy"), likelihood="gaussian-diag", sigma=2.0,
                         epochs=1, hidden="4", out=tmp_path / "g", quiet=True)  # fmt: skip
    assert given.config.model.sigma_start is None  # a given sigma is every column's start
