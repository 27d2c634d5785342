"""Ctrl-C (SIGINT) during training stops cleanly and keeps the best model so far."""

import json
import os
import signal
import subprocess
import sys
import time


def test_sigint_keeps_best_model(tmp_path):
    rd = tmp_path / "run"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaekit.cli", "train", "--epochs", "100000", "--out", str(rd),
         "--quiet", "--latent-dim", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until at least 3 epochs are recorded
        m = rd / "metrics.jsonl"
        if m.exists() and len(m.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted" in out
    rows = [json.loads(line) for line in (rd / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) >= 3
    for name in ("model.safetensors", "samples.png", "reconstructions.png"):
        assert (rd / name).is_file()
    import vaekit

    model = vaekit.load(rd)  # the kept weights load and work
    assert model.sample(2).shape == (2, 64)
