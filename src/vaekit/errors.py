"""Exception hierarchy: library calls raise these, the CLI turns them into one-line messages.

Every message is written to be shown to a user as-is: it says what is wrong and what to do.
Where it names an option it uses :func:`opt`, so the same message says ``--epochs 3`` on the
command line and ``epochs=3`` to a Python caller (the CLI speaks in :func:`speaking_cli`).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager

_CLI = contextvars.ContextVar("vaekit_speaks_cli", default=False)
_TOKEN = re.compile("\x00([^\x1f\x00]*)\x1f([^\x00]*)\x00")


_FLAG = "\x02"


def opt(name: str, value: object = None) -> str:
    """An option in a message as the reader writes it: ``--name`` / ``name``, or with a
    value ``--name value`` / ``name=value``."""
    return f"\x00{name}\x1f{'' if value is None else value}\x00"


def flag(name: str) -> str:
    """A flag to pass: ``--name`` / ``name=True`` (``no_x``: ``--no-x`` / ``x=False``)."""
    return opt(name, _FLAG)


def render(text: str) -> str:
    """``text`` with its :func:`opt` marks written for whoever reads it now."""
    cli = _CLI.get()

    def one(m: re.Match[str]) -> str:
        name, value = m.group(1), m.group(2)
        if cli:
            return f"--{name.replace('_', '-')}" + (f" {value}" if value not in ("", _FLAG) else "")
        if value == _FLAG:  # a flag; its "--no-" form is the setting set to False
            return f"{name[3:]}=False" if name.startswith("no_") else f"{name}=True"
        if not value:
            return name
        plain = value.isupper() or re.fullmatch(r"[-+0-9.e]+", value) is not None
        return f"{name}={value if plain else repr(value)}"

    return _TOKEN.sub(one, text)


@contextmanager
def speaking_cli() -> Iterator[None]:
    """Inside: messages name options as command-line flags."""
    token = _CLI.set(True)
    try:
        yield
    finally:
        _CLI.reset(token)


class VaekitError(Exception):
    """Base class of every error vaekit raises on purpose (user errors, not bugs)."""

    def __str__(self) -> str:
        # Messages quote user input (file contents, keys); the CLI promises one line.
        return " ".join(render(super().__str__()).split())


class ConfigError(VaekitError, ValueError):
    """A setting is invalid: a bad value, an unknown name, an unreadable config file."""


class DataError(VaekitError, ValueError):
    """A data set is missing, unreadable, of the wrong shape, or has invalid values."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data set could not be found where it was looked for."""


class RunDirError(VaekitError):
    """A run directory is missing, incomplete, unwritable, or holds another run."""


class ModelFileError(RunDirError):
    """Saved weights or a saved config are corrupt, truncated or inconsistent."""


class PeerError(VaekitError):
    """Another process of a data-parallel run stopped or cannot be reached."""


class NumericalError(VaekitError, ArithmeticError):
    """Training produced NaN or Inf."""
