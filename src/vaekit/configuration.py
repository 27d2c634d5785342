"""Typed settings: one declaration per setting gives its default, check, help text and CLI flag.

Each part of vaekit owns a settings dataclass (``ModelConfig`` in ``models``, ``DataConfig`` in
``data``, ``TrainConfig`` in ``training``, ``EvalConfig`` in ``inference``) whose fields are
declared with :func:`setting`. From that one declaration come

- validation (``Section.__post_init__`` runs every field's check, then the section's own
  cross-field ``validate``), so a value read back from ``config.json`` is checked like a flag;
- the JSON round trip (``to_dict``/``from_dict``, unknown keys refused);
- the command-line options, their help text and the default shown (``vaekit.cli.options``);
- the keys a TOML settings file may hold (:func:`user_keys`).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .errors import ConfigError

Check = Callable[[str, Any], Any]
S = TypeVar("S", bound="Section")


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str = "",
    check: Check | None = None,
    choices: Callable[[], Iterable[str]] | None = None,
    label: str | None = None,
    key: str | None = None,
    user: bool = True,
    default_text: str | None = None,
    cli_choices: Callable[[], Iterable[str]] | None = None,
    short: str | None = None,
) -> Any:
    """A dataclass field with what the checks, the CLI and TOML need to know about it.

    ``check(label, value)`` returns the cleaned value or raises :class:`ConfigError`;
    ``choices`` (names, usually a registry's) restricts a string; ``label`` names it in
    messages; ``key`` is its flat name (CLI ``--key``, TOML ``key``) when not the field's;
    ``user=False`` keeps it out of the CLI and TOML; ``default_text`` replaces the default in
    ``--help`` where it is computed from the data; ``cli_choices`` are what the CLI accepts
    when that is more than ``choices`` (e.g. ``auto``); ``short`` is a one-letter CLI alias.
    """
    meta = {"help": help, "check": check, "choices": choices, "label": label, "key": key,
            "user": user, "default_text": default_text, "cli_choices": cli_choices,
            "short": short}  # fmt: skip
    if isinstance(default, list | dict | set):
        raise TypeError("mutable defaults: use a tuple")
    return dataclasses.field(default=default, metadata=meta)


class Section:
    """Base of the settings dataclasses: validates on construction, round-trips through dicts."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            meta = f.metadata
            value = getattr(self, f.name)
            label = meta.get("label") or f.name.replace("_", " ")
            if meta.get("check") is not None:
                value = meta["check"](label, value)
            if meta.get("choices") is not None:
                value = choice(label, value, tuple(meta["choices"]()))
            object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> None:
        """Checks that involve several fields; override."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[S], d: Any) -> S:
        """Build from a dict read from a file: unknown keys and wrong types are ConfigErrors."""
        if not isinstance(d, dict):
            raise ConfigError(f"config section for {cls.__name__} must be an object, got {d!r}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} setting(s): {', '.join(map(repr, unknown))}")
        try:
            return cls(**d)
        except ConfigError:
            raise
        except (TypeError, ValueError) as e:  # a missing required field, a list for a number
            raise ConfigError(f"invalid {cls.__name__}: {e}") from None


def user_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """Flat key -> field, for the fields a user sets (CLI options, TOML keys, API keywords)."""
    return {
        f.metadata.get("key") or f.name: f
        for f in dataclasses.fields(cls)
        if f.metadata.get("user", False)
    }


def user_keys(*sections: type) -> set[str]:
    return {k for cls in sections for k in user_fields(cls)}


def section_kwargs(cls: type, settings: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``cls`` among flat ``settings`` (None means: not given)."""
    return {f.name: settings[k] for k, f in user_fields(cls).items() if settings.get(k) is not None}


# ---- checks: (label, value) -> cleaned value ----------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def positive_int(label: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{label} must be a positive whole number, got {value!r}")
    return value


def nonneg_int(label: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{label} must be a whole number >= 0, got {value!r}")
    return value


def positive_float(label: str, value: Any) -> float:
    if not _is_number(value):
        raise ConfigError(f"{label} must be a positive number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{label} must be a positive finite number, got {value!r}")
    return float(value)


def nonneg_float(label: str, value: Any) -> float:
    if not _is_number(value):
        raise ConfigError(f"{label} must be a number >= 0, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{label} must be a finite number >= 0, got {value!r}")
    return float(value)


def fraction(label: str, value: Any) -> float:
    if not _is_number(value) or not 0 < value < 0.9:
        raise ConfigError(f"{label} must be a number between 0 and 0.9, got {value!r}")
    return float(value)


def boolean(label: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{label} must be true or false, got {value!r}")
    return value


def optional(check: Check) -> Check:
    return lambda label, value: None if value is None else check(label, value)


def nonempty_str(label: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{label} must be a non-empty string, got {value!r}")
    return value


def choice(label: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"unknown {label} {value!r}; choose one of: {', '.join(choices)}")
    return value


def str_list(label: str, value: Any) -> tuple[str, ...] | None:
    """``"a,b"`` or ``["a", "b"]`` -> ``("a", "b")``; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [p.strip() for p in value.split(",") if p.strip()]
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"{label} must be a non-empty list of names, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, str | int) or v == "":
            raise ConfigError(f"each entry of {label} must be a name or an index, got {v!r}")
        out.append(str(v))
    return tuple(out)


def one_of(*choices: str) -> Check:
    """A check for an optional string among ``choices``."""
    return lambda label, value: None if value is None else choice(label, value, choices)


def int_list(label: str, value: Any) -> tuple[int, ...]:
    """``"200,200"``, ``400``, ``[200, 200]`` -> ``(200, 200)``; an empty string means none."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        try:
            value = [int(p) for p in parts]
        except ValueError:
            raise ConfigError(
                f"{label} must be whole numbers like 400 or 200,200, got {value!r}"
            ) from None
    elif isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{label} must be a list of whole numbers, got {value!r}")
    return tuple(positive_int(f"each entry of {label}", v) for v in value)


def quiet_from(settings: dict[str, Any], quiet: bool) -> bool:
    """``quiet``, or ``not progress`` for callers still using vaekit 0.1's name (removed from
    ``settings``, with a DeprecationWarning): one word, as on the command line."""
    if "progress" not in settings:
        return quiet
    warnings.warn("progress= is now quiet= (the command line's --quiet): pass quiet=True "
                  "instead of progress=False", DeprecationWarning, stacklevel=3)  # fmt: skip
    return not boolean("progress", settings.pop("progress"))
