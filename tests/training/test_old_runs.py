"""Run directories written before the package layout (format 1, vaekit 0.1 as of stop 11)
still load, evaluate and resume. The fixtures were written by that code: a 3-epoch digits
run (seed 4, cosine schedule, KL warm-up), finished, and the same run stopped after epoch 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import vaekit

FIXTURES = Path(__file__).parents[1] / "fixtures" / "v0.1-runs"
SETTINGS = dict(data="digits", epochs=3, hidden="8", latent_dim=2, seed=4, lr_schedule="cosine",
                warmup_epochs=1, checkpoint_every="epoch", quiet=True)  # fmt: skip


@pytest.fixture
def runs(tmp_path):
    shutil.copytree(FIXTURES, tmp_path / "runs")
    return tmp_path / "runs"


def _weights(run_dir):
    return load_file(run_dir / "model.safetensors")


def _rows(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]


def test_old_run_loads_and_evaluates(runs):
    run = vaekit.load_run(runs / "finished")
    assert run.config.format_version == 1 and run.config.data.split_seed == 4  # kept as written
    assert run.summary["epochs_run"] == 3 and len(run.metrics) == 3
    test = vaekit.load_dataset(run.config.data).test
    res = vaekit.evaluate(run.model, test, importance_samples=20)
    assert res["n"] == 359 and np.isfinite(res["log_likelihood"])
    # The last recorded validation ELBO is reproduced by today's code on the same split.
    valid = vaekit.load_dataset(run.config.data).valid
    best = run.metrics[run.summary["best_epoch"] - 1]["valid_elbo"]
    got = float(vaekit.elbo_terms(run.model, valid, seed=4)["elbo"].mean())
    assert got == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("how", ["--resume", "same command"])
def test_old_checkpoint_resumes_to_the_old_finished_run(runs, how):
    out = runs / "unfinished"
    if how == "--resume":
        run = vaekit.train(out=out, resume=True, checkpoint_every="epoch", quiet=True)
    else:
        run = vaekit.train(out=out, **SETTINGS)
    assert not run.interrupted and run.summary["epochs_run"] == 3
    done, ref = _weights(out), _weights(runs / "finished")
    assert done.keys() == ref.keys()
    for k in ref:  # bit-identical on the machine that wrote them; close anywhere
        torch.testing.assert_close(done[k], ref[k], rtol=1e-5, atol=1e-6)
    for a, b in zip(_rows(out), _rows(runs / "finished"), strict=True):
        assert a == pytest.approx(b, rel=1e-5)


def test_same_command_on_an_old_finished_run_does_nothing(runs):
    out = runs / "finished"
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    run = vaekit.train(out=out, **SETTINGS)
    assert run.summary["epochs_run"] == 3
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name in before}
    assert after == before
