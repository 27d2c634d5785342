"""Command-line options generated from the settings dataclasses (``configuration.setting``).

Each user field becomes ``--its-key``: its type gives the click type (a registry's names
give a choice), its declaration the help text and the default shown. Options default to
None — "not given" — so the dataclass default applies, and a TOML file or a saved run can
tell a given value from a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

import click

from ..configuration import user_fields

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _base_type(tp: Any) -> Any:
    """``int | None`` -> int; anything else as it is."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return tp


def _default_text(f: dataclasses.Field[Any]) -> str | None:
    if f.metadata.get("default_text"):
        return f.metadata["default_text"]
    d = f.default
    if d is dataclasses.MISSING or d is None:
        return None
    if isinstance(d, tuple):
        return ",".join(map(str, d))
    if isinstance(d, bool):
        return "on" if d else "off"
    return str(d)


def option_for(key: str, f: dataclasses.Field[Any], tp: Any) -> Decorator:
    meta = f.metadata
    flag = key.replace("_", "-")
    base = _base_type(tp)
    if base is bool and f.default is None:  # on / off / not given (decided from the data)
        decls = [f"--{flag}/--no-{flag}"]
    else:
        decls = [f"--{flag}"] + ([meta["short"]] if meta.get("short") else [])
    default = _default_text(f)
    text = meta.get("help", "") + (f" (default: {default})" if default else "")
    kw: dict[str, Any] = {"default": None, "help": text}
    if base is bool and f.default is not None:
        kw["is_flag"] = True
    elif meta.get("cli_choices") or meta.get("choices"):
        kw["type"] = click.Choice(list((meta.get("cli_choices") or meta["choices"])()))
    elif base in (int, float):
        kw["type"] = base
    return click.option(*decls, key, **kw)


def options_from(*sections: type) -> Decorator:
    """Decorate a command with an option per user setting of ``sections``, in their order."""
    opts = []
    for cls in sections:
        hints = typing.get_type_hints(cls)
        for key, f in user_fields(cls).items():
            opts.append(option_for(key, f, hints[f.name]))

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(opts):
            fn = opt(fn)
        return fn

    return decorate


def given(options: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave (click passes None for the others)."""
    return {k: v for k, v in options.items() if v is not None}
