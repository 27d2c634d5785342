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


def test_a_variable_that_is_no_whole_number_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from vaekit.errors import ConfigError

    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ConfigError, match="RANK='one' in the environment is not a whole number"):
        launcher_rank()
    env = {k: v for k, v in __import__("os").environ.items() if k != "RANK"}
    done = subprocess.run([sys.executable, "-m", "vaekit", "--version"], text=True,
                          capture_output=True, env={**env, "WORLD_SIZE": "2x"})  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "WORLD_SIZE='2x'" in done.stderr and "Traceback" not in done.stderr
