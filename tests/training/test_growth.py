"""Runs that grow (issue 14): a finished run continued for longer with --resume --epochs N,
and early stopping on the validation bound with --patience N."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.torch import load_file

import vaekit

from ..cli_runner import run_cli

SMALL = dict(data="digits", hidden="8", latent_dim=2, seed=2, quiet=True,
             checkpoint_every="epoch")  # fmt: skip


def _rows(out):
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]


def test_a_finished_run_grows_to_what_a_longer_run_would_be(tmp_path):
    straight = vaekit.train(out=tmp_path / "six", epochs=6, **SMALL)
    vaekit.train(out=tmp_path / "grown", epochs=4, **SMALL)
    grown = vaekit.train(out=tmp_path / "grown", epochs=6, resume=True, **SMALL)
    assert grown.summary["epochs_run"] == 6 and not grown.interrupted
    a, b = (
        load_file(tmp_path / "six/model.safetensors"),
        load_file(tmp_path / "grown/model.safetensors"),
    )
    for k in a:  # constant schedule: continuing is the same as having run longer
        assert (a[k] == b[k]).all(), k
    rows, ref = _rows(tmp_path / "grown"), _rows(tmp_path / "six")
    assert rows[4].pop("grown_from_epochs") == 4 and rows[4].pop("epochs") == 6
    assert rows == ref
    assert vaekit.load_run(tmp_path / "grown").config.train.epochs == 6
    assert straight.summary["best_epoch"] == grown.summary["best_epoch"]


def test_growing_needs_resume_and_cannot_shrink(tmp_path, capsys):
    out = tmp_path / "r"
    base = ["train", "--hidden", "8", "--latent-dim", "2", "--out", out, "--quiet"]
    assert run_cli([*base, "--epochs", "2"], capsys)[0] == 0
    code, stdout, _ = run_cli([*base, "--epochs", "2"], capsys)
    assert code == 0 and "nothing to do" in stdout and "--resume --epochs" in stdout
    code, _, err = run_cli([*base, "--epochs", "3"], capsys)
    assert code == 2 and "train.epochs 2 -> 3" in err and "add --resume" in err
    code, _, err = run_cli(["train", "--resume", "--out", out, "--epochs", "1", "--quiet"], capsys)
    assert code == 2 and "already trained 2 epochs" in err
    code, _, err = run_cli(["train", "--resume", "--out", out, "--epochs", "3", "--lr", "0.1",
                         "--quiet"], capsys)  # fmt: skip
    assert code == 2 and "train.lr" in err  # only the length may change
    assert run_cli(["train", "--resume", "--out", out, "--epochs", "3", "--quiet"], capsys)[0] == 0
    assert len(_rows(out)) == 3


def test_patience_stops_when_validation_stops_improving(tmp_path):
    x = np.random.default_rng(0).random((60, 30)).astype(np.float32)  # noise: over-fits at once
    np.save(tmp_path / "noise.npy", x)
    run = vaekit.train(data=str(tmp_path / "noise.npy"), out=tmp_path / "r", epochs=300,
                       hidden="128", lr=3e-3, patience=3, quiet=True)  # fmt: skip
    s = run.summary
    assert s["stopped_early"] and s["epochs_run"] < 300
    assert s["epochs_run"] - s["best_epoch"] == 3
    scores = [r["valid_elbo"] for r in run.metrics]
    assert max(scores) == pytest.approx(s["best_valid_score"])
    assert all(v < s["best_valid_score"] for v in scores[s["best_epoch"] :])


def test_the_default_length_is_at_least_50_epochs_and_2000_steps(tmp_path):
    from vaekit.training.config import default_epochs

    assert default_epochs(50_000, 128) == 50  # MNIST: 391 steps an epoch, 19,550 steps
    assert default_epochs(409, 128) == 500  # breast cancer's train split: 4 steps an epoch
    x = np.random.default_rng(0).random((40, 3)).astype(np.float32)  # 29 rows train after carving
    run = vaekit.train(data=x, hidden="4", out=tmp_path / "r", quiet=True, batch_size=16,
                       patience=1)  # fmt: skip
    assert run.config.train.epochs == default_epochs(29, 16) == 1000  # 2 steps an epoch
    assert run.summary["stopped_early"]  # and patience keeps it short
