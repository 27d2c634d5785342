"""vaekit serve's refusals: one line, exit 2, before any server starts."""

from __future__ import annotations

import socket

import numpy as np
import pytest

import vaekit

from ..cli_runner import run_cli
from ..missing import hide_package


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    return vaekit.train(data="digits", epochs=1, latent_dim=2, hidden="8", out=root / "r",
                        quiet=True)  # fmt: skip


@pytest.mark.parametrize("case", ["not a run", "port in use", "flat rows", "empty split",
                                  "no extra"])  # fmt: skip
def test_serve_refuses_in_one_line(case, run, tmp_path, capsys, monkeypatch):
    args, want = ["serve", run.run_dir], ""
    held = None
    if case == "not a run":
        args, want = ["serve", tmp_path], str(tmp_path)
    elif case == "port in use":
        held = socket.create_server(("127.0.0.1", 0))
        port = held.getsockname()[1]
        args, want = [*args, "--port", str(port)], f"port {port} on 127.0.0.1 is in use; try"
    elif case == "flat rows":
        np.save(tmp_path / "t.npy", np.random.default_rng(0).normal(size=(50, 3)).astype("f4"))
        flat = vaekit.train(data=str(tmp_path / "t.npy"), epochs=1, hidden="4", latent_dim=2,
                            out=tmp_path / "flat", quiet=True)  # fmt: skip
        args, want = ["serve", flat.run_dir, "--port", "0"], "flat rows"
    elif case == "empty split":
        x = (np.random.default_rng(0).random((40, 64)) * 16).astype(np.float32)
        np.savez(tmp_path / "e.npz", train=x, valid=x[:5], test=x[:0])
        args, want = [*args, "--data", tmp_path / "e.npz", "--port", "0"], "(test split) is empty"
    else:
        hide_package(monkeypatch, "uvicorn")
        want = "pip install 'vaekit[serve]'"
    try:
        code, _, err = run_cli(args, capsys)
    finally:
        if held is not None:
            held.close()
    assert code == 2 and want in err and err.count("\n") == 1 and "Traceback" not in err, err
