"""Exception hierarchy: library calls raise these, the CLI turns them into one-line messages.

Every message is written to be shown to a user as-is: it says what is wrong and what to do.
"""

from __future__ import annotations


class VaekitError(Exception):
    """Base class of every error vaekit raises on purpose (user errors, not bugs)."""

    def __str__(self) -> str:
        # Messages quote user input (file contents, keys); the CLI promises one line.
        return " ".join(super().__str__().split())


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


class NumericalError(VaekitError, ArithmeticError):
    """Training produced NaN or Inf."""
