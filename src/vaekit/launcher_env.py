"""What a launcher (torchrun, ``vaekit train --processes``) tells a process through its
environment: how many processes, and which one this is. Read here without importing torch,
so the command line can ask before torch loads (its one-line errors, its C++ log level)."""

from __future__ import annotations

import os

from .errors import ConfigError


def _number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():  # a launcher's numbers are whole and not negative
        raise ConfigError(
            f"{name}={value!r} in the environment is not a whole number: "
            "start the processes with torchrun or vaekit train --processes"
        )
    return int(value)


def world_size() -> int:
    """How many processes the launcher started (1 without a launcher)."""
    return _number("WORLD_SIZE", 1)


def launcher_rank() -> int:
    """This process's rank as the launcher numbered it (0 for a single process): valid also
    before and after the process group."""
    return _number("RANK", 0)


def local_rank() -> int:
    """This process's number on its machine: the GPU it takes."""
    return _number("LOCAL_RANK", 0)


def launched() -> bool:
    """Started by torchrun (or any launcher setting WORLD_SIZE > 1)."""
    return world_size() > 1
