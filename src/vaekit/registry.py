"""Registries: the one place where a user-facing name (``"bernoulli"``, ``"iwae"``) meets a class.

A component declares its own name (``name = "bernoulli"``) and registers itself; code that
needs one asks the registry by name, and settings validate against the registry's names. So
adding a likelihood, prior, network, objective or dataset is one class in one file, with no
string switch to extend elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(dict[str, Any]):
    """A name -> component mapping (a plain dict to read) that refuses unknown names clearly."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind  # what a user calls one of these, for messages: "likelihood"

    def register(self, component: T, name: str | None = None) -> T:
        """Add ``component`` under ``name`` (default: its ``name`` attribute); returns it."""
        key = name if name is not None else component.name  # type: ignore[attr-defined]
        if key in self:
            raise ValueError(f"{self.kind} {key!r} is registered twice")
        self[key] = component
        return component

    def add(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`register` for components without a ``name`` attribute."""
        return lambda component: self.register(component, name)

    def lookup(self, name: str) -> Any:
        """The component called ``name``, or a :class:`ConfigError` listing the choices."""
        try:
            return self[name]
        except (KeyError, TypeError):
            raise ConfigError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self)}"
            ) from None
