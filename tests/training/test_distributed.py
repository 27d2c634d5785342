"""Data-parallel training under torchrun (issue 19), on CPU with gloo over loopback: two
processes end where one does; a stop or a lost process is clean and resumable."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import vaekit

RUN = ["--data", "digits", "--hidden", "16", "--latent-dim", "3", "--batch-size", "64",
       "--checkpoint-every", "epoch", "--quiet"]  # fmt: skip
TORCHRUN = Path(sys.executable).with_name("torchrun")


def _port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


def _launch(n: int, args: list, launcher: str = "torchrun", **kw) -> subprocess.Popen:
    """``torchrun --nproc-per-node n -m vaekit train ARGS``, or with ``launcher="vaekit"``
    vaekit's own ``vaekit train --processes n ARGS``."""
    env = dict(os.environ, OMP_NUM_THREADS="1", VAEKIT_DIST_TIMEOUT="20")
    if launcher == "vaekit":
        cmd = [sys.executable, "-m", "vaekit", "train", "--processes", str(n), *map(str, args)]
    else:
        cmd = [str(TORCHRUN), "--nproc-per-node", str(n), "--master-addr", "127.0.0.1",
               "--master-port", str(_port()), "-m", "vaekit", "train", *map(str, args)]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)  # fmt: skip


def _run(n: int, args: list, timeout: float = 180, launcher: str = "torchrun"
         ) -> subprocess.CompletedProcess:  # fmt: skip
    p = _launch(n, args, launcher)
    out, err = p.communicate(timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def _weights(d: Path) -> dict:
    return load_file(d / "model.safetensors")


def _close(a: Path, b: Path, rel: float) -> None:
    wa, wb = _weights(a), _weights(b)
    for k in wa:
        scale = max(float(np.abs(wa[k]).max()), 1e-12)
        assert float(np.abs(wa[k] - wb[k]).max()) / scale <= rel, k


def _rows(d: Path) -> list[dict]:
    return [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]


pytestmark = pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed")


def test_two_processes_end_where_one_does(tmp_path):
    done = _run(2, [*RUN, "--epochs", "3", "--out", tmp_path / "two"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("trained:") == 1  # one process speaks
    vaekit.train(data="digits", hidden="16", latent_dim=3, batch_size=64, epochs=3,
                 out=tmp_path / "one", quiet=True, threads=1)  # fmt: skip
    _close(tmp_path / "one", tmp_path / "two", 1e-5)
    for a, b in zip(_rows(tmp_path / "one"), _rows(tmp_path / "two"), strict=True):
        for key in ("train_loss", "valid_elbo", "valid_kl", "lr", "beta"):
            assert a[key] == pytest.approx(b[key], rel=1e-6), key
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["epochs_run"] == 3 and not summary["interrupted"]


def _wait_rows(d: Path, n: int, p: subprocess.Popen, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if (d / "metrics.jsonl").exists() and len(_rows(d)) >= n:
            return
        assert p.poll() is None, p.communicate()[1][-2000:]
        time.sleep(0.05)
    raise AssertionError(f"no {n} epochs in {limit} s")


def test_sigterm_to_the_launcher_checkpoints_exits_130_and_the_run_resumes(tmp_path):
    """vaekit's own launcher (``--processes``): the signal reaches every process, the first
    saves the checkpoint, the launcher exits 130 without torchrun's traceback; the same command
    resumes and ends where an uninterrupted torchrun run of two processes does."""
    args = [*RUN, "--epochs", "40", "--out", tmp_path / "r"]
    p = _launch(2, args, "vaekit")
    _wait_rows(tmp_path / "r", 3, p)
    p.send_signal(signal.SIGTERM)  # to the launcher only
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err[-2000:]
    assert "checkpoint saved" in err and "Traceback" not in err and "death signal" not in err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["interrupted"] and (tmp_path / "r" / "checkpoint.safetensors").exists()
    stopped_at = summary["epochs_run"]
    assert 3 <= stopped_at < 40
    # another process count cannot resume it
    one = subprocess.run([sys.executable, "-m", "vaekit", "train", *map(str, args)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert one.returncode == 2 and "checkpointed by 2 process(es)" in one.stderr
    assert one.stderr.count("\n") == 1
    again = _run(2, args, launcher="vaekit")  # the same command resumes
    assert again.returncode == 0, again.stderr[-2000:]
    straight = _run(2, [*RUN, "--epochs", "40", "--out", tmp_path / "straight"])
    assert straight.returncode == 0
    _close(tmp_path / "straight", tmp_path / "r", 1e-6)


def test_a_killed_process_ends_the_others_and_the_run_resumes(tmp_path):
    """SIGKILL to one of ``vaekit train --processes 2``'s processes mid-epoch: the launcher
    ends the other, says which process a signal ended in one line and exits 1, without a
    hang; the same command resumes and ends where an uninterrupted torchrun run does."""
    args = [*RUN, "--epochs", "30", "--out", tmp_path / "r"]
    p = _launch(2, args, "vaekit")
    _wait_rows(tmp_path / "r", 2, p)
    workers = subprocess.run(["pgrep", "-f", f"vaekit train --processes 2 .*{tmp_path}"],
                             capture_output=True, text=True)  # fmt: skip
    pids = sorted(int(v) for v in workers.stdout.split() if int(v) != p.pid)
    assert len(pids) == 2
    os.kill(pids[1], signal.SIGKILL)
    t0 = time.monotonic()
    _, err = p.communicate(timeout=90)  # no hang: the launcher ends the other process
    assert p.returncode == 1 and time.monotonic() - t0 < 90, err[-2000:]
    assert "was ended by SIGKILL; rerun the same command" in err and "Traceback" not in err
    again = _run(2, args, launcher="vaekit")
    assert again.returncode == 0, again.stderr[-2000:]
    straight = _run(2, [*RUN, "--epochs", "30", "--out", tmp_path / "straight"])
    assert straight.returncode == 0
    _close(tmp_path / "straight", tmp_path / "r", 1e-6)


def test_the_launcher_reports_the_cause_not_the_consequences():
    from vaekit.cli.launch import _failed

    term, kill = -signal.SIGTERM, -signal.SIGKILL
    assert _failed({0: term, 1: kill}) == 1  # 1 was killed; 0 was stopped because of it
    assert _failed({0: term, 1: 2}) == 2  # 1 refused a setting; 0 was stopped meanwhile
    assert _failed({0: 130, 1: 2}) == 2
    assert _failed({0: 130, 1: 130}) == 130
    assert _failed({0: term, 1: term}) == 130


def test_more_processes_than_examples_is_one_line(tmp_path):
    x = np.random.default_rng(0).integers(0, 2, size=(5, 6), dtype=np.uint8)
    np.savez(tmp_path / "tiny.npz", train=x[:2], valid=x[2:4], test=x[4:])
    done = _run(3, ["--data", tmp_path / "tiny.npz", "--hidden", "4", "--latent-dim", "2",
                    "--epochs", "1", "--out", tmp_path / "r", "--quiet"])  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.count("vaekit: error: 3 processes for 2 training example(s)") == 1
    assert not (tmp_path / "r").exists()


def test_processes_started_with_different_settings_are_refused_alike(tmp_path):
    """Two processes of one group (as a launcher would start them) that disagree on a setting:
    both stop before training, the first saying why in one line, nothing written."""
    port = _port()
    procs = []
    for rank, epochs in ((0, "2"), (1, "3")):
        env = dict(os.environ, OMP_NUM_THREADS="1", RANK=str(rank), LOCAL_RANK=str(rank),
                   WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                   VAEKIT_DIST_TIMEOUT="20")  # fmt: skip
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "vaekit", "train", *map(str, RUN), "--epochs", epochs,
             "--out", tmp_path / "r"], env=env, stderr=subprocess.PIPE, text=True))  # fmt: skip
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [2, 2]
    assert errs[0].count("\n") == 1 and "started with different settings" in errs[0]
    assert errs[1] == ""  # the first process speaks for the group
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("rank", [0, 1])
def test_a_rendezvous_that_cannot_be_reached_is_one_line_after_the_timeout(tmp_path, rank):
    """A process told it is one of two, whose peer never comes (rank 0 waits for it) or whose
    rendezvous address answers nothing (rank 1): one line from that process, exit 2, within the
    timeout and nothing written; no C++ stack from torch's connection retries."""
    env = dict(os.environ, OMP_NUM_THREADS="1", RANK=str(rank), LOCAL_RANK=str(rank),
               WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_port()),
               VAEKIT_DIST_TIMEOUT="3")  # fmt: skip
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "vaekit", "train", *map(str, RUN), "--epochs",
                           "1", "--out", tmp_path / "r"], env=env, capture_output=True,
                          text=True, timeout=90)  # fmt: skip
    assert done.returncode == 2 and time.monotonic() - t0 < 60
    assert done.stderr.count("\n") == 1 and "cannot be reached" in done.stderr, done.stderr
    assert not (tmp_path / "r").exists()


def test_processes_option_is_checked_against_the_launcher(monkeypatch):
    from vaekit.cli.launch import check_processes

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert check_processes(2) and not check_processes(1)
    with pytest.raises(vaekit.ConfigError, match="give 1 or more"):
        check_processes(0)
    monkeypatch.setenv("WORLD_SIZE", "2")  # already one of torchrun's two processes
    assert not check_processes(2) and not check_processes(1)
    with pytest.raises(vaekit.ConfigError, match="started 2 processes"):
        check_processes(3)
