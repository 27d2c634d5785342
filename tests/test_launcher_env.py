"""The launcher's environment is read without torch, with empty variables as unset."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vaekit.launcher_env import launched, launcher_rank, local_rank, world_size


def test_unset_and_empty_mean_a_single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    assert (world_size(), launcher_rank(), local_rank(), launched()) == (1, 0, 0, False)
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.setenv(var, " ")
    assert (world_size(), launcher_rank(), local_rank(), launched()) == (1, 0, 0, False)


def test_a_launchers_numbers_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert (world_size(), launcher_rank(), local_rank(), launched()) == (4, 3, 1, True)


def test_reading_it_does_not_import_torch() -> None:
    code = "import sys, vaekit.launcher_env as e; e.launched(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
