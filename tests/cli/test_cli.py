"""The command line end to end, through the real entry point in a subprocess-free runner."""

import json

import numpy as np
import pytest
import torch

import vaekit
from vaekit.cli import main


def run(args, capsys):
    code = 0
    try:
        main(args)
    except SystemExit as e:
        code = e.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def trained(tmp_path, capsys):
    rd = tmp_path / "run"
    code, out, err = run(
        ["train", "--epochs", "3", "--out", str(rd), "--quiet", "--latent-dim", "4"], capsys
    )
    assert code == 0, err
    return rd


def test_train_writes_a_complete_run_directory(trained):
    for name in (
        "config.json",
        "model.safetensors",
        "metrics.jsonl",
        "samples.png",
        "reconstructions.png",
    ):
        assert (trained / name).is_file(), name
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert {"epoch", "train_loss", "valid_elbo", "seconds"} <= set(rows[0])
    cfg = json.loads((trained / "config.json").read_text())
    assert cfg["model"]["likelihood"] == "gaussian-shared" and cfg["model"]["latent_dim"] == 4


def test_evaluate_json(trained, capsys):
    code, out, err = run(["evaluate", str(trained), "--json", "-k", "50"], capsys)
    assert code == 0, err
    r = json.loads(out)
    for key in (
        "split",
        "n",
        "elbo",
        "reconstruction",
        "kl",
        "log_likelihood",
        "importance_samples",
    ):
        assert key in r
    assert r["split"] == "test" and r["importance_samples"] == 50
    assert r["elbo"] == pytest.approx(r["reconstruction"] - r["kl"])
    code, out, _ = run(["evaluate", str(trained), "-k", "10", "--quiet"], capsys)
    assert code == 0 and "log p(x)" in out


def test_sample_reconstruct_encode_decode(trained, tmp_path, capsys):
    assert (
        run(["sample", str(trained), "-n", "5", "--out", str(tmp_path / "s.npy")], capsys)[0] == 0
    )
    assert np.load(tmp_path / "s.npy").shape == (5, 8, 8)  # the data's own shape (images)
    assert run(["sample", str(trained), "--out", str(tmp_path / "s.png")], capsys)[0] == 0
    assert run(["reconstruct", str(trained), "--out", str(tmp_path / "r.png")], capsys)[0] == 0
    assert run(["encode", str(trained), "--out", str(tmp_path / "z.npy")], capsys)[0] == 0
    z = np.load(tmp_path / "z.npy")
    assert z.shape[1] == 4 and z.dtype == np.float32
    run_ = vaekit.load_run(trained)
    test = vaekit.load_dataset(run_.config.data).test
    np.testing.assert_array_equal(
        z, run_.model.encode(torch.from_numpy(test)).mean.detach().numpy()
    )
    assert run(["decode", str(trained), "--latents", str(tmp_path / "z.npy"),
                "--out", str(tmp_path / "x.npy")], capsys)[0] == 0  # fmt: skip
    assert np.load(tmp_path / "x.npy").shape == (z.shape[0], 8, 8)


def test_rerun_same_settings_is_a_no_op_and_other_settings_refused(trained, capsys):
    before = (trained / "model.safetensors").read_bytes()
    code, _, _ = run(
        ["train", "--epochs", "3", "--out", str(trained), "--quiet", "--latent-dim", "4"], capsys
    )
    assert code == 0 and (trained / "model.safetensors").read_bytes() == before
    code, _, err = run(["train", "--epochs", "4", "--out", str(trained), "--quiet"], capsys)
    assert (
        code == 2
        and "--overwrite" in err
        and (trained / "model.safetensors").read_bytes() == before
    )


def _one_line_error(code, err):
    assert code != 0
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--epochs", "0"],
        ["train", "--batch-size", "-1"],
        ["train", "--latent-dim", "0"],
        ["train", "--lr", "0"],
        ["train", "--data", "no-such-dataset"],
        ["train", "--data", "missing.npz"],
        ["train", "--hidden", "a,b"],
        ["evaluate", "no-such-run"],
        ["sample", "no-such-run"],
    ],
)
def test_bad_input_one_line_error(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(args, capsys)
    _one_line_error(code, err)


def test_bernoulli_on_non_binary_data_is_refused(tmp_path, capsys):
    code, _, err = run(["train", "--likelihood", "bernoulli", "--out", str(tmp_path / "r")], capsys)
    _one_line_error(code, err)
    assert "not binary" in err and not (tmp_path / "r").exists()


def test_corrupt_weights_and_config(trained, capsys):
    (trained / "model.safetensors").write_bytes((trained / "model.safetensors").read_bytes()[:100])
    code, _, err = run(["evaluate", str(trained)], capsys)
    _one_line_error(code, err)
    assert "corrupt" in err
    cfg = json.loads((trained / "config.json").read_text())
    cfg["model"]["latent_dim"] = -3
    (trained / "config.json").write_text(json.dumps(cfg))
    code, _, err = run(["sample", str(trained)], capsys)
    _one_line_error(code, err)


def test_evaluate_on_data_of_another_dimension(trained, tmp_path, capsys):
    np.save(tmp_path / "other.npy", np.random.default_rng(0).random((40, 10)))
    code, _, err = run(["evaluate", str(trained), "--data", str(tmp_path / "other.npy")], capsys)
    _one_line_error(code, err)
    assert "64" in err and "10" in err


def test_toml_config(tmp_path, capsys):
    (tmp_path / "c.toml").write_text("epochs = 2\nlatent-dim = 3\nhidden = [16, 16]\n")
    code, _, err = run(["train", "--config", str(tmp_path / "c.toml"), "--out",
                        str(tmp_path / "r"), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    cfg = json.loads((tmp_path / "r/config.json").read_text())
    assert cfg["model"]["hidden"] == [16, 16] and cfg["train"]["epochs"] == 2
    (tmp_path / "bad.toml").write_text("epochz = 2\n")
    code, _, err = run(["train", "--config", str(tmp_path / "bad.toml")], capsys)
    _one_line_error(code, err)
