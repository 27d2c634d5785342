"""The command line: one module per command (``train``, ``evaluate``, ``generate``), the group
and the error handling in ``app``, options generated from the settings in ``options``."""

from __future__ import annotations

from .app import cli, entry, main

__all__ = ["cli", "entry", "main"]
