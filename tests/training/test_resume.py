"""Crash safety: a run killed at random moments and resumed ends bit-identical to one that was not."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

import vaekit
from vaekit.training.checkpoint import CHECKPOINT_FILE, parse_every, read_checkpoint

# Small enough to take a few seconds, with enough steps (79 an epoch) to be killed mid-epoch.
ARGS = ["train", "--epochs", "25", "--batch-size", "16", "--latent-dim", "6", "--hidden", "48",
        "--lr-schedule", "cosine", "--warmup-epochs", "3", "--seed", "7", "--quiet"]  # fmt: skip
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")  # same thread count


def _start(out, *extra):
    cmd = [sys.executable, "-m", "vaekit", *ARGS, "--out", str(out), *extra]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(out, *extra):
    proc = _start(out, *extra)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    return stdout


def _wait_for(path, timeout=120):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def _finished(out):
    """A summary that does not say the run was interrupted (a stopped run writes one too)."""
    path = out / "summary.json"
    return path.exists() and not json.loads(path.read_text())["interrupted"]


def _rows(out):
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    for r in rows:  # wall times differ between runs; everything else must not
        for k in ("seconds", "train_seconds"):
            r.pop(k)
    return rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    _finish(out, "--checkpoint-every", "epoch")
    return out


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path, reference):
    out = tmp_path / "run"
    rng = random.Random(1234)
    kills = 0
    # First kill as soon as config.json exists (before any checkpoint), then after random
    # delays once a checkpoint exists: mid-epoch, mid-write, mid-validation, whatever comes.
    for attempt in range(4):
        proc = _start(out, "--checkpoint-every", "5")
        _wait_for(out / ("config.json" if attempt == 0 else CHECKPOINT_FILE))
        time.sleep(0 if attempt == 0 else rng.uniform(0.05, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
        if _finished(out):
            break
    assert kills >= 3
    _finish(out, "--checkpoint-every", "5")
    assert (out / "model.safetensors").read_bytes() == (
        reference / "model.safetensors"
    ).read_bytes()
    assert _rows(out) == _rows(reference)
    # A finished run keeps its final state (for --resume --epochs N): past the last epoch.
    final = read_checkpoint(out / CHECKPOINT_FILE, _fingerprint_of(out)).position
    assert (final.epoch, final.step_in_epoch) == (26, 0)


def test_sigterm_checkpoints_and_resume_continues(tmp_path, reference):
    out = tmp_path / "run"
    proc = _start(out, "--checkpoint-every", "epoch")
    _wait_for(out / "metrics.jsonl")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "rerun the same command" in err
    assert (out / CHECKPOINT_FILE).exists() and not _finished(out)
    assert json.loads((out / "summary.json").read_text())["interrupted"] is True
    # --resume needs no settings: they are the run's own.
    cmd = [sys.executable, "-m", "vaekit", "train", "--resume", "--out", str(out), "--quiet"]
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (out / "model.safetensors").read_bytes() == (
        reference / "model.safetensors"
    ).read_bytes()


def test_a_finished_run_is_not_retrained(reference):
    before = {p.name: p.stat().st_mtime_ns for p in reference.iterdir()}
    _finish(reference)
    assert {p.name: p.stat().st_mtime_ns for p in reference.iterdir()} == before


def _api_run(out, **kw):
    settings = dict(epochs=3, latent_dim=3, hidden=16, quiet=True) | kw
    return vaekit.train(out=out, **settings)


def _stop_after(steps, monkeypatch):
    """Make the trainer see a stop request after ``steps`` optimiser steps."""
    from vaekit.training import loop as trainer

    real = trainer.Trainer._steps

    def steps_then_stop(self, bar):
        original = self.every.due

        def due(step):
            if step >= steps:
                self.stops.requested = signal.SIGINT
            return original(step)

        self.every.due = due
        return real(self, bar)

    monkeypatch.setattr(trainer.Trainer, "_steps", steps_then_stop)


def test_resume_refuses_other_settings_and_missing_checkpoints(tmp_path, monkeypatch):
    with pytest.raises(vaekit.RunDirError, match="no config.json"):
        vaekit.train(out=tmp_path / "none", resume=True, quiet=True)
    _api_run(tmp_path / "done")
    with pytest.raises(vaekit.ConfigError, match="contradict"):
        vaekit.train(out=tmp_path / "done", resume=True, overwrite=True)
    with monkeypatch.context() as m:
        _stop_after(4, m)
        assert _api_run(tmp_path / "stopped").interrupted
    with pytest.raises(vaekit.RunDirError, match="differ"):
        _api_run(tmp_path / "stopped", resume=True, latent_dim=5)
    run = vaekit.train(out=tmp_path / "stopped", resume=True, quiet=True)
    assert not run.interrupted and len(run.metrics) == 3


def test_corrupt_checkpoint_is_a_clear_error_and_nothing_changes(tmp_path, monkeypatch):
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        _stop_after(4, m)
        _api_run(out)
    ck = out / CHECKPOINT_FILE
    ck.write_bytes(ck.read_bytes()[:100])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(vaekit.ModelFileError, match="corrupt or truncated"):
        _api_run(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_checkpoint_of_other_data_is_refused(tmp_path, monkeypatch):
    import numpy as np

    from vaekit import Dataset

    rng = np.random.default_rng(0)

    def data(shift):  # noqa: E306
        x = (rng.random((300, 5)) + shift).astype(np.float32)
        return Dataset(name="mine", train=x[:200], valid=x[200:250], test=x[250:])

    out = tmp_path / "run"
    with monkeypatch.context() as m:
        _stop_after(4, m)
        _api_run(out, dataset=data(0.0), data="mine", sigma=0.5)
    with pytest.raises(vaekit.ModelFileError, match="other data"):
        _api_run(out, dataset=data(0.0), data="mine", sigma=0.5)  # same shape, other values


def test_nan_gradient_names_epoch_step_and_parameter_and_keeps_the_checkpoint(
    tmp_path, monkeypatch
):
    from vaekit.training import loop as trainer

    real = trainer.make_objective

    def poisoned(tc):
        objective, calls = real(tc), []

        class Poisoned:  # the real objective, but for the loss of its 25th call
            def __getattr__(self, name):
                return getattr(objective, name)

            def __call__(self, model, x, gen, beta=None):
                t = objective(model, x, gen, beta=beta)
                calls.append(1)
                if len(calls) == 25:  # finite loss, NaN gradient: d sqrt(0·w)/dw = 0·inf
                    w = model.decoder[-1].bias
                    t.loss = t.loss + torch.sqrt(w.sum() * 0)
                return t

        return Poisoned()

    out = tmp_path / "run"
    monkeypatch.setattr(trainer, "make_objective", poisoned)
    with pytest.raises(vaekit.NumericalError) as e:
        _api_run(out, checkpoint_every=10)
    msg = str(e.value)
    # 1294 training images, batch 128: 11 steps an epoch, so step 25 is epoch 3, step 3
    assert "epoch 3, step 3" in msg and "decoder" in msg and "\n" not in msg, msg
    saved = read_checkpoint(out / CHECKPOINT_FILE, _fingerprint_of(out))
    assert saved.position.global_step == 22  # end of epoch 2: the last good one is kept
    assert vaekit.load(out).sample(1).isfinite().all()


def _fingerprint_of(out):
    from vaekit.data import load_dataset
    from vaekit.training.checkpoint import data_fingerprint

    ds = load_dataset(vaekit.load_run(out).config.data)
    return data_fingerprint(ds)


@pytest.mark.parametrize(
    ("text", "steps", "seconds"),
    [("500", 500, None), ("30s", None, 30.0), ("5m", None, 300.0), ("epoch", None, None)],
)
def test_parse_checkpoint_every(text, steps, seconds):
    every = parse_every(text)
    assert (every.steps, every.seconds) == (steps, seconds)


@pytest.mark.parametrize("text", ["0", "-5", "1.5", "abc", "10h", ""])
def test_parse_checkpoint_every_rejects_nonsense(text):
    with pytest.raises(vaekit.ConfigError, match="checkpoint_every"):
        parse_every(text)


def test_a_run_directory_in_use_is_refused(tmp_path):
    from vaekit.training.rundir import run_lock

    out = tmp_path / "run"
    out.mkdir()
    with run_lock(out), pytest.raises(vaekit.RunDirError, match="another vaekit process"):
        _api_run(out)
    assert _api_run(out).metrics  # free again


def test_resume_may_find_the_data_elsewhere(tmp_path, monkeypatch):
    # --data-dir says where the data are now; it is not a setting the run must agree with.
    with monkeypatch.context() as m:
        _stop_after(4, m)
        _api_run(tmp_path / "run")
    run = vaekit.train(out=tmp_path / "run", resume=True, data_dir=tmp_path, quiet=True)
    assert not run.interrupted and len(run.metrics) == 3
    assert run.config.data.data_dir is None
