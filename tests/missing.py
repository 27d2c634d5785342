"""Pretend an optional package is not installed, to test what vaekit says then."""

from __future__ import annotations

import builtins


def hide_package(monkeypatch, package: str) -> None:
    """Make ``import package`` raise ImportError for the rest of the test."""
    real = builtins.__import__

    def refuse(name, *args, **kwargs):
        if name == package or name.startswith(package + "."):
            raise ImportError(f"no module named {package}", name=package)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
